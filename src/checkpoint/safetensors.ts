// Streaming safetensors reader/writer. Written by hand because no maintained npm package
// streams tensor by tensor through a file handle (they build one buffer for the whole file).
// Layout: u64 LE header length N | N bytes JSON header (space-padded to 8-byte alignment, as
// Hugging Face does) | raw little-endian tensor data, contiguous, in header-offset order.
import { createHash, type Hash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { allocate, bytesOf, BYTES_PER_ELEMENT, numel, type DType, type NamedTensor, type TensorMap } from '../tensor.js';
import { CheckpointError } from './errors.js';
import { nodeFs, type CkptFs } from './fsio.js';

export const SAFETENSORS_DTYPE: Record<DType, string> = {
  float32: 'F32', float16: 'F16', float64: 'F64', int64: 'I64', int32: 'I32', uint8: 'U8', bool: 'BOOL',
};
const FROM_CODE = new Map(Object.entries(SAFETENSORS_DTYPE).map(([d, c]) => [c, d as DType]));

export function dtypeFromSafetensors(code: string): DType {
  const d = FROM_CODE.get(code);
  if (!d) throw new Error(`unsupported safetensors dtype ${JSON.stringify(code)} (supported: ${[...FROM_CODE.keys()].join(' ')})`);
  return d;
}

/** One tensor's place in the file; `begin`/`end` are ABSOLUTE byte offsets in the file. */
export interface TensorLayout {
  name: string;
  dtype: DType;
  shape: number[];
  begin: number;
  end: number;
}

export interface SafetensorsHeader {
  /** Bytes before the data section: 8 + padded JSON length. */
  dataStart: number;
  /** Expected file size: dataStart + data section length. */
  fileSize: number;
  metadata: Record<string, string> | null;
  /** In file order. */
  tensors: TensorLayout[];
}

export interface WrittenTensor extends TensorLayout {
  sha256: string;
}

export interface WriteResult {
  size: number;
  sha256: string;
  /** Byte range [0, dataStart) holding the length prefix and JSON header, and its sha256. */
  header: { begin: number; end: number; sha256: string };
  tensors: WrittenTensor[];
}

const MAX_HEADER = 100 * 1024 * 1024;
// 2 MiB: hashing a chunk (twice: tensor + file) stalls the event loop ~3 ms; writes stay large enough
const CHUNK = 2 * 1024 * 1024;

/** File order: larger element size first (keeps data aligned for mmap readers), then by name. */
export function fileOrder<T extends { name: string; dtype: DType }>(tensors: Iterable<T>): T[] {
  return [...tensors].sort((a, b) => BYTES_PER_ELEMENT[b.dtype] - BYTES_PER_ELEMENT[a.dtype] || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Encode the header for tensors already in file order; returns the bytes and absolute layout. */
export function encodeHeader(
  tensors: readonly { name: string; dtype: DType; shape: number[] }[],
  metadata?: Record<string, string>,
): { bytes: Uint8Array; layout: TensorLayout[] } {
  const json: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length) json.__metadata__ = metadata;
  let off = 0;
  const rel: [number, number][] = [];
  const seen = new Set<string>();
  for (const t of tensors) {
    if (t.name === '__metadata__' || seen.has(t.name)) throw new Error(`tensor name ${JSON.stringify(t.name)} is reserved or duplicated`);
    seen.add(t.name);
    for (const d of t.shape) if (!Number.isSafeInteger(d) || d < 0) throw new Error(`tensor ${t.name}: bad shape [${t.shape}]`);
    const len = numel(t.shape) * BYTES_PER_ELEMENT[t.dtype];
    rel.push([off, off + len]);
    json[t.name] = { dtype: SAFETENSORS_DTYPE[t.dtype], shape: t.shape, data_offsets: [off, off + len] };
    off += len;
  }
  const raw = Buffer.from(JSON.stringify(json), 'utf8');
  const padded = Math.ceil(raw.length / 8) * 8;
  const bytes = Buffer.alloc(8 + padded, 0x20);
  bytes.writeBigUInt64LE(BigInt(padded), 0);
  raw.copy(bytes, 8);
  const dataStart = 8 + padded;
  const layout = tensors.map((t, i) => ({ name: t.name, dtype: t.dtype, shape: [...t.shape], begin: dataStart + rel[i][0], end: dataStart + rel[i][1] }));
  return { bytes, layout };
}

async function writeAll(h: FileHandle, bytes: Uint8Array, pos: number): Promise<void> {
  let done = 0;
  while (done < bytes.byteLength) {
    const { bytesWritten } = await h.write(bytes, done, bytes.byteLength - done, pos + done);
    if (bytesWritten <= 0) throw new Error('short write');
    done += bytesWritten;
  }
}

/**
 * Stream tensors into an open file handle (positions from 0), hashing every tensor and the
 * whole file while writing. Memory: one 8 MiB chunk view at a time, no copies.
 * Hashing chunk i+1 overlaps with the write of chunk i (writes run on libuv's thread pool).
 */
export async function writeSafetensorsTo(
  h: FileHandle,
  tensors: Iterable<NamedTensor>,
  metadata?: Record<string, string>,
): Promise<WriteResult> {
  const ordered = fileOrder(tensors);
  for (const t of ordered) {
    const want = numel(t.shape) * BYTES_PER_ELEMENT[t.dtype];
    if (t.data.byteLength !== want) throw new Error(`tensor ${t.name}: shape [${t.shape}] ${t.dtype} needs ${want} bytes, data has ${t.data.byteLength}`);
  }
  const { bytes, layout } = encodeHeader(ordered, metadata);
  const file = createHash('sha256');
  const headerHash = createHash('sha256').update(bytes).digest('hex');
  file.update(bytes);
  let pending: Promise<void> = writeAll(h, bytes, 0);
  const written: WrittenTensor[] = [];
  for (let i = 0; i < ordered.length; i++) {
    const src = bytesOf(ordered[i].data);
    const th = createHash('sha256');
    for (let o = 0; o < src.byteLength; o += CHUNK) {
      const chunk = src.subarray(o, Math.min(o + CHUNK, src.byteLength));
      th.update(chunk);
      file.update(chunk);
      await pending;
      pending = writeAll(h, chunk, layout[i].begin + o);
    }
    written.push({ ...layout[i], sha256: th.digest('hex') });
  }
  await pending;
  const size = layout.length ? layout[layout.length - 1].end : bytes.byteLength;
  return { size, sha256: file.digest('hex'), header: { begin: 0, end: bytes.byteLength, sha256: headerHash }, tensors: written };
}

/** Write a safetensors file at `file` (not fsynced; see commit.ts for durability). */
export async function writeSafetensors(
  file: string,
  tensors: TensorMap | Iterable<NamedTensor>,
  opts: { metadata?: Record<string, string>; fs?: CkptFs } = {},
): Promise<WriteResult> {
  const h = await (opts.fs ?? nodeFs).open(file, 'w');
  try {
    return await writeSafetensorsTo(h, tensors instanceof Map ? tensors.values() : tensors, opts.metadata);
  } finally {
    await h.close();
  }
}

async function readExact(h: FileHandle, target: Uint8Array, pos: number, file: string): Promise<void> {
  let done = 0;
  while (done < target.byteLength) {
    const len = Math.min(target.byteLength - done, 64 * 1024 * 1024);
    const { bytesRead } = await h.read(target, done, len, pos + done);
    if (bytesRead === 0) throw new CheckpointError('BAD_FORMAT', `${file}: file ends at byte ${pos + done}, expected ${pos + target.byteLength}`, { file, detail: 'truncated' });
    done += bytesRead;
  }
}

const bad = (file: string, what: string) => new CheckpointError('BAD_FORMAT', `${file}: ${what}`, { file, detail: what });

/** Parse and validate a header from its JSON bytes; `fileSize` (if known) must match the layout. */
export function parseHeader(json: Uint8Array, file = 'tensors.safetensors', fileSize?: number): SafetensorsHeader {
  let obj: unknown;
  try {
    obj = JSON.parse(Buffer.from(json.buffer, json.byteOffset, json.byteLength).toString('utf8'));
  } catch (e) {
    throw bad(file, `header is not valid JSON (${(e as Error).message})`);
  }
  if (!obj || typeof obj !== 'object' || Array.isArray(obj)) throw bad(file, 'header is not a JSON object');
  const dataStart = 8 + json.byteLength;
  let metadata: Record<string, string> | null = null;
  const tensors: TensorLayout[] = [];
  for (const [name, v] of Object.entries(obj as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (!v || typeof v !== 'object' || Object.values(v).some((x) => typeof x !== 'string')) throw bad(file, '__metadata__ must map strings to strings');
      metadata = v as Record<string, string>;
      continue;
    }
    const e = v as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (!e || typeof e.dtype !== 'string' || !Array.isArray(e.shape) || !Array.isArray(e.data_offsets) || e.data_offsets.length !== 2) throw bad(file, `tensor ${name}: entry needs dtype, shape and data_offsets`);
    if (!FROM_CODE.has(e.dtype)) throw bad(file, `tensor ${name}: unsupported dtype ${e.dtype}`);
    const dtype = FROM_CODE.get(e.dtype)!;
    const shape = e.shape as number[];
    const [b, en] = e.data_offsets as number[];
    if (!shape.every((d) => Number.isSafeInteger(d) && d >= 0)) throw bad(file, `tensor ${name}: bad shape ${JSON.stringify(shape)}`);
    if (!Number.isSafeInteger(b) || !Number.isSafeInteger(en) || b < 0 || en < b) throw bad(file, `tensor ${name}: bad data_offsets ${JSON.stringify(e.data_offsets)}`);
    if (en - b !== numel(shape) * BYTES_PER_ELEMENT[dtype]) throw bad(file, `tensor ${name}: data_offsets span ${en - b} bytes but shape [${shape}] ${e.dtype} needs ${numel(shape) * BYTES_PER_ELEMENT[dtype]}`);
    tensors.push({ name, dtype, shape, begin: dataStart + b, end: dataStart + en });
  }
  tensors.sort((x, y) => x.begin - y.begin || x.end - y.end);
  let at = dataStart;
  for (const t of tensors) {
    if (t.begin !== at) throw bad(file, `tensor ${t.name}: data starts at ${t.begin - dataStart}, expected ${at - dataStart} (gap or overlap)`);
    at = t.end;
  }
  if (fileSize !== undefined && fileSize !== at) throw bad(file, `file is ${fileSize} bytes, header describes ${at}`);
  return { dataStart, fileSize: at, metadata, tensors };
}

async function readHeaderFrom(h: FileHandle, file: string, fileSize: number): Promise<SafetensorsHeader> {
  if (fileSize < 8) throw bad(file, `file is ${fileSize} bytes, too short for a header`);
  const lenBuf = new Uint8Array(8);
  await readExact(h, lenBuf, 0, file);
  const n = Buffer.from(lenBuf).readBigUInt64LE(0);
  if (n > BigInt(Math.min(MAX_HEADER, fileSize - 8))) throw bad(file, `header length ${n} exceeds the file (${fileSize} bytes)`);
  const json = new Uint8Array(Number(n));
  await readExact(h, json, 8, file);
  return parseHeader(json, file, fileSize);
}

/** Read only the header: per-tensor dtype, shape and absolute byte ranges. */
export async function readSafetensorsHeader(file: string, fs: CkptFs = nodeFs): Promise<SafetensorsHeader> {
  const h = await fs.open(file, 'r');
  try {
    return await readHeaderFrom(h, file, (await h.stat()).size);
  } finally {
    await h.close();
  }
}

export interface ReadResult {
  tensors: TensorMap;
  metadata: Record<string, string> | null;
  header: SafetensorsHeader;
  /** sha256 of the whole file and of each tensor's bytes, computed while reading. */
  sha256: string;
  tensorSha256: Map<string, string>;
}

/** Read every tensor with positional reads straight into its own typed array (no file-sized buffer). */
export async function readSafetensors(file: string, opts: { fs?: CkptFs } = {}): Promise<ReadResult> {
  const h = await (opts.fs ?? nodeFs).open(file, 'r');
  try {
    const header = await readHeaderFrom(h, file, (await h.stat()).size);
    const fileHash = createHash('sha256');
    const head = new Uint8Array(header.dataStart);
    await readExact(h, head, 0, file);
    fileHash.update(head);
    const tensors: TensorMap = new Map();
    const tensorSha256 = new Map<string, string>();
    for (const t of header.tensors) {
      const data = allocate(t.dtype, numel(t.shape));
      const bytes = bytesOf(data);
      await readExact(h, bytes, t.begin, file);
      tensorSha256.set(t.name, hashChunked(bytes, createHash('sha256'), fileHash));
      tensors.set(t.name, { name: t.name, dtype: t.dtype, shape: t.shape, data });
    }
    return { tensors, metadata: header.metadata, header, sha256: fileHash.digest('hex'), tensorSha256 };
  } finally {
    await h.close();
  }
}

function hashChunked(bytes: Uint8Array, own: Hash, also: Hash): string {
  for (let o = 0; o < bytes.byteLength; o += CHUNK) {
    const c = bytes.subarray(o, Math.min(o + CHUNK, bytes.byteLength));
    own.update(c);
    also.update(c);
  }
  return own.digest('hex');
}
