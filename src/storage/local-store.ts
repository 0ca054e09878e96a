// A Store on a local folder (the default ./drive, or a mounted Drive like /content/drive/MyDrive).
// Writes go to a hidden temp file in the same folder and are renamed into place (atomic). Temp
// names carry a host tag and the writer's pid, so one left by a killed process on this machine
// is swept as soon as that process is gone (cleanTemp), not only once it is a minute old.
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, promises as fsp } from 'node:fs';
import { hostname } from 'node:os';
import * as path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { copyFileRange, hashFileRange } from './hash-file.js';
import {
  type ByteRange, type Store, type StoreEntry, type StoreSpec, type StoreStat, type WriteData, type StoreWriteResult, isByteSource, isPlainInstance, normalizePath,
} from './store.js';

const TEMP_PREFIX = '.tmp-';
/** This machine's tag in temp names: another host sharing the folder (a Drive) has another. */
const HOST_TAG = createHash('sha256').update(hostname()).digest('hex').slice(0, 6);
const TEMP_OWNER = /-([0-9a-f]{6})\.(\d+)-[0-9a-f]{8}$/;

/** `.tmp-<name>-<host tag>.<pid>-<random>` beside `file`. */
export function tempNameFor(file: string): string {
  return path.join(path.dirname(file), `${TEMP_PREFIX}${path.basename(file)}-${HOST_TAG}.${process.pid}-${randomBytes(4).toString('hex')}`);
}

