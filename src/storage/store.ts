// The Store seam (DESIGN.md §3): a few file operations under `/`-separated paths, nothing
// about checkpoints. Implemented by LocalDirStore (any folder, e.g. a mounted Drive) and
// GoogleDriveStore (Drive v3 API).
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { DriveCredentials } from './drive-auth.js';

export interface StoreEntry {
  /** Full store path, e.g. `run1/blobs/ab12…`. */
  path: string;
  name: string;
  isFolder: boolean;
  size: number;
  /** Hex MD5 when the store's listing includes it for free (Drive does). */
  md5?: string;
}

export interface StoreStat {
  size: number;
  /** Hex MD5 of the content (Drive's md5Checksum; computed for local files). */
  md5: string;
}

/** Inclusive byte range, like HTTP Range. `end` defaults to the last byte. */
export interface ByteRange {
  start?: number;
  end?: number;
}

/** Bytes that can be read again from any offset (needed to restart an interrupted upload). */
export interface ByteSource {
  size: number;
  open(start: number): Readable;
  /** Set when the bytes are a range of a local file (a local store then copies it off the event loop). */
  file?: { path: string; offset: number };
  /** Expected sha256 of the bytes; a store with `verifiesSha256` rejects the write on mismatch. */
  sha256?: string;
}

export type WriteData = Uint8Array | ByteSource | Readable;

export interface StoreWriteResult {
  size: number;
  md5: string;
}

export interface Store {
  /** Human-readable location, free of secrets (e.g. `drive:runs/mnist` or a folder path). */
  readonly description: string;
  /** Direct children of a folder ('' = root). Missing folder → []. */
  list(prefix: string): Promise<StoreEntry[]>;
  /** Size and md5 of a file; null when absent (or a folder). */
  stat(path: string): Promise<StoreStat | null>;
  /** Stream a file's bytes (optionally a range). Rejects when absent. */
  read(path: string, range?: ByteRange): Promise<Readable>;
  /** Create or replace a file; parent folders are created. Never leaves a partial file visible. */
  write(path: string, data: WriteData): Promise<StoreWriteResult>;
  /** Delete a file or folder (recursively); absent is not an error. */
  delete(path: string): Promise<void>;
  /** Create a folder and its parents. */
  mkdir(path: string): Promise<void>;
  /** Free bytes at the store, when known. */
  freeSpace?(): Promise<number | null>;
  /** True when write() checks a ByteSource's `sha256` while copying (saves the caller a pass). */
  readonly verifiesSha256?: boolean;
  /** How to open this same store on another thread (storeFromSpec); null/absent when it cannot be. */
  spec?(): StoreSpec | null;
}

/**
 * A serialisable description of a store (Store objects hold clients, sockets and caches and do
 * not cross threads). Drive specs carry credentials (a token or file paths): never log them.
 */
export type StoreSpec =
  | { kind: 'local'; root: string }
  | {
    kind: 'drive'; credentials: DriveCredentials; basePath?: string; rootFolderId?: string; rootUrl?: string;
    chunkSize?: number; timeoutMs?: number; multipartMaxBytes?: number; attempts?: number; baseDelayMs?: number; maxDelayMs?: number;
  };

const STORE_METHODS = ['list', 'stat', 'read', 'write', 'delete', 'mkdir', 'freeSpace', 'spec'];

/** True for an instance of `cls` itself with no method replaced: only such a store is described by its spec. */
export function isPlainInstance(obj: object, cls: abstract new (...a: never[]) => unknown): boolean {
  return Object.getPrototypeOf(obj) === cls.prototype && !STORE_METHODS.some((m) => Object.prototype.hasOwnProperty.call(obj, m));
}

/** Normalise a store path: no leading/trailing slashes, no empty, `.` or `..` segments. */
export function normalizePath(p: string): string {
  const parts = p.split('/').filter((s) => s !== '' && s !== '.');
  for (const s of parts) {
    if (s === '..') throw new Error(`store path "${p}" must not contain ".."`);
    if (s.includes('\\') || s.includes('\0')) throw new Error(`store path "${p}" has an invalid character`);
  }
  return parts.join('/');
}

export function joinPath(...parts: string[]): string {
  return normalizePath(parts.filter((p) => p !== '').join('/'));
}

export function splitPath(p: string): { parent: string; name: string } {
  const n = normalizePath(p);
  const i = n.lastIndexOf('/');
  return i < 0 ? { parent: '', name: n } : { parent: n.slice(0, i), name: n.slice(i + 1) };
}

export function isByteSource(d: WriteData): d is ByteSource {
  return !(d instanceof Uint8Array) && !(d instanceof Readable) && typeof (d as ByteSource).open === 'function';
}

export async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(c));
  return Buffer.concat(chunks);
}

export async function readFileFromStore(store: Store, path: string, range?: ByteRange): Promise<Buffer> {
  return readAll(await store.read(path, range));
}

export function md5Hex(data: Uint8Array): string {
  return createHash('md5').update(data).digest('hex');
}

/** A ByteSource over an in-memory buffer. */
export function bufferSource(buf: Uint8Array): ByteSource {
  return { size: buf.byteLength, open: (start) => Readable.from([Buffer.from(buf.buffer, buf.byteOffset + start, buf.byteLength - start)]) };
}

export function formatBytes(n: number): string {
  if (n < 1000) return `${n} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let v = n / 1000;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) { v /= 1000; i++; }
  return `${v >= 100 ? v.toFixed(0) : v.toFixed(1)} ${units[i]}`;
}
