// State and query language of the fake Drive v3 server (fake-drive.ts): files, folders, `q`.
import { createHash, randomBytes } from 'node:crypto';

export const FOLDER = 'application/vnd.google-apps.folder';

export interface FakeFile {
  id: string;
  name: string;
  mimeType: string;
  parents: string[];
  data: Buffer;
  md5: string;
  appProperties: Record<string, string>;
  createdTime: string;
  modifiedTime: string;
  trashed: boolean;
}

let clock = Date.parse('2026-01-01T00:00:00Z');
/** Strictly increasing timestamps, so "newest" is unambiguous. */
export function now(): string {
  clock = Math.max(clock + 1, Date.now());
  return new Date(clock).toISOString();
}

export function newId(): string {
  return randomBytes(12).toString('base64url');
}

export function toResource(f: FakeFile): Record<string, unknown> {
  const r: Record<string, unknown> = {
    kind: 'drive#file', id: f.id, name: f.name, mimeType: f.mimeType, parents: f.parents,
    createdTime: f.createdTime, modifiedTime: f.modifiedTime, trashed: f.trashed, appProperties: f.appProperties,
  };
  if (f.mimeType !== FOLDER) { r.size = String(f.data.length); r.md5Checksum = f.md5; }
  return r;
}

export function makeFile(meta: Record<string, unknown>, data: Buffer): FakeFile {
  const t = now();
  return {
    id: newId(), name: String(meta.name ?? 'Untitled'), mimeType: String(meta.mimeType ?? 'application/octet-stream'),
    parents: Array.isArray(meta.parents) ? meta.parents.map(String) : ['root'], data, md5: createHash('md5').update(data).digest('hex'),
    appProperties: (meta.appProperties as Record<string, string>) ?? {}, createdTime: t, modifiedTime: t, trashed: false,
  };
}

export function setContent(f: FakeFile, data: Buffer): void {
  f.data = data;
  f.md5 = createHash('md5').update(data).digest('hex');
  f.modifiedTime = now();
}

export function applyMetadata(f: FakeFile, meta: Record<string, unknown>, addParents?: string | null, removeParents?: string | null): void {
  if (typeof meta.name === 'string') f.name = meta.name;
  if (typeof meta.mimeType === 'string') f.mimeType = meta.mimeType;
  if (typeof meta.trashed === 'boolean') f.trashed = meta.trashed;
  if (meta.appProperties && typeof meta.appProperties === 'object') Object.assign(f.appProperties, meta.appProperties);
  if (removeParents) f.parents = f.parents.filter((p) => !removeParents.split(',').includes(p));
  if (addParents) f.parents.push(...addParents.split(','));
  f.modifiedTime = now();
}

type Pred = (f: FakeFile) => boolean;

/** Parse the subset of Drive's `q` language the clients use: clauses joined by `and`. */
export function parseQuery(q: string): Pred {
  const preds: Pred[] = [];
  let i = 0;
  const ws = () => { while (q[i] === ' ') i++; };
  const str = (): string => {
    if (q[i] !== "'") throw new Error(`expected a quoted string at ${i} in q`);
    let out = '';
    for (i++; i < q.length && q[i] !== "'"; i++) out += q[i] === '\\' ? q[++i] : q[i];
    if (q[i] !== "'") throw new Error('unterminated string in q');
    i++;
    return out;
  };
  const word = (): string => { ws(); const m = /^[A-Za-z!=<>]+/.exec(q.slice(i)); if (!m) throw new Error(`unexpected "${q.slice(i, i + 10)}" in q`); i += m[0].length; return m[0]; };
  while (i < q.length) {
    ws();
    if (q[i] === "'") {
      const v = str();
      if (word() !== 'in' || word() !== 'parents') throw new Error('only "\'id\' in parents" is supported');
      preds.push((f) => f.parents.includes(v));
    } else {
      const field = word();
      const op = word();
      ws();
      if (field === 'trashed') {
        const v = word() === 'true';
        preds.push(op === '=' ? (f) => f.trashed === v : (f) => f.trashed !== v);
      } else if (field === 'name' || field === 'mimeType') {
        const v = str();
        const get = (f: FakeFile) => (field === 'name' ? f.name : f.mimeType);
        if (op === '=') preds.push((f) => get(f) === v);
        else if (op === '!=') preds.push((f) => get(f) !== v);
        else if (op === 'contains') preds.push((f) => get(f).includes(v));
        else throw new Error(`operator ${op} not supported for ${field}`);
      } else throw new Error(`field ${field} not supported in q`);
    }
    ws();
    if (i < q.length) {
      if (word() !== 'and') throw new Error('only "and" is supported in q');
    }
  }
  return (f) => preds.every((p) => p(f));
}

/** Split a multipart/related body into its parts (headers are skipped). */
export function parseMultipart(body: Buffer, contentType: string): Buffer[] {
  const m = /boundary="?([^";]+)"?/.exec(contentType);
  if (!m) throw new Error('multipart body without boundary');
  const delim = Buffer.from(`--${m[1]}`);
  const parts: Buffer[] = [];
  let pos = body.indexOf(delim);
  while (pos >= 0) {
    const start = pos + delim.length;
    if (body.subarray(start, start + 2).toString() === '--') break;
    const next = body.indexOf(delim, start);
    if (next < 0) break;
    let part = body.subarray(start, next);
    const headEnd = part.indexOf('\r\n\r\n');
    part = part.subarray(headEnd + 4);
    if (part.subarray(part.length - 2).toString() === '\r\n') part = part.subarray(0, part.length - 2);
    parts.push(part);
    pos = next;
  }
  return parts;
}
