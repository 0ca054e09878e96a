// A Store on Google Drive (v3 API via @googleapis/drive). Paths map to nested folders under a
// base folder; folder ids are cached; writing an existing name updates that file (Drive allows
// duplicate names, so the newest one wins on read). Uploads: resumable chunks (drive-upload.ts).
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { drive, type drive_v3 } from '@googleapis/drive';
import { type DriveAuth, SERVICE_ACCOUNT_QUOTA_HINT } from './drive-auth.js';
import { hashFileRange } from './hash-file.js';
import { DRIVE_DEFAULTS, DriveError, RetryPolicy, type RetryOptions, toDriveError } from './drive-retry.js';
import { type RequestClient, type SessionMemory, resumableUpload } from './drive-upload.js';
import {
  type ByteRange, type ByteSource, readAll, type Store, type StoreEntry, type StoreSpec, type StoreStat, type WriteData, type StoreWriteResult,
  isByteSource, isPlainInstance, normalizePath, splitPath,
} from './store.js';

export const FOLDER_MIME = 'application/vnd.google-apps.folder';
const FILE_FIELDS = 'id,name,mimeType,size,md5Checksum,modifiedTime';

export interface GoogleDriveStoreOptions extends RetryOptions {
  auth: DriveAuth;
  /** Folder path under the root, e.g. `drivetrain/runs` (created on demand). */
  basePath?: string;
  /** Root folder id: 'root' (My Drive, default) or a folder inside a Shared Drive. */
  rootFolderId?: string;
  /** API root, default https://www.googleapis.com/ (applied to upload URLs too). */
  rootUrl?: string;
  /** Upload chunk size, a multiple of 256 KiB (default 8 MiB). */
  chunkSize?: number;
  /** Per-request timeout in ms; for downloads, the longest wait for the next bytes (default 120 s). */
  timeoutMs?: number;
  /** Files up to this size go in one multipart request (default 5 MiB); bigger ones resumable. */
  multipartMaxBytes?: number;
  /** Upload session URIs kept here survive a restart (resume instead of re-sending). */
  sessions?: SessionMemory;
}

interface DriveFile { id: string; name: string; mimeType: string; size: number; md5: string; modified: string }

export class GoogleDriveStore implements Store {
  readonly description: string;
  private api: drive_v3.Drive;
  private rootUrl: string;
  private base: string;
  private folderIds = new Map<string, string>();
  private folderPending = new Map<string, Promise<string>>();
  private o: GoogleDriveStoreOptions;
  private readonly retry: RetryPolicy;

  constructor(o: GoogleDriveStoreOptions) {
    this.o = o;
    this.retry = new RetryPolicy(o);
    this.rootUrl = (o.rootUrl ?? 'https://www.googleapis.com/').replace(/\/?$/, '/');
    this.base = normalizePath(o.basePath ?? '');
    this.api = drive({ version: 'v3', auth: o.auth.client, rootUrl: this.rootUrl });
    this.folderIds.set('', o.rootFolderId ?? 'root');
    this.description = `drive:${this.base}`;
  }

  private full(p: string): string {
    const n = normalizePath(p);
    return this.base && n ? `${this.base}/${n}` : this.base || n;
  }

  private call<T>(op: string, fn: () => Promise<T>): Promise<T> {
    return this.retry.run(op, fn).catch((e: unknown) => { throw this.explain(toDriveError(e, op)); });
  }

  private explain(e: DriveError): DriveError {
    if (e.reason === 'storageQuotaExceeded' && this.o.auth.kind === 'service-account') {
      return new DriveError(`${e.message}\n${SERVICE_ACCOUNT_QUOTA_HINT}`, e.status, e.reason, false);
    }
    if (e.reason === 'storageQuotaExceeded') return new DriveError(`${e.message} — your Drive is full; free space or use another account`, e.status, e.reason, false);
    return e;
  }

  private opts() {
    return { rootUrl: this.rootUrl, retry: false, timeout: this.o.timeoutMs ?? DRIVE_DEFAULTS.timeoutMs };
  }

  private async query(q: string): Promise<DriveFile[]> {
    const out: DriveFile[] = [];
    let pageToken: string | undefined;
    do {
      const res = await this.call('list', () => this.api.files.list({
        q, pageSize: 1000, pageToken, fields: `nextPageToken,files(${FILE_FIELDS})`,
        supportsAllDrives: true, includeItemsFromAllDrives: true, spaces: 'drive',
      }, this.opts()));
      for (const f of res.data.files ?? []) {
        out.push({ id: f.id!, name: f.name!, mimeType: f.mimeType ?? '', size: Number(f.size ?? 0), md5: f.md5Checksum ?? '', modified: f.modifiedTime ?? '' });
      }
      pageToken = res.data.nextPageToken ?? undefined;
    } while (pageToken);
    return out;
  }

