// `drivetrain backup --watch DIR`: mirror a folder written by another program (e.g. a PyTorch
// script's last.pth / best.pth). A file is taken once its size and mtime have been stable for
// `stableMs` and no process has it open for writing; it is copied aside first (the writer may
// rewrite it in place), then published like a checkpoint: blobs, manifest, latest.json last.
import { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { Store } from '../storage/store.js';
import { formatBytes } from '../storage/store.js';
import type { BackupEvent } from './backup.js';
import { RunPublisher, readStoreManifest } from './publish.js';
import { DEFAULT_CHUNK_BYTES, type PlannedFile, planFiles } from './segments.js';

export interface WatchOptions {
  dir: string;
  store: Store;
  /** Name on the store (default: the folder's name). */
  run?: string;
  /** Poll interval (default 2 s). */
  intervalMs?: number;
  /** How long size and mtime must stay unchanged (default 5 s). */
  stableMs?: number;
  /** Snapshots kept on the store (default 3). */
  keepLast?: number;
  chunkBytes?: number;
  /** Which files to mirror (relative `/` paths); default: all not starting with a dot. */
  include?: (rel: string) => boolean;
  /** Poll in the background (default true); false: call scanOnce() yourself. */
  poll?: boolean;
}

export interface FolderWatcher {
  /** One poll: uploads a new snapshot when stable files changed; returns its 'done' event or null. */
  scanOnce(): Promise<BackupEvent | null>;
  onEvent(listener: (e: BackupEvent) => void): () => void;
  /** Stop polling (after the scan in progress; a pause between polls ends at once). */
  stop(): Promise<void>;
}

interface Seen { size: number; mtimeMs: number; since: number }

async function walk(root: string, rel = ''): Promise<string[]> {
  const out: string[] = [];
  for (const d of await fsp.readdir(path.join(root, rel), { withFileTypes: true }).catch(() => [])) {
    if (d.name.startsWith('.')) continue;
    const r = rel ? `${rel}/${d.name}` : d.name;
    if (d.isDirectory()) out.push(...(await walk(root, r)));
    else if (d.isFile()) out.push(r);
  }
  return out;
}

/** Absolute paths some process has open for writing (Linux /proc; empty set elsewhere). */
export async function openForWriting(): Promise<Set<string>> {
  const out = new Set<string>();
  const pids = await fsp.readdir('/proc').catch(() => [] as string[]);
  for (const pid of pids) {
    if (!/^\d+$/.test(pid)) continue;
    const fds = await fsp.readdir(`/proc/${pid}/fd`).catch(() => [] as string[]);
    for (const fd of fds) {
      const target = await fsp.readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
      if (!target.startsWith('/')) continue;
      const info = await fsp.readFile(`/proc/${pid}/fdinfo/${fd}`, 'utf8').catch(() => '');
      const flags = /flags:\s*([0-7]+)/.exec(info);
      if (flags && (parseInt(flags[1], 8) & 3) !== 0) out.add(target);
    }
  }
  return out;
}

export function watchFolder(o: WatchOptions): FolderWatcher {
  const dir = path.resolve(o.dir);
  const run = o.run ?? path.basename(dir);
  const publisher = new RunPublisher(o.store, run, { lastN: o.keepLast ?? 3, recoveryN: 1 }, 4);
  const seen = new Map<string, Seen>();
  const listeners = new Set<(e: BackupEvent) => void>();
  const emit = (e: BackupEvent) => { for (const l of listeners) { try { l(e); } catch { /* ignore */ } } };
  let last: Map<string, PlannedFile> | null = null; // what the newest snapshot holds, by path
  let uploaded = new Map<string, { size: number; mtimeMs: number }>();
  let stopped = false;
  let busy: Promise<BackupEvent | null> | null = null;
  let wake: (() => void) | null = null; // ends the pause between polls early (stop)

  async function previous(): Promise<Map<string, PlannedFile>> {
    if (last) return last;
    await publisher.init();
    last = new Map();
    const latest = publisher.latest;
    if (latest) {
      const m = await readStoreManifest(o.store, run, latest.name);
      for (const f of m.files) {
        let off = 0;
        last.set(f.path, { path: f.path, abs: path.join(dir, f.path), size: f.size, sha256: f.sha256, segments: f.segments.map((s) => ({ offset: (off += s.size) - s.size, size: s.size, sha256: s.sha256, of: s.of })) });
      }
    }
    return last;
  }

  async function scan(): Promise<BackupEvent | null> {
    const prev = await previous();
    const now = Date.now();
    const files = (await walk(dir)).filter((r) => (o.include ? o.include(r) : true));
    const writing = await openForWriting();
    const ready: string[] = [];
    for (const rel of files) {
      const st = await fsp.stat(path.join(dir, rel)).catch(() => null);
      if (!st) continue;
      const s = seen.get(rel);
      if (!s || s.size !== st.size || s.mtimeMs !== st.mtimeMs) { seen.set(rel, { size: st.size, mtimeMs: st.mtimeMs, since: now }); continue; }
      const u = uploaded.get(rel);
      if (u && u.size === st.size && u.mtimeMs === st.mtimeMs) continue;
      if (now - s.since >= (o.stableMs ?? 5000) && !writing.has(path.join(dir, rel))) ready.push(rel);
    }
    if (ready.length === 0) return null;
    // Copy aside, and keep only copies whose source did not change during the copy.
    const stage = await fsp.mkdtemp(path.join(tmpdir(), 'drivetrain-watch-'));
    try {
      const copied: string[] = [];
      for (const rel of ready) {
        const src = path.join(dir, rel);
        const before = seen.get(rel)!;
        const dst = path.join(stage, ...rel.split('/'));
        await fsp.mkdir(path.dirname(dst), { recursive: true });
        await fsp.copyFile(src, dst).catch(() => undefined);
        const after = await fsp.stat(src).catch(() => null);
        if (after && after.size === before.size && after.mtimeMs === before.mtimeMs) copied.push(rel);
      }
      if (copied.length === 0) return null;
      const planned = await planFiles(stage, copied, o.chunkBytes ?? DEFAULT_CHUNK_BYTES);
      const next = new Map(prev);
      for (const p of planned) next.set(p.path, p);
      for (const k of [...next.keys()]) if (!files.includes(k)) next.delete(k); // deleted locally
      const seq = (publisher.latest?.globalStep ?? 0) + 1;
      const name = `snap-${String(seq).padStart(9, '0')}`;
      const t0 = Date.now();
      const r = await publisher.publish({
        name, type: 'folder', relDir: '', kind: 'last', epoch: 0, stepInEpoch: 0, globalStep: seq, metrics: {}, created: new Date().toISOString(),
      }, [...next.values()].sort((a, b) => a.path.localeCompare(b.path)), (p) => emit({ type: 'progress', name, globalStep: seq, ...p }));
      last = next;
      for (const rel of copied) uploaded.set(rel, { size: seen.get(rel)!.size, mtimeMs: seen.get(rel)!.mtimeMs });
      const ev: BackupEvent = { type: 'done', name, globalStep: seq, newBytes: r.newBytes, reusedBytes: r.reusedBytes, seconds: (Date.now() - t0) / 1000, deleted: r.deleted };
      emit(ev);
      return ev;
    } finally {
      await fsp.rm(stage, { recursive: true, force: true });
    }
  }

  const scanOnce = (): Promise<BackupEvent | null> => {
    busy ??= scan().finally(() => { busy = null; });
    return busy;
  };

  const loop = (async () => {
    while (!stopped && o.poll !== false) {
      try {
        await scanOnce();
      } catch (e) {
        emit({ type: 'error', name: run, globalStep: 0, error: (e as Error).message, attempt: 1, willRetry: true });
      }
      if (!stopped) await new Promise<void>((r) => { const t = setTimeout(r, o.intervalMs ?? 2000); wake = () => { clearTimeout(t); r(); }; });
    }
  })();

  return {
    scanOnce,
    onEvent(l) { listeners.add(l); return () => listeners.delete(l); },
    async stop() { stopped = true; wake?.(); await loop; if (busy) await busy.catch(() => null); },
  };
}

export const describeSnapshot = (e: { name: string; newBytes: number; reusedBytes: number }) =>
  `✓ Backed up ${e.name} (${formatBytes(e.newBytes)} new, ${formatBytes(e.reusedBytes)} reused)`;