/** True for a temp name written by a process of this host that is no longer running. */
export function isOrphanTemp(name: string): boolean {
  const m = TEMP_OWNER.exec(name);
  if (!m || m[1] !== HOST_TAG) return false;
  const pid = Number(m[2]);
  if (pid === process.pid) return false; // ours: may be a write in flight
  try {
    process.kill(pid, 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

export class LocalDirStore implements Store {
  readonly root: string;
  readonly description: string;
  readonly verifiesSha256 = true;
  /** md5 cache keyed by path, valid while size+mtime are unchanged. */
  private md5Cache = new Map<string, { size: number; mtimeMs: number; md5: string }>();

  constructor(root: string) {
    this.root = path.resolve(root);
    this.description = this.root;
  }

  spec(): StoreSpec | null {
    return isPlainInstance(this, LocalDirStore) ? { kind: 'local', root: this.root } : null;
  }

  private abs(p: string): string {
    const n = normalizePath(p);
    return n === '' ? this.root : path.join(this.root, ...n.split('/'));
  }

  async list(prefix: string): Promise<StoreEntry[]> {
    const dir = this.abs(prefix);
    let names: import('node:fs').Dirent[];
    try {
      names = await fsp.readdir(dir, { withFileTypes: true });
    } catch (e) {
      if (isNotFound(e)) return [];
      throw e;
    }
    const out: StoreEntry[] = [];
    for (const d of names) {
      if (d.name.startsWith(TEMP_PREFIX)) continue;
      const p = normalizePath(`${prefix}/${d.name}`);
      const isFolder = d.isDirectory();
      let size = 0;
      if (!isFolder) {
        try { size = (await fsp.stat(path.join(dir, d.name))).size; } catch (e) { if (isNotFound(e)) continue; throw e; }
      }
      out.push({ path: p, name: d.name, isFolder, size });
    }
    return out.sort((a, b) => a.name.localeCompare(b.name));
  }

  async stat(p: string): Promise<StoreStat | null> {
    const file = this.abs(p);
    let st: import('node:fs').Stats;
    try {
      st = await fsp.stat(file);
    } catch (e) {
      if (isNotFound(e)) return null;
      throw e;
    }
    if (!st.isFile()) return null;
    const cached = this.md5Cache.get(file);
    if (cached && cached.size === st.size && cached.mtimeMs === st.mtimeMs) return { size: st.size, md5: cached.md5 };
    let md5: string;
    try {
      [md5] = await hashFileRange(file, 0, st.size, ['md5']);
    } catch (e) {
      if (isNotFound(e)) return null;
      throw e;
    }
    this.md5Cache.set(file, { size: st.size, mtimeMs: st.mtimeMs, md5 });
    return { size: st.size, md5 };
  }

  async read(p: string, range: ByteRange = {}): Promise<Readable> {
    const file = this.abs(p);
    const handle = await fsp.open(file, 'r'); // fails now (ENOENT) rather than on first read
    return handle.createReadStream({ start: range.start ?? 0, end: range.end, autoClose: true });
  }

  async write(p: string, data: WriteData): Promise<StoreWriteResult> {
    const file = this.abs(p);
    if (normalizePath(p) === '') throw new Error('cannot write to the store root');
    await fsp.mkdir(path.dirname(file), { recursive: true });
    const tmp = tempNameFor(file);
    let size = 0;
    const want = isByteSource(data) ? data.sha256 : undefined;
    const sha = want ? createHash('sha256') : null;
    const counter = new Transform({
      transform(chunk: Buffer, _enc, cb) { size += chunk.length; sha?.update(chunk); cb(null, chunk); },
    });
    let md5: string;
    if (isByteSource(data) && data.file) {
      try {
        const copied = await copyFileRange(data.file.path, data.file.offset, data.size, tmp, data.sha256);
        if (copied !== null) {
          await fsp.rename(tmp, file);
          const st = await fsp.stat(file);
          this.md5Cache.set(file, { size: st.size, mtimeMs: st.mtimeMs, md5: copied });
          return { size: data.size, md5: copied };
        }
      } catch (e) {
        await fsp.rm(tmp, { force: true });
        throw e;
      }
    }
    const src = data instanceof Uint8Array ? Readable.from([Buffer.from(data.buffer, data.byteOffset, data.byteLength)]) : isByteSource(data) ? data.open(0) : data;
    try {
      const out = createWriteStream(tmp, { flags: 'wx' });
      await pipeline(src, counter, out);
      if (isByteSource(data) && size !== data.size) throw new Error(`store write ${p}: source gave ${size} bytes, expected ${data.size}`);
      if (sha && sha.digest('hex') !== want) throw new Error(`store write ${p}: the bytes do not have the expected sha256 (changed since hashed)`);
      await syncFile(tmp);
      [md5] = await hashFileRange(tmp, 0, size, ['md5']); // off the event loop
      await fsp.rename(tmp, file);
    } catch (e) {
      await fsp.rm(tmp, { force: true });
      throw e;
    }
    const st = await fsp.stat(file);
    this.md5Cache.set(file, { size: st.size, mtimeMs: st.mtimeMs, md5 });
    return { size, md5 };
  }

  async delete(p: string): Promise<void> {
    if (normalizePath(p) === '') throw new Error('refusing to delete the store root');
    await fsp.rm(this.abs(p), { recursive: true, force: true });
  }

  async mkdir(p: string): Promise<void> {
    await fsp.mkdir(this.abs(p), { recursive: true });
  }

  async freeSpace(): Promise<number | null> {
    let dir = this.root;
    for (;;) {
      try {
        const s = await fsp.statfs(dir);
        return s.bavail * s.bsize;
      } catch (e) {
        const up = path.dirname(dir);
        if (!isNotFound(e) || up === dir) return null;
        dir = up;
      }
    }
  }

  /** Remove temp files left by a killed writer: of a dead process of this host, or older than `olderThanMs`. */
  async cleanTemp(prefix = '', olderThanMs = 60_000): Promise<number> {
    let removed = 0;
    const walk = async (dir: string): Promise<void> => {
      let ents: import('node:fs').Dirent[];
      try { ents = await fsp.readdir(dir, { withFileTypes: true }); } catch { return; }
      for (const d of ents) {
        const full = path.join(dir, d.name);
        if (d.isDirectory()) await walk(full);
        else if (d.name.startsWith(TEMP_PREFIX)) {
          const st = await fsp.stat(full).catch(() => null);
          if (st && (isOrphanTemp(d.name) || Date.now() - st.mtimeMs > olderThanMs)) { await fsp.rm(full, { force: true }); removed++; }
        }
      }
    };
    await walk(this.abs(prefix));
    return removed;
  }
}

async function syncFile(file: string): Promise<void> {
  const h = await fsp.open(file, 'r+');
  try { await h.sync(); } finally { await h.close(); }
}

export function isNotFound(e: unknown): boolean {
  return typeof e === 'object' && e !== null && (e as { code?: string }).code === 'ENOENT';
}
