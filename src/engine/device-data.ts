// Device-resident training data. The whole dataset is placed once where the state lives and each
// step selects its rows by index with a Gather inside the train-step graph, so a step uploads only
// the index vector. Datasets over the budget are "streamed": the step's rows are gathered on the
// host in their compact encoding and fed with the step (converted to float inside the graph).
//
// Encodings (chosen per column and device; the graph decodes them, so both placements and both
// devices compute the same values):
// - 'native': the column as it is (float32, int32, uint8/int64 on the CPU EP).
// - 'int32': int64 columns (labels) as int32 on WebGPU, cast back to int64 in the graph — the
//   WebGPU EP has no int64 Gather (webgpu_supported_types.h: float, float16, int32, uint32).
// - 'bytes3': uint8 columns packed 3 bytes per int32 word on WebGPU, unpacked with exact float
//   arithmetic (values < 2^24; scaling by powers of two is exact) — the WebGPU EP has no uint8
//   Gather/Cast and no integer bit ops, so this uses only Gather(int32), Cast(int32→float), Floor,
//   Mul, Sub.
import type * as ort from 'onnxruntime-node';
import type { Graph } from '../onnx/graph.js';
import { toOrt } from '../onnx/session.js';
import type { DType, Tensor, TensorMap, TypedArray } from '../tensor.js';
import { BYTES_PER_ELEMENT, numel } from '../tensor.js';
import type { Backend, Device } from './backend.js';
import type { InputSpec } from './graphs.js';
import { DataType } from '../onnx/dtypes.js';

export type Encoding = 'native' | 'int32' | 'bytes3';
export type DataPlacement = 'resident' | 'streamed';

export interface DeviceDataOptions {
  /** The whole dataset by batch-input name, each [N, ...per-sample shape] (same N for all). */
  tensors: TensorMap | Record<string, Tensor>;
  /** Per input: value * scale + shift, computed in float32 on the device (e.g. uint8 pixels → [0, 1]). */
  transform?: Record<string, { scale: number; shift?: number }>;
  /** Largest encoded dataset kept on the device under 'auto' (default 1 GiB). */
  budgetBytes?: number;
  /**
   * 'auto' (default): resident when the encoded dataset fits budgetBytes, else streamed — on the
   * CPU EP the default is {@link CPU_DEFAULT_PLACEMENT} (measured, see bench/gpu.ts).
   */
  placement?: 'auto' | DataPlacement;
  /** Force an encoding for every uint8/int64 column (tests: 'device' runs the WebGPU encodings on the CPU). */
  encodings?: 'device' | 'native';
}

/**
 * CPU default for placement 'auto'. On the CPU EP a resident dataset is fed zero-copy and the
 * Gather + Cast run inside ORT; measured on the 2-core CI machine (bench/gpu.ts, "CPU data
 * placement"): resident was no slower than host-gathered float batches, so it is the default.
 */
export const CPU_DEFAULT_PLACEMENT: DataPlacement = 'resident';
export const DEFAULT_BUDGET_BYTES = 1 << 30;
export const INDEX_INPUT = 'batch_indices';

interface ColumnPlan {
  name: string;
  /** The declared engine input (what the model / loss sees). */
  target: { dtype: DType; shape: number[] };
  raw: Tensor;
  encoding: Encoding;
  /** Encoded per-sample row: dtype and length (flattened). */
  enc: { dtype: DType; width: number };
  transform?: { scale: number; shift: number };
}

const MAX_SAFE_ROWS = 2 ** 31 - 1;

function chooseEncoding(raw: DType, device: Device, force?: 'device' | 'native'): Encoding {
  const deviceLike = force ? force === 'device' : device === 'webgpu';
  if (!deviceLike) return 'native';
  if (raw === 'uint8') return 'bytes3';
  if (raw === 'int64') return 'int32';
  return 'native';
}

