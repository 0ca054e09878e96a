// Writing, loading and verifying one checkpoint directory
// (tensors.safetensors + state.json + manifest.json, the manifest written last).
import { createHash, type Hash } from 'node:crypto';
import * as path from 'node:path';
import type { NamedTensor, TensorMap } from '../tensor.js';
import { CheckpointError } from './errors.js';
import { nodeFs, writeFileSynced, type CkptFs } from './fsio.js';
import {
  MANIFEST_FILE, MANIFEST_FORMAT, MANIFEST_VERSION, STATE_FILE, TENSORS_FILE, parseManifest,
  type CheckpointKind, type Manifest,
} from './manifest.js';
import { SAFETENSORS_DTYPE, readSafetensors, writeSafetensorsTo } from './safetensors.js';
import { parseTrainState, StateSchemaError, type TrainState, type TrainStateInput } from './state.js';

export interface CheckpointMeta {
  kind: CheckpointKind;
  name: string;
  metrics?: Record<string, number>;
}

/** Write all files of a checkpoint into `dir` (each fsynced; manifest.json last). */
export async function writeCheckpointFiles(
  dir: string,
  tensors: TensorMap | Iterable<NamedTensor>,
  stateIn: TrainStateInput,
  meta: CheckpointMeta,
  fs: CkptFs = nodeFs,
): Promise<Manifest> {
  const state = parseTrainState(stateIn);
  const h = await fs.open(path.join(dir, TENSORS_FILE), 'w');
  let st;
  try {
    st = await writeSafetensorsTo(h, tensors instanceof Map ? tensors.values() : tensors, { format: 'pt', writer: 'drivetrain' });
    await h.sync();
  } finally {
    await h.close();
  }
  const stateBytes = Buffer.from(JSON.stringify(state, null, 1));
  await writeFileSynced(fs, path.join(dir, STATE_FILE), stateBytes);
  const manifest: Manifest = {
    format: MANIFEST_FORMAT,
    version: MANIFEST_VERSION,
    created: new Date().toISOString(),
    kind: meta.kind,
    name: meta.name,
    epoch: state.epoch,
    stepInEpoch: state.stepInEpoch,
    globalStep: state.globalStep,
    metrics: meta.metrics ?? {},
    files: {
      [TENSORS_FILE]: { size: st.size, sha256: st.sha256 },
      [STATE_FILE]: { size: stateBytes.byteLength, sha256: sha256(stateBytes) },
    },
    header: { range: [st.header.begin, st.header.end], sha256: st.header.sha256 },
    tensors: Object.fromEntries(
      st.tensors.map((t) => [t.name, { dtype: SAFETENSORS_DTYPE[t.dtype], shape: t.shape, range: [t.begin, t.end] as [number, number], sha256: t.sha256 }]),
    ),
  };
  await writeFileSynced(fs, path.join(dir, MANIFEST_FILE), JSON.stringify(manifest, null, 1));
  return manifest;
}

export function sha256(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

async function readJson(fs: CkptFs, file: string): Promise<unknown> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new CheckpointError('MISSING_FILE', `${file} is missing`, { file });
    throw e;
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new CheckpointError('BAD_SCHEMA', `${file}: not valid JSON (${(e as Error).message})`, { file, detail: 'invalid JSON' });
  }
}

/** Read and schema-check manifest.json only. */
export async function readManifest(dir: string, fs: CkptFs = nodeFs): Promise<Manifest> {
  const file = path.join(dir, MANIFEST_FILE);
  return parseManifest(await readJson(fs, file), file);
}

/** Presence and sizes of the files listed in the manifest (cheap: stat only). */
export async function checkSizes(dir: string, m: Manifest, fs: CkptFs = nodeFs): Promise<void> {
  for (const [name, want] of Object.entries(m.files)) {
    const file = path.join(dir, name);
    let size: number;
    try {
      size = (await fs.stat(file)).size;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new CheckpointError('MISSING_FILE', `${file} is missing`, { file });
      throw e;
    }
    if (size !== want.size) throw new CheckpointError('SIZE_MISMATCH', `${file} is ${size} bytes, manifest says ${want.size}`, { file, detail: `size ${size} != ${want.size}` });
  }
  if (!m.files[TENSORS_FILE] || !m.files[STATE_FILE]) {
    const file = path.join(dir, MANIFEST_FILE);
    throw new CheckpointError('BAD_SCHEMA', `${file} does not list ${TENSORS_FILE} and ${STATE_FILE}`, { file });
  }
}

const mismatch = (file: string, what: string, got: string, want: string) =>
  new CheckpointError('HASH_MISMATCH', `${file}: ${what} sha256 ${got.slice(0, 12)}… differs from manifest ${want.slice(0, 12)}…`, { file, detail: what });

function parseState(value: unknown, file: string): TrainState {
  try {
    return parseTrainState(value, file);
  } catch (e) {
    if (e instanceof StateSchemaError) throw new CheckpointError('BAD_SCHEMA', e.message, { file, detail: e.issues });
    throw e;
  }
}

