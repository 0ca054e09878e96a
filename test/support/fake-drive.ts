// A fake Google Drive v3 HTTP server on 127.0.0.1 for tests, answering what @googleapis/drive
// and our resumable uploader send: files.list/create/get/update/delete, alt=media with Range,
// multipart/media/resumable uploads (PUT or POST chunks, 308 + Range, status queries, 404 on
// expired sessions), about.storageQuota, Google error bodies with `reason`, fault injection and
// byte counters. Hand-written: google-drive-mock corrupts binaries and lacks resumable/Range.
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { FOLDER, type FakeFile, applyMetadata, makeFile, newId, parseMultipart, parseQuery, setContent, toResource } from './fake-drive-files.js';

export type FaultKind = '429' | '403-rate' | '500' | '503' | 'reset' | 'stall' | 'expire';
export type RequestKind = 'list' | 'get' | 'media' | 'create' | 'update' | 'delete' | 'about' | 'upload-start' | 'upload-chunk' | 'upload-status' | 'upload-simple';

export interface FaultPlan {
  /** Probability of a fault per request (0..1). */
  rate: number;
  kinds: FaultKind[];
  /** Only these request kinds get faults (default: all). */
  only?: RequestKind[];
}

interface Session { id: string; fileId?: string; meta: Record<string, unknown>; total?: number; received: Buffer[]; len: number; done?: FakeFile }

export interface FakeDriveStats {
  requests: number;
  byKind: Record<string, number>;
  faults: number;
  /** Media bytes received in upload requests (chunks and simple uploads, retries included). */
  uploadBytes: number;
  /** Bytes that ended up in completed files. */
  storedBytes: number;
  downloadBytes: number;
  /** Status queries that found a session holding bytes (a resumed upload). */
  resumedSessions: number;
}

const GRANULE = 256 * 1024;

export class FakeDrive {
  readonly files = new Map<string, FakeFile>();
  readonly sessions = new Map<string, Session>();
  token = 'fake-token';
  quotaLimit: number | null = 15 * 1024 ** 3;
  faults: FaultPlan | null = null;
  /** Extra delay (ms) before answering each upload chunk (to make uploads slow). */
  chunkDelayMs = 0;
  /** A deterministic decision hook; when set it replaces `faults`. */
  faultFn: ((kind: RequestKind, n: number) => FaultKind | null) | null = null;
  stats: FakeDriveStats = FakeDrive.emptyStats();
  private server: http.Server;
  private sockets = new Set<import('node:net').Socket>();
  url = '';

  static emptyStats(): FakeDriveStats {
    return { requests: 0, byKind: {}, faults: 0, uploadBytes: 0, storedBytes: 0, downloadBytes: 0, resumedSessions: 0 };
  }

  constructor() {
    this.files.set('root', makeFile({ name: 'My Drive', mimeType: FOLDER, parents: [] }, Buffer.alloc(0)));
    this.files.get('root')!.id = 'root';
    this.server = http.createServer((req, res) => { this.handle(req, res).catch((e: Error) => this.error(res, 500, 'backendError', e.message)); });
    this.server.on('connection', (s) => { this.sockets.add(s); s.on('close', () => this.sockets.delete(s)); });
  }