/** Validates the dataset against the engine inputs and plans each column's encoding. */
export function planColumns(opts: DeviceDataOptions, inputs: Record<string, InputSpec>, names: readonly string[], device: Device): { columns: ColumnPlan[]; rows: number; bytes: number } {
  const tensors = opts.tensors instanceof Map ? Object.fromEntries(opts.tensors) : opts.tensors;
  if (!tensors || typeof tensors !== 'object') throw new Error('data.tensors must be the whole dataset by input name, e.g. { x: [N, 784] uint8, y: [N] int64 }');
  for (const k of Object.keys(opts.transform ?? {})) if (!names.includes(k)) throw new Error(`data.transform.${k}: the engine reads no batch input "${k}" (it reads ${names.join(', ')})`);
  let rows = -1;
  let bytes = 0;
  const columns: ColumnPlan[] = [];
  for (const name of names) {
    const raw = tensors[name];
    const spec = inputs[name];
    const want = { dtype: spec.dtype ?? 'float32', shape: spec.shape };
    if (!raw) throw new Error(`data.tensors has no "${name}" (the step reads ${names.join(', ')}; it has ${Object.keys(tensors).join(', ') || 'nothing'})`);
    const per = raw.shape.slice(1);
    if (raw.shape.length !== want.shape.length + 1 || per.some((d, i) => d !== want.shape[i])) {
      throw new Error(`data.tensors.${name} has shape [${raw.shape}]; expected [N, ${want.shape.join(', ')}] for input "${name}"`);
    }
    if (raw.data.length !== numel(raw.shape)) throw new Error(`data.tensors.${name}: ${raw.data.length} values for shape [${raw.shape}]`);
    if (rows >= 0 && raw.shape[0] !== rows) throw new Error(`data.tensors disagree on the number of samples: "${name}" has ${raw.shape[0]}, others ${rows}`);
    rows = raw.shape[0];
    const t = opts.transform?.[name];
    if (t) {
      if (want.dtype !== 'float32') throw new Error(`data.transform.${name}: input "${name}" is ${want.dtype}; a transform produces float32`);
      if (!Number.isFinite(t.scale) || !Number.isFinite(t.shift ?? 0)) throw new Error(`data.transform.${name}: scale and shift must be finite numbers`);
      if (!['uint8', 'int32', 'float32'].includes(raw.dtype)) throw new Error(`data.tensors.${name} is ${raw.dtype}; a transform takes uint8, int32 or float32 data`);
    } else if (raw.dtype !== want.dtype) {
      throw new Error(`data.tensors.${name} is ${raw.dtype} but input "${name}" is ${want.dtype}; convert it or give data.transform.${name} = { scale, shift }`);
    }
    let encoding = chooseEncoding(raw.dtype, device, opts.encodings);
    if (encoding === 'bytes3' && !t) encoding = 'native'; // a uint8 input the model reads as uint8 (CPU-EP ops only)
    const width = numel(want.shape);
    const enc = encoding === 'bytes3' ? { dtype: 'int32' as const, width: Math.ceil(width / 3) }
      : encoding === 'int32' ? { dtype: 'int32' as const, width } : { dtype: raw.dtype, width };
    bytes += rows * enc.width * BYTES_PER_ELEMENT[enc.dtype];
    columns.push({ name, target: want, raw, encoding, enc, transform: t ? { scale: t.scale, shift: t.shift ?? 0 } : undefined });
  }
  if (rows < 1) throw new Error('data.tensors: the dataset is empty');
  if (rows > MAX_SAFE_ROWS) throw new Error(`data.tensors: ${rows} samples exceeds the int32 index range`);
  return { columns, rows, bytes };
}

/** Encodes rows `indices` (or all rows) of a column into its device encoding. */
export function encodeRows(c: ColumnPlan, indices?: Int32Array): Tensor {
  const per = numel(c.target.shape);
  const n = indices ? indices.length : c.raw.shape[0];
  const src = c.raw.data;
  const row = (k: number) => (indices ? indices[k] : k);
  if (c.encoding === 'native') {
    if (!indices) return { dtype: c.raw.dtype, shape: [...c.raw.shape], data: src };
    const out = new (src.constructor as { new (n: number): TypedArray })(n * per);
    for (let k = 0; k < n; k++) (out as Uint8Array).set((src as Uint8Array).subarray(row(k) * per, (row(k) + 1) * per), k * per);
    return { dtype: c.raw.dtype, shape: [n, ...c.target.shape], data: out };
  }
  const out = new Int32Array(n * c.enc.width);
  if (c.encoding === 'int32') {
    const s = src as BigInt64Array;
    for (let k = 0; k < n; k++) for (let j = 0; j < per; j++) {
      const v = s[row(k) * per + j];
      if (v > 2147483647n || v < -2147483648n) throw new Error(`data.tensors.${c.name}: value ${v} does not fit int32 (needed on WebGPU, which has no int64 Gather)`);
      out[k * per + j] = Number(v);
    }
  } else {
    const s = src as Uint8Array;
    const w = c.enc.width;
    for (let k = 0; k < n; k++) {
      const base = row(k) * per;
      for (let j = 0; j < per; j++) out[k * w + ((j / 3) | 0)] += s[base + j] * (j % 3 === 0 ? 1 : j % 3 === 1 ? 256 : 65536);
    }
  }
  return { dtype: 'int32', shape: [n, c.enc.width], data: out };
}