async function readState(dir: string, m: Manifest, fs: CkptFs): Promise<TrainState> {
  const file = path.join(dir, STATE_FILE);
  const bytes = await fs.readFile(file);
  const got = sha256(bytes);
  if (got !== m.files[STATE_FILE].sha256) throw mismatch(file, 'file', got, m.files[STATE_FILE].sha256);
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch (e) {
    throw new CheckpointError('BAD_SCHEMA', `${file}: not valid JSON`, { file });
  }
  return parseState(value, file);
}

/** A checkpoint's training state alone (state.json checked against the manifest), without its tensors. */
export async function loadCheckpointState(dir: string, opts: { fs?: CkptFs } = {}): Promise<TrainState> {
  const fs = opts.fs ?? nodeFs;
  return readState(dir, await readManifest(dir, fs), fs);
}

export interface LoadedCheckpoint {
  dir: string;
  tensors: TensorMap;
  state: TrainState;
  manifest: Manifest;
}

/** Load a checkpoint, verifying presence, sizes, every hash and both schemas while reading. */
export async function loadCheckpoint(dir: string, opts: { fs?: CkptFs } = {}): Promise<LoadedCheckpoint> {
  const fs = opts.fs ?? nodeFs;
  const manifest = await readManifest(dir, fs);
  await checkSizes(dir, manifest, fs);
  const file = path.join(dir, TENSORS_FILE);
  const r = await readSafetensors(file, { fs });
  for (const [name, t] of Object.entries(manifest.tensors)) {
    const got = r.tensorSha256.get(name);
    if (got === undefined) throw new CheckpointError('MISSING_FILE', `${file}: tensor ${name} listed in the manifest is absent`, { file, detail: name });
    if (got !== t.sha256) throw mismatch(file, `tensor ${name}`, got, t.sha256);
  }
  if (r.sha256 !== manifest.files[TENSORS_FILE].sha256) throw mismatch(file, 'file', r.sha256, manifest.files[TENSORS_FILE].sha256);
  if (r.tensors.size !== Object.keys(manifest.tensors).length) throw new CheckpointError('BAD_FORMAT', `${file}: has ${r.tensors.size} tensors, manifest lists ${Object.keys(manifest.tensors).length}`, { file });
  const state = await readState(dir, manifest, fs);
  return { dir, tensors: r.tensors, state, manifest };
}

/**
 * Verify a checkpoint without keeping its tensors: manifest schema, presence, sizes, the file
 * and per-tensor sha256 (streamed in 8 MiB chunks), state.json hash and schema.
 * `quick: true` checks only manifest, presence and sizes.
 */
export async function verifyCheckpoint(dir: string, opts: { fs?: CkptFs; quick?: boolean } = {}): Promise<Manifest> {
  const fs = opts.fs ?? nodeFs;
  const m = await readManifest(dir, fs);
  await checkSizes(dir, m, fs);
  if (opts.quick) return m;
  const file = path.join(dir, TENSORS_FILE);
  const ranges = Object.entries(m.tensors).map(([name, t]) => ({ name, begin: t.range[0], end: t.range[1], want: t.sha256, hash: createHash('sha256') }));
  const all = [{ name: '(header)', begin: m.header.range[0], end: m.header.range[1], want: m.header.sha256, hash: createHash('sha256') }, ...ranges];
  const fileHash = createHash('sha256');
  const h = await fs.open(file, 'r');
  try {
    const size = m.files[TENSORS_FILE].size;
    const buf = Buffer.allocUnsafe(8 * 1024 * 1024);
    for (let pos = 0; pos < size; ) {
      const { bytesRead } = await h.read(buf, 0, Math.min(buf.length, size - pos), pos);
      if (bytesRead === 0) throw new CheckpointError('SIZE_MISMATCH', `${file}: ends at ${pos}, manifest says ${size}`, { file });
      const chunk = buf.subarray(0, bytesRead);
      fileHash.update(chunk);
      feedRanges(all, chunk, pos);
      pos += bytesRead;
    }
  } finally {
    await h.close();
  }
  for (const r of all) {
    const d = r.hash.digest('hex');
    if (d !== r.want) throw mismatch(file, r.name === '(header)' ? 'header' : `tensor ${r.name}`, d, r.want);
  }
  const got = fileHash.digest('hex');
  if (got !== m.files[TENSORS_FILE].sha256) throw mismatch(file, 'file', got, m.files[TENSORS_FILE].sha256);
  await readState(dir, m, fs);
  return m;
}

/** Feed the part of `chunk` (file bytes from `pos`) that falls in each [begin, end) range to its hash. */
export function feedRanges(ranges: { begin: number; end: number; hash: Hash }[], chunk: Uint8Array, pos: number): void {
  const end = pos + chunk.byteLength;
  for (const r of ranges) {
    const a = Math.max(r.begin, pos);
    const b = Math.min(r.end, end);
    if (a < b) r.hash.update(chunk.subarray(a - pos, b - pos));
  }
}