  /** Folder id for a full path, or null; creates it (and parents) when `create`. */
  private async folderId(full: string, create: boolean): Promise<string | null> {
    const known = this.folderIds.get(full);
    if (known) return known;
    const pending = this.folderPending.get(full);
    if (pending) return (await pending) || (create ? this.folderId(full, create) : null);
    // Registered before any await, so concurrent writers share one lookup/creation (no duplicate folders).
    const work = (async () => {
      const { parent, name } = splitPath(full);
      const parentId = await this.folderId(parent, create);
      if (!parentId) return '';
      const found = (await this.query(`'${esc(parentId)}' in parents and name = '${esc(name)}' and mimeType = '${FOLDER_MIME}' and trashed = false`))
        .sort(byOldest)[0];
      if (found) return found.id;
      if (!create) return '';
      const res = await this.call('create folder', () => this.api.files.create({
        requestBody: { name, mimeType: FOLDER_MIME, parents: [parentId] }, fields: 'id', supportsAllDrives: true,
      }, this.opts()));
      return res.data.id!;
    })();
    this.folderPending.set(full, work);
    try {
      const id = await work;
      if (id) this.folderIds.set(full, id);
      return id || null;
    } finally {
      this.folderPending.delete(full);
    }
  }

  /** The newest non-folder file with this path (Drive allows duplicate names). */
  private async findFile(p: string): Promise<DriveFile | null> {
    const { parent, name } = splitPath(this.full(p));
    const pid = await this.folderId(parent, false);
    if (!pid) return null;
    const files = await this.query(`'${esc(pid)}' in parents and name = '${esc(name)}' and mimeType != '${FOLDER_MIME}' and trashed = false`);
    return files.sort((a, b) => b.modified.localeCompare(a.modified))[0] ?? null;
  }

  /** Needs auth made by createDriveAuth (its credentials); onRetry and sessions are not carried over. */
  spec(): StoreSpec | null {
    const { auth, rootFolderId, chunkSize, timeoutMs, multipartMaxBytes, attempts, baseDelayMs, maxDelayMs } = this.o;
    if (!auth.credentials || !isPlainInstance(this, GoogleDriveStore)) return null;
    return { kind: 'drive', credentials: auth.credentials, basePath: this.base, rootFolderId, rootUrl: this.rootUrl, chunkSize, timeoutMs, multipartMaxBytes, attempts, baseDelayMs, maxDelayMs };
  }

  /** Remember upload sessions here (e.g. a SessionFile) so a restarted process resumes them. */
  useSessions(mem: SessionMemory): void {
    if (!this.o.sessions) this.o = { ...this.o, sessions: mem };
  }