/** Graph value of the declared input from an encoded [b, width] (or [b, ...shape]) value. */
export function decodeInGraph(g: Graph, c: ColumnPlan, encoded: string, b: number): string {
  const s = { scope: `data_${c.name}` };
  const f = (v: number) => g.constant(v, 'float32');
  let v = encoded;
  if (c.encoding === 'bytes3') {
    const w = g.op('Cast', [encoded], { to: DataType.FLOAT }, s); // int32 words < 2^24: exact in float32
    // Multiplying by 2^-16 / 2^-8 (not Div: WGSL f32 division may be off by 2.5 ULP) keeps every
    // intermediate an exact float, so Floor is exact on any device, with or without FMA.
    const hi = g.op('Floor', [g.op('Mul', [w, f(2 ** -16)], {}, s)], {}, s);
    const rest = g.op('Sub', [w, g.op('Mul', [hi, f(65536)], {}, s)], {}, s);
    const mid = g.op('Floor', [g.op('Mul', [rest, f(2 ** -8)], {}, s)], {}, s);
    const lo = g.op('Sub', [rest, g.op('Mul', [mid, f(256)], {}, s)], {}, s);
    const parts = [lo, mid, hi].map((p) => g.op('Unsqueeze', [p, g.ints([2])], {}, s));
    const bytes = g.op('Reshape', [g.op('Concat', parts, { axis: 2 }, s), g.ints([b, c.enc.width * 3])], {}, s);
    const per = numel(c.target.shape);
    const trimmed = per === c.enc.width * 3 ? bytes : g.op('Slice', [bytes, g.ints([0]), g.ints([per]), g.ints([1])], {}, s);
    v = g.op('Reshape', [trimmed, g.ints([b, ...c.target.shape])], {}, s);
  } else {
    if (c.encoding === 'int32' && !c.transform) v = g.op('Cast', [v], { to: DataType.INT64 }, s); // back to int64
    else if (g.dtype(v) !== 'float32' && c.transform) v = g.op('Cast', [v], { to: DataType.FLOAT }, s);
    if (g.shape(v).length !== c.target.shape.length + 1) v = g.op('Reshape', [v, g.ints([b, ...c.target.shape])], {}, s);
  }
  if (c.transform) {
    if (c.transform.scale !== 1) v = g.op('Mul', [v, f(c.transform.scale)], {}, s);
    if (c.transform.shift !== 0) v = g.op('Add', [v, f(c.transform.shift)], {}, s);
  }
  return v;
}

/** Host copy of the batch the graph computes for `indices` (float32 arithmetic like the device). */
export function hostBatch(opts: DeviceDataOptions, inputs: Record<string, InputSpec>, indices: ArrayLike<number>): Record<string, Tensor> {
  const has = (n: string) => (opts.tensors instanceof Map ? opts.tensors.has(n) : n in opts.tensors);
  const { columns } = planColumns({ ...opts, encodings: 'native' }, inputs, Object.keys(inputs).filter(has), 'cpu');
  const idx = Int32Array.from(indices);
  const out: Record<string, Tensor> = {};
  for (const c of columns) {
    const e = encodeRows(c, idx);
    if (!c.transform) { out[c.name] = e; continue; }
    const { scale, shift } = c.transform;
    const fs = Math.fround(scale), fh = Math.fround(shift);
    const d = new Float32Array(e.data.length);
    for (let i = 0; i < d.length; i++) {
      let x = Math.fround(Number(e.data[i]));
      if (scale !== 1) x = Math.fround(x * fs);
      if (shift !== 0) x = Math.fround(x + fh);
      d[i] = x;
    }
    out[c.name] = { dtype: 'float32', shape: e.shape, data: d };
  }
  return out;
}

