// Resumable, chunked uploads to Drive v3, hand-written on the authenticated client because the
// googleapis client has none. Protocol: POST/PATCH …?uploadType=resumable → Location session
// URI; PUT chunks with `Content-Range: bytes a-b/total` → 308 + Range until 200/201;
// `Content-Range: bytes */total` asks the status; 404 on the session → start over.
import { createHash, type Hash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { hashFileRange } from './hash-file.js';
import { type ByteSource, type WriteData, bufferSource, isByteSource } from './store.js';
import { DriveError, RetryPolicy, type RetryOptions } from './drive-retry.js';

export const CHUNK_GRANULE = 256 * 1024;

/** The parts of an authenticated google-auth-library client that uploads use. */
export interface RequestClient {
  request<T = unknown>(opts: Record<string, unknown>): Promise<{ status: number; data: T; headers: { get(name: string): string | null } }>;
}

/** Where session URIs are kept so a restarted process can resume (see SessionFile). */
export interface SessionMemory {
  get(key: string): string | undefined;
  set(key: string, uri: string | undefined): void;
}

export interface UploadTarget {
  rootUrl: string;
  /** Existing file to update (PATCH), else a new file is created with `metadata`. */
  fileId?: string;
  metadata: Record<string, unknown>;
  /** Key for SessionMemory (e.g. the store path + size); no resume across processes without it. */
  sessionKey?: string;
}

export interface UploadOptions extends RetryOptions {
  chunkSize: number;
  timeoutMs: number;
  sessions?: SessionMemory;
}

export interface UploadedFile {
  id: string;
  size: number;
  md5: string;
}

const FIELDS = 'id,name,size,md5Checksum';

class SessionExpired extends Error {}

/** Reads a stream in pieces of an exact size (the last may be shorter). */
class ChunkReader {
  private bufs: Buffer[] = [];
  private have = 0;
  private ended = false;
  private waiter: (() => void) | null = null;
  private error: Error | null = null;
  private want = 0;
  constructor(private stream: Readable) {
    stream.on('data', (c: Buffer) => {
      this.bufs.push(c);
      this.have += c.length;
      if (this.have > this.want) stream.pause();
      this.wake();
    });
    stream.on('end', () => { this.ended = true; this.wake(); });
    stream.on('error', (e) => { this.error = e; this.wake(); });
  }
  private wake(): void { const w = this.waiter; this.waiter = null; w?.(); }
  /** Up to n bytes, and whether the stream has nothing after them. */
  async read(n: number): Promise<{ buf: Buffer; last: boolean }> {
    this.want = n;
    while (!this.ended && this.have <= n) {
      if (this.error) throw this.error;
      this.stream.resume();
      await new Promise<void>((r) => { this.waiter = r; });
    }
    if (this.error) throw this.error;
    const all = Buffer.concat(this.bufs);
    const buf = all.subarray(0, Math.min(n, all.length));
    const rest = all.subarray(buf.length);
    this.bufs = rest.length ? [rest] : [];
    this.have = rest.length;
    return { buf, last: this.ended && rest.length === 0 };
  }
  destroy(): void { this.stream.destroy(); }
}

function parseRangeEnd(h: string | null): number {
  // "bytes=0-1048575" → 1048576 bytes received; absent → 0
  const m = h ? /bytes=(\d+)-(\d+)/.exec(h) : null;
  return m ? Number(m[2]) + 1 : 0;
}

/** What the steps of one upload share. */
interface Upload {
  client: RequestClient;
  o: UploadOptions;
  retry: RetryPolicy;
  /** Bytes in all, when known before the last chunk. */
  total: number | undefined;
  /** A call under the retry policy; an expired session is thrown at once (the upload starts over). */
  ask<T>(op: string, fn: () => Promise<T>): Promise<T>;
}

/** Upload `data` with a resumable session; verifies Drive's md5 against the bytes sent. */
export async function resumableUpload(client: RequestClient, target: UploadTarget, data: WriteData, o: UploadOptions): Promise<UploadedFile> {
  if (o.chunkSize % CHUNK_GRANULE !== 0 || o.chunkSize <= 0) throw new Error(`chunkSize must be a positive multiple of 256 KiB, got ${o.chunkSize}`);
  const source: ByteSource | null = data instanceof Uint8Array ? bufferSource(data) : isByteSource(data) ? data : null;
  const retry = new RetryPolicy(o);
  const u: Upload = { client, o, retry, total: source ? source.size : undefined, ask: (op, fn) => retry.run(op, fn, (e) => e instanceof SessionExpired) };
  let restarts = 0;
  let onceStream = source ? null : (data as Readable);
  for (;;) {
    try {
      return await uploadOnce(u, target, source, onceStream);
    } catch (e) {
      if (!(e instanceof SessionExpired)) throw e;
      if (target.sessionKey) o.sessions?.set(target.sessionKey, undefined);
      if (!source) throw new DriveError(`Drive upload: session expired and the source stream cannot be replayed`, 404, 'sessionExpired', false);
      if (++restarts >= retry.attempts) throw new DriveError('Drive upload: session kept expiring', 404, 'sessionExpired', false);
      onceStream = null;
    }
  }
}

/** One session: resumed from SessionMemory (asking what the server has) or started; chunks until done. */
async function uploadOnce(u: Upload, target: UploadTarget, source: ByteSource | null, stream: Readable | null): Promise<UploadedFile> {
  const { client, o, total } = u;
  const forget = () => { if (target.sessionKey) o.sessions?.set(target.sessionKey, undefined); };
  let uri = target.sessionKey ? o.sessions?.get(target.sessionKey) : undefined;
  let offset = 0;
  if (uri) {
    const st = await u.ask('upload status', () => queryStatus(client, uri!, total, o));
    if (st.done) return verify(st.done, source ? await hashSource(source, total!) : null);
    offset = st.received;
  } else {
    uri = await u.ask('start upload', () => startSession(client, target, total, o));
    if (target.sessionKey) o.sessions?.set(target.sessionKey, uri);
  }
  // A file-backed source is hashed on the worker thread at the end; others here as they stream.
  const hash = createHash('md5');
  const inline = !source?.file;
  const digest = async () => (inline ? hash.digest('hex') : hashSource(source!, total!));
  if (offset > 0 && source && inline) await hashPrefix(source, offset, hash);
  const reader = new ChunkReader(source ? source.open(offset) : stream!);
  try {
    for (;;) {
      const { buf, last } = await reader.read(o.chunkSize);
      if (inline) hash.update(buf);
      const done = await sendChunk(u, uri, buf, offset, last);
      if (done) {
        forget();
        return verify(done, await digest());
      }
      offset += buf.length;
      if (last) throw new DriveError('Drive upload: the server did not finish the upload after the last chunk', undefined, undefined, false);
    }
  } finally {
    reader.destroy();
  }
}

/**
 * Sends `buf` (file bytes from `offset`) until the server has all of it; after a failure, waits
 * the backoff and asks the server how far it got. Returns the file's metadata when this chunk
 * finished the upload, else null.
 */
async function sendChunk(u: Upload, uri: string, buf: Buffer, offset: number, last: boolean): Promise<Record<string, unknown> | null> {
  const total = last ? offset + buf.length : u.total;
  let sent = 0; // bytes of buf the server has
  for (let attempt = 1; ; attempt++) {
    try {
      const res = await putChunk(u.client, uri, buf.subarray(sent), offset + sent, total, u.o);
      if (res.done) return res.done;
      sent = Math.max(0, res.received - offset);
      if (sent >= buf.length) return null;
    } catch (e) {
      if (e instanceof SessionExpired) throw e;
      await u.retry.afterFailure('upload chunk', attempt, e);
      const st = await u.ask('upload status', () => queryStatus(u.client, uri, total, u.o));
      if (st.done) return st.done;
      sent = Math.max(0, st.received - offset);
      if (sent >= buf.length && !last) return null;
    }
  }
}

async function startSession(client: RequestClient, t: UploadTarget, total: number | undefined, o: UploadOptions): Promise<string> {
  const base = t.rootUrl.replace(/\/$/, '');
  const url = t.fileId
    ? `${base}/upload/drive/v3/files/${encodeURIComponent(t.fileId)}?uploadType=resumable&supportsAllDrives=true&fields=${FIELDS}`
    : `${base}/upload/drive/v3/files?uploadType=resumable&supportsAllDrives=true&fields=${FIELDS}`;
  const headers: Record<string, string> = { 'Content-Type': 'application/json; charset=UTF-8', 'X-Upload-Content-Type': 'application/octet-stream' };
  if (total !== undefined) headers['X-Upload-Content-Length'] = String(total);
  const res = await client.request({
    url, method: t.fileId ? 'PATCH' : 'POST', headers, data: JSON.stringify(t.metadata), retry: false, timeout: o.timeoutMs, responseType: 'text',
  });
  const loc = res.headers.get('location');
  if (!loc) throw new DriveError('Drive upload: no session URI in the response', res.status, undefined, true);
  return loc;
}

interface ChunkResult { done?: Record<string, unknown>; received: number }

async function queryStatus(client: RequestClient, uri: string, total: number | undefined, o: UploadOptions): Promise<ChunkResult> {
  return send(client, uri, Buffer.alloc(0), `bytes */${total ?? '*'}`, o);
}

async function putChunk(client: RequestClient, uri: string, buf: Buffer, start: number, total: number | undefined, o: UploadOptions): Promise<ChunkResult> {
  const range = buf.length === 0 ? `bytes */${total ?? '*'}` : `bytes ${start}-${start + buf.length - 1}/${total ?? '*'}`;
  return send(client, uri, buf, range, o);
}

async function send(client: RequestClient, uri: string, buf: Buffer, contentRange: string, o: UploadOptions): Promise<ChunkResult> {
  const res = await client.request<string>({
    url: uri, method: 'PUT', headers: { 'Content-Range': contentRange, 'Content-Type': 'application/octet-stream' },
    data: buf, retry: false, timeout: o.timeoutMs, responseType: 'text', validateStatus: () => true,
  });
  if (res.status === 200 || res.status === 201) return { done: JSON.parse(res.data) as Record<string, unknown>, received: -1 };
  if (res.status === 308) return { received: parseRangeEnd(res.headers.get('range')) };
  if (res.status === 404 || res.status === 410) throw new SessionExpired('upload session expired');
  throw Object.assign(new Error(`HTTP ${res.status}`), { response: { status: res.status, data: res.data } });
}

function verify(meta: Record<string, unknown>, md5: string | null): UploadedFile {
  const got = String(meta.md5Checksum ?? '');
  if (md5 !== null && got !== md5) {
    throw new DriveError(`Drive upload: md5 mismatch after upload (Drive has ${got || 'none'}, sent ${md5})`, undefined, 'md5Mismatch', true);
  }
  return { id: String(meta.id), size: Number(meta.size ?? 0), md5: got };
}

async function hashPrefix(source: ByteSource, n: number, hash: Hash): Promise<void> {
  let left = n;
  for await (const c of source.open(0)) {
    const b = c as Buffer;
    hash.update(b.length <= left ? b : b.subarray(0, left));
    left -= Math.min(left, b.length);
    if (left === 0) break;
  }
}

async function hashSource(source: ByteSource, n: number): Promise<string> {
  if (source.file) return (await hashFileRange(source.file.path, source.file.offset, n, ['md5']))[0];
  const h = createHash('md5');
  await hashPrefix(source, n, h);
  return h.digest('hex');
}