  async list(prefix: string): Promise<StoreEntry[]> {
    const id = await this.folderId(this.full(prefix), false);
    if (!id) return [];
    const files = await this.query(`'${esc(id)}' in parents and trashed = false`);
    const seen = new Map<string, StoreEntry>();
    for (const f of files.sort((a, b) => a.modified.localeCompare(b.modified))) {
      seen.set(f.name, { path: normalizePath(`${prefix}/${f.name}`), name: f.name, isFolder: f.mimeType === FOLDER_MIME, size: f.size, ...(f.md5 ? { md5: f.md5 } : {}) });
    }
    return [...seen.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  async stat(p: string): Promise<StoreStat | null> {
    const f = await this.findFile(p);
    return f ? { size: f.size, md5: f.md5 } : null;
  }

  async read(p: string, range: ByteRange = {}): Promise<Readable> {
    const f = await this.findFile(p);
    if (!f) throw new DriveError(`Drive read ${this.full(p)}: not found`, 404, 'notFound', false);
    const end = Math.min(range.end ?? f.size - 1, f.size - 1);
    const start = range.start ?? 0;
    if (start > end) return Readable.from([]);
    return Readable.from(this.download(f, start, end, `read ${this.full(p)}`), { objectMode: false });
  }

  /** Bytes [start, end] of a file; after a failure it asks again from the byte it reached. */
  private async *download(f: DriveFile, start: number, end: number, op: string): AsyncGenerator<Buffer> {
    let pos = start;
    for (let attempt = 1; pos <= end; ) {
      const idle = idleAbort(this.o.timeoutMs ?? DRIVE_DEFAULTS.timeoutMs);
      try {
        const res = await this.api.files.get(
          { fileId: f.id, alt: 'media', supportsAllDrives: true },
          { ...this.opts(), timeout: undefined, signal: idle.signal, responseType: 'stream', headers: { Range: `bytes=${pos}-${end}` } },
        );
        let skip = res.status === 200 ? pos : 0; // a server that ignored Range
        for await (const c of res.data as unknown as AsyncIterable<Buffer>) {
          idle.arm();
          let b = c;
          if (skip > 0) { const k = Math.min(skip, b.length); skip -= k; b = b.subarray(k); }
          if (b.length > end - pos + 1) b = b.subarray(0, end - pos + 1);
          if (b.length === 0) continue;
          pos += b.length;
          attempt = 1; // progress: a later failure starts a fresh count
          yield b;
        }
        if (pos <= end) throw Object.assign(new Error('download ended early'), { code: 'EPREMATURE' });
      } catch (e) {
        await this.retry.afterFailure(op, attempt++, e);
      } finally {
        idle.stop();
      }
    }
  }

  async write(p: string, data: WriteData): Promise<StoreWriteResult> {
    const full = this.full(p);
    const { parent, name } = splitPath(full);
    if (!name) throw new Error('cannot write to the store root');
    const pid = (await this.folderId(parent, true))!;
    const existing = await this.findFile(p);
    const size = data instanceof Uint8Array ? data.byteLength : isByteSource(data) ? data.size : undefined;
    const replayable = size !== undefined;
    if (size !== undefined && size <= (this.o.multipartMaxBytes ?? DRIVE_DEFAULTS.multipartMaxBytes)) {
      const bytes = data instanceof Uint8Array ? Buffer.from(data.buffer, data.byteOffset, data.byteLength) : await readAll((data as ByteSource).open(0));
      const md5 = isByteSource(data) && data.file ? (await hashFileRange(data.file.path, data.file.offset, size, ['md5']))[0] : undefined;
      return this.writeMultipart(full, name, pid, existing?.id, bytes, md5);
    }
    for (let attempt = 1; ; attempt++) {
      try {
        const up = await resumableUpload(this.o.auth.client as unknown as RequestClient, {
          rootUrl: this.rootUrl, fileId: existing?.id,
          metadata: existing ? {} : { name, parents: [pid] },
          sessionKey: size !== undefined ? `${this.rootUrl}|${full}|${size}|${existing?.id ?? ''}` : undefined,
        }, data, { ...this.o, chunkSize: this.o.chunkSize ?? DRIVE_DEFAULTS.chunkSize, timeoutMs: this.o.timeoutMs ?? DRIVE_DEFAULTS.timeoutMs, sessions: this.o.sessions });
        return { size: up.size, md5: up.md5 };
      } catch (e) {
        const err = this.explain(toDriveError(e, `write ${full}`));
        // An md5 mismatch means the whole upload is suspect: send it again from the start.
        if (err.reason !== 'md5Mismatch' || !replayable || attempt >= DRIVE_DEFAULTS.md5Attempts) throw err;
      }
    }
  }

  /** Small files: one multipart request through the googleapis client (metadata + bytes). */
  private async writeMultipart(full: string, name: string, parentId: string, fileId: string | undefined, bytes: Buffer, md5?: string): Promise<StoreWriteResult> {
    const want = md5 ?? createHash('md5').update(bytes).digest('hex');
    for (let attempt = 1; ; attempt++) {
      const res = await this.call(`write ${full}`, () => {
        const media = { mimeType: 'application/octet-stream', body: Readable.from([bytes]) }; // a stream: the client's multipart needs one
        return fileId
          ? this.api.files.update({ fileId, media, fields: 'id,size,md5Checksum', supportsAllDrives: true }, this.opts())
          : this.api.files.create({ requestBody: { name, parents: [parentId] }, media, fields: 'id,size,md5Checksum', supportsAllDrives: true }, this.opts());
      });
      const got = res.data.md5Checksum ?? '';
      if (got === want) return { size: Number(res.data.size ?? bytes.length), md5: got };
      fileId = res.data.id ?? fileId; // the file exists now: replace its content
      if (attempt >= DRIVE_DEFAULTS.md5Attempts) throw new DriveError(`Drive write ${full}: md5 mismatch after upload (Drive has ${got || 'none'}, sent ${want})`, undefined, 'md5Mismatch', false);
    }
  }

  async delete(p: string): Promise<void> {
    const full = this.full(p);
    if (!full) throw new Error('refusing to delete the store root');
    const { parent, name } = splitPath(full);
    const pid = await this.folderId(parent, false);
    if (!pid) return;
    const matches = await this.query(`'${esc(pid)}' in parents and name = '${esc(name)}' and trashed = false`);
    for (const m of matches) {
      await this.call('delete', () => this.api.files.delete({ fileId: m.id, supportsAllDrives: true }, this.opts())).catch((e: DriveError) => {
        if (e.status !== 404) throw e;
      });
    }
    for (const k of [...this.folderIds.keys()]) if (k === full || k.startsWith(`${full}/`)) this.folderIds.delete(k);
  }

  async mkdir(p: string): Promise<void> {
    await this.folderId(this.full(p), true);
  }

  async freeSpace(): Promise<number | null> {
    const res = await this.call('about', () => this.api.about.get({ fields: 'storageQuota' }, this.opts()));
    const q = res.data.storageQuota;
    if (!q?.limit) return null; // unlimited (or a Shared Drive)
    return Number(q.limit) - Number(q.usage ?? 0);
  }
}

/** An AbortSignal that fires when `ms` pass without arm() (a stalled download); stop() ends it. */
function idleAbort(ms: number): { signal: AbortSignal; arm(): void; stop(): void } {
  const ac = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => ac.abort(), ms);
  };
  arm();
  return { signal: ac.signal, arm, stop: () => { clearTimeout(timer); ac.abort(); } };
}

/** Escape a value for a Drive `q` string literal. */
export function esc(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/'/g, "\\'");
}

function byOldest(a: DriveFile, b: DriveFile): number {
  return a.modified.localeCompare(b.modified);
}