/** Converts and checks step indices (int32 on every device; WebGPU has no int64 Gather). */
export function toIndexArray(indices: Int32Array | BigInt64Array | ArrayLike<number>, rows: number, what = 'stepIndices'): Int32Array {
  const out = indices instanceof Int32Array ? indices : Int32Array.from(indices as ArrayLike<number | bigint>, (v) => Number(v));
  for (let k = 0; k < out.length; k++) {
    const i = out[k];
    if (!(i >= 0 && i < rows) || Number(indices[k]) !== i) throw new RangeError(`${what}: index ${indices[k]} at position ${k} is outside the dataset (0 … ${rows - 1})`);
  }
  return out;
}

/** The dataset placed for the engine: makes the batch inputs of graphs and feeds them per step. */
export class DeviceData {
  /** Resident columns by feed name (`data.<input>`), fed as they are every step. */
  private placed: Record<string, ort.Tensor> = {};

  private constructor(
    readonly placement: DataPlacement,
    readonly columns: ColumnPlan[],
    readonly rows: number,
    readonly bytes: number,
    private readonly backend: Backend,
  ) {}

  static async create(opts: DeviceDataOptions, inputs: Record<string, InputSpec>, names: readonly string[], backend: Backend, log: (m: string) => void = console.log): Promise<DeviceData> {
    const { columns, rows, bytes } = planColumns(opts, inputs, names, backend.device);
    const budget = opts.budgetBytes ?? DEFAULT_BUDGET_BYTES;
    if (!(budget >= 0)) throw new Error(`data.budgetBytes must be a number >= 0, got ${opts.budgetBytes}`);
    const req = opts.placement ?? 'auto';
    if (!['auto', 'resident', 'streamed'].includes(req)) throw new Error(`data.placement must be 'auto', 'resident' or 'streamed', got ${JSON.stringify(req)}`);
    let placement: DataPlacement = req === 'auto' ? (backend.device === 'cpu' ? CPU_DEFAULT_PLACEMENT : bytes <= budget ? 'resident' : 'streamed') : req;
    const d = new DeviceData(placement, columns, rows, bytes, backend);
    if (placement === 'resident') {
      const enc = columns.map((c) => ({ ...encodeRows(c), name: `data.${c.name}` }));
      const up = await backend.upload(enc);
      if (backend.device !== 'cpu' && [...up.values()].some((t) => t.location === 'cpu')) {
        log(`drivetrain: the dataset (${mb(bytes)}) could not be kept on the GPU; batches are streamed instead`);
        for (const t of up.values()) backend.dispose(t);
        placement = 'streamed';
        return new DeviceData(placement, columns, rows, bytes, backend);
      }
      d.placed = Object.fromEntries(up);
    }
    if (backend.device !== 'cpu') log(`drivetrain: data ${placement} (${mb(bytes)} encoded, budget ${mb(budget)})`);
    return d;
  }

  /** Builds batch input `name` for a graph of batch size b. */
  source(g: Graph, name: string, b: number): string {
    const c = this.columns.find((x) => x.name === name);
    if (!c) throw new Error(`no data column for input "${name}"`);
    let enc: string;
    const encShape = c.encoding === 'native' ? [...c.raw.shape.slice(1)] : [c.enc.width];
    if (this.placement === 'resident') {
      const idx = g.values.has(INDEX_INPUT) ? INDEX_INPUT : g.input(INDEX_INPUT, 'int32', [b]);
      const data = g.input(`data.${name}`, c.enc.dtype, [this.rows, ...encShape]);
      enc = g.op('Gather', [data, idx], { axis: 0 }, { scope: `data_${name}` });
    } else enc = g.input(`enc.${name}`, c.enc.dtype, [b, ...encShape]);
    return decodeInGraph(g, c, enc, b);
  }

  /** Session feeds for the step's rows. */
  feeds(indices: Int32Array): Record<string, ort.Tensor> {
    if (this.placement === 'resident') return { ...this.placed, [INDEX_INPUT]: toOrt({ dtype: 'int32', shape: [indices.length], data: indices }) };
    const f: Record<string, ort.Tensor> = {};
    for (const c of this.columns) f[`enc.${c.name}`] = toOrt(encodeRows(c, indices));
    return f;
  }

  /** Live device tensors held for the dataset. */
  get liveTensors(): number {
    return Object.keys(this.placed).length;
  }

  dispose(): void {
    for (const t of Object.values(this.placed)) this.backend.dispose(t);
    this.placed = {};
  }
}

function mb(n: number): string {
  return `${(n / 2 ** 20).toFixed(1)} MiB`;
}