  async start(): Promise<string> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/`;
    return this.url;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  resetStats(): void { this.stats = FakeDrive.emptyStats(); }

  /** Forget all upload sessions (as if they expired). */
  expireSessions(): void { this.sessions.clear(); }

  /** Files (not folders) under a path of names starting at My Drive, e.g. `runs/r1/blobs`. */
  folderByPath(p: string): FakeFile | null {
    let cur = this.files.get('root')!;
    for (const name of p.split('/').filter(Boolean)) {
      const next = [...this.files.values()].find((f) => !f.trashed && f.mimeType === FOLDER && f.name === name && f.parents.includes(cur.id));
      if (!next) return null;
      cur = next;
    }
    return cur;
  }

  childrenOf(folderId: string): FakeFile[] {
    return [...this.files.values()].filter((f) => !f.trashed && f.parents.includes(folderId));
  }

  private usage(): number {
    let n = 0;
    for (const f of this.files.values()) n += f.data.length;
    return n;
  }

  private error(res: http.ServerResponse, status: number, reason: string, message: string): void {
    if (res.headersSent) { res.destroy(); return; }
    res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8' });
    res.end(JSON.stringify({ error: { code: status, message, errors: [{ domain: 'global', reason, message }] } }));
  }

  private json(res: http.ServerResponse, status: number, body: unknown): void {
    res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8' });
    res.end(JSON.stringify(body));
  }

  private pickFault(kind: RequestKind): FaultKind | null {
    const n = this.stats.byKind[kind] ?? 0;
    if (this.faultFn) return this.faultFn(kind, n);
    const f = this.faults;
    if (!f || (f.only && !f.only.includes(kind)) || Math.random() >= f.rate) return null;
    return f.kinds[Math.floor(Math.random() * f.kinds.length)];
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const method = req.method ?? 'GET';
    this.stats.requests++;
    if (req.headers.authorization !== `Bearer ${this.token}`) {
      await readBody(req);
      return this.error(res, 401, 'authError', 'Invalid Credentials');
    }
    const uploadId = url.searchParams.get('upload_id');
    const m = /^\/(upload\/)?drive\/v3\/(files|about)(?:\/([^/]+))?$/.exec(url.pathname);
    if (!m) { await readBody(req); return this.error(res, 404, 'notFound', `no route ${method} ${url.pathname}`); }
    const isUpload = !!m[1];
    const fileId = m[3] ? decodeURIComponent(m[3]) : undefined;
    const kind: RequestKind = m[2] === 'about' ? 'about'
      : isUpload ? (uploadId ? (/^bytes \*\//.test(String(req.headers['content-range'] ?? '')) ? 'upload-status' : 'upload-chunk')
        : url.searchParams.get('uploadType') === 'resumable' ? 'upload-start' : 'upload-simple')
        : method === 'GET' ? (fileId ? (url.searchParams.get('alt') === 'media' ? 'media' : 'get') : 'list')
          : method === 'POST' ? 'create' : method === 'DELETE' ? 'delete' : 'update';
    this.stats.byKind[kind] = (this.stats.byKind[kind] ?? 0) + 1;
    const fault = this.pickFault(kind);
    if (fault) {
      this.stats.faults++;
      if (fault === 'expire' && uploadId) this.sessions.delete(uploadId);
      else if (fault === 'reset' && kind === 'upload-chunk' && uploadId) return this.chunk(req, res, uploadId, 'reset');
      else if (fault === 'reset' && kind === 'media') return this.media(req, res, url, fileId!, 'reset');
      else if (fault === 'stall' && kind === 'media') return this.media(req, res, url, fileId!, 'stall');
      else if (fault === 'reset') { req.socket.destroy(); return; }
      else if (fault === 'stall') { req.resume(); return; } // never answer; the client must time out
      else {
        await readBody(req);
        if (fault === '429') return this.error(res, 429, 'rateLimitExceeded', 'Rate Limit Exceeded');
        if (fault === '403-rate') return this.error(res, 403, 'userRateLimitExceeded', 'User Rate Limit Exceeded');
        return this.error(res, Number(fault), 'backendError', 'Backend Error');
      }
    }
    if (uploadId) return this.chunk(req, res, uploadId, null);
    if (isUpload) return this.startUpload(req, res, url, fileId);
    if (kind === 'about') {
      await readBody(req);
      return this.json(res, 200, { kind: 'drive#about', storageQuota: { limit: this.quotaLimit === null ? undefined : String(this.quotaLimit), usage: String(this.usage()) } });
    }
    const body = await readBody(req);
    if (kind === 'list') return this.list(res, url);
    const f = fileId ? this.files.get(fileId) : undefined;
    if (kind === 'create') {
      const meta = body.length ? JSON.parse(body.toString()) : {};
      const parentOk = (meta.parents ?? ['root']).every((p: string) => this.files.get(p)?.mimeType === FOLDER);
      if (!parentOk) return this.error(res, 404, 'notFound', 'File not found: parent');
      const nf = makeFile(meta, Buffer.alloc(0));
      this.files.set(nf.id, nf);
      return this.json(res, 200, toResource(nf));
    }
    if (!f || f.trashed) return this.error(res, 404, 'notFound', `File not found: ${fileId}.`);
    if (kind === 'get') return this.json(res, 200, toResource(f));
    if (kind === 'media') return this.media(req, res, url, f.id, null);
    if (kind === 'delete') {
      const drop = (id: string) => { for (const c of this.childrenOf(id)) drop(c.id); this.files.delete(id); };
      drop(f.id);
      res.writeHead(204).end();
      return;
    }
    applyMetadata(f, body.length ? JSON.parse(body.toString()) : {}, url.searchParams.get('addParents'), url.searchParams.get('removeParents'));
    return this.json(res, 200, toResource(f));
  }

  private list(res: http.ServerResponse, url: URL): void {
    let pred: (f: FakeFile) => boolean;
    try {
      pred = parseQuery(url.searchParams.get('q') ?? 'trashed = false');
    } catch (e) {
      return this.error(res, 400, 'invalid', `Invalid Value: ${(e as Error).message}`);
    }
    const all = [...this.files.values()].filter((f) => f.id !== 'root' && pred(f)).sort((a, b) => a.createdTime.localeCompare(b.createdTime));
    const size = Math.min(Number(url.searchParams.get('pageSize') ?? 100), 1000);
    const start = Number(url.searchParams.get('pageToken') ?? 0);
    const page = all.slice(start, start + size);
    const next = start + size < all.length ? String(start + size) : undefined;
    this.json(res, 200, { kind: 'drive#fileList', nextPageToken: next, incompleteSearch: false, files: page.map(toResource) });
  }

  private media(req: http.IncomingMessage, res: http.ServerResponse, url: URL, id: string, fault: 'reset' | 'stall' | null): void {
    req.resume();
    const f = this.files.get(id);
    if (!f || f.trashed) return this.error(res, 404, 'notFound', `File not found: ${id}.`);
    if (f.mimeType === FOLDER) return this.error(res, 403, 'fileNotDownloadable', 'Only files with binary content can be downloaded.');
    let start = 0;
    let end = f.data.length - 1;
    const range = /^bytes=(\d+)-(\d*)$/.exec(String(req.headers.range ?? ''));
    if (range) {
      start = Number(range[1]);
      if (range[2]) end = Math.min(end, Number(range[2]));
      if (start >= f.data.length && f.data.length > 0) {
        res.writeHead(416, { 'content-range': `bytes */${f.data.length}` }).end();
        return;
      }
    }
    const body = f.data.subarray(start, end + 1);
    const headers: Record<string, string> = { 'content-type': f.mimeType, 'content-length': String(body.length) };
    if (range) headers['content-range'] = `bytes ${start}-${end}/${f.data.length}`;
    res.writeHead(range ? 206 : 200, headers);
    if (fault) {
      const half = body.subarray(0, Math.floor(body.length / 2));
      this.stats.downloadBytes += half.length;
      res.write(half);
      if (fault === 'reset') setTimeout(() => res.destroy(), 5);
      return; // 'stall': keep the socket open, send nothing more
    }
    this.stats.downloadBytes += body.length;
    res.end(body);
  }

  private async startUpload(req: http.IncomingMessage, res: http.ServerResponse, url: URL, fileId?: string): Promise<void> {
    const type = url.searchParams.get('uploadType');
    const body = await readBody(req);
    const existing = fileId ? this.files.get(fileId) : undefined;
    if (fileId && (!existing || existing.trashed)) return this.error(res, 404, 'notFound', `File not found: ${fileId}.`);
    if (type === 'resumable') {
      const meta = body.length ? JSON.parse(body.toString()) : {};
      const len = req.headers['x-upload-content-length'];
      const total = len === undefined ? undefined : Number(len);
      if (total !== undefined && this.quotaLimit !== null && this.usage() + total > this.quotaLimit) {
        return this.error(res, 403, 'storageQuotaExceeded', 'The user\'s Drive storage quota has been exceeded.');
      }
      const id = newId();
      this.sessions.set(id, { id, fileId, meta, total, received: [], len: 0 });
      const loc = new URL(`${this.url}upload/drive/v3/files${fileId ? `/${encodeURIComponent(fileId)}` : ''}`);
      for (const [k, v] of url.searchParams) loc.searchParams.set(k, v);
      loc.searchParams.set('upload_id', id);
      res.writeHead(200, { location: loc.toString(), 'content-length': '0' }).end();
      return;
    }
    let meta: Record<string, unknown> = {};
    let data = body;
    if (type === 'multipart') {
      const parts = parseMultipart(body, String(req.headers['content-type'] ?? ''));
      meta = JSON.parse(parts[0].toString());
      data = parts[1] ?? Buffer.alloc(0);
    } else if (type !== 'media') return this.error(res, 400, 'invalid', `Invalid uploadType ${type}`);
    this.stats.uploadBytes += data.length;
    if (this.quotaLimit !== null && this.usage() + data.length > this.quotaLimit) {
      return this.error(res, 403, 'storageQuotaExceeded', 'The user\'s Drive storage quota has been exceeded.');
    }
    this.json(res, 200, toResource(this.commit(existing, meta, data)));
  }

  private commit(existing: FakeFile | undefined, meta: Record<string, unknown>, data: Buffer): FakeFile {
    this.stats.storedBytes += data.length;
    if (existing) { setContent(existing, data); applyMetadata(existing, meta); return existing; }
    const f = makeFile(meta, data);
    this.files.set(f.id, f);
    return f;
  }

  private async chunk(req: http.IncomingMessage, res: http.ServerResponse, id: string, fault: 'reset' | null): Promise<void> {
    const s = this.sessions.get(id);
    if (!s) { await readBody(req); return this.error(res, 404, 'notFound', 'upload session not found'); }
    const cr = /^bytes (?:(\d+)-(\d+)|\*)\/(\d+|\*)$/.exec(String(req.headers['content-range'] ?? ''));
    if (fault === 'reset') {
      // Take part of the body, keep a 256 KiB-aligned prefix of it (as Drive may), then drop the connection.
      const part = await readBody(req, Number(req.headers['content-length'] ?? 0) / 2);
      const start = cr?.[1] ? Number(cr[1]) : s.len;
      const keep = Math.floor((start + part.length) / GRANULE) * GRANULE - s.len;
      if (start === s.len && keep > 0) { s.received.push(part.subarray(0, keep)); s.len += keep; }
      this.stats.uploadBytes += part.length;
      req.socket.destroy();
      return;
    }
    const body = await readBody(req);
    if (this.chunkDelayMs) await new Promise((r) => setTimeout(r, this.chunkDelayMs));
    if (!cr) return this.error(res, 400, 'invalid', `bad Content-Range ${req.headers['content-range']}`);
    if (cr[3] !== '*') {
      const total = Number(cr[3]);
      if (s.total !== undefined && s.total !== total) return this.error(res, 400, 'invalid', 'total size changed');
      s.total = total;
    }
    if (s.done) return this.json(res, 200, toResource(s.done));
    if (cr[1] !== undefined) {
      this.stats.uploadBytes += body.length;
      const start = Number(cr[1]);
      const end = Number(cr[2]);
      if (end - start + 1 !== body.length) return this.error(res, 400, 'invalid', 'Content-Range does not match the body length');
      if (start > s.len) return this.error(res, 400, 'invalid', `chunk starts at ${start} but only ${s.len} bytes were received`);
      const isLast = s.total !== undefined && end + 1 === s.total;
      if (!isLast && body.length % GRANULE !== 0) return this.error(res, 400, 'invalid', 'chunk size must be a multiple of 256 KiB');
      const fresh = body.subarray(s.len - start);
      s.received.push(fresh);
      s.len += fresh.length;
    } else if (s.len > 0 && s.total !== s.len) this.stats.resumedSessions++;
    if (s.total !== undefined && s.len === s.total) {
      const existing = s.fileId ? this.files.get(s.fileId) : undefined;
      if (this.quotaLimit !== null && this.usage() + s.len > this.quotaLimit) return this.error(res, 403, 'storageQuotaExceeded', 'quota exceeded');
      s.done = this.commit(existing, s.meta, Buffer.concat(s.received));
      s.received = [];
      return this.json(res, existing ? 200 : 200, toResource(s.done));
    }
    const headers: Record<string, string> = { 'content-length': '0' };
    if (s.len > 0) headers.range = `bytes=0-${s.len - 1}`;
    res.writeHead(308, headers).end();
  }
}

function readBody(req: http.IncomingMessage, limit = Infinity): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let n = 0;
    req.on('data', (c: Buffer) => {
      if (n >= limit) return;
      chunks.push(c);
      n += c.length;
      if (n >= limit) { req.pause(); resolve(Buffer.concat(chunks).subarray(0, Math.floor(limit))); }
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
    req.on('aborted', () => resolve(Buffer.concat(chunks)));
  });
}
