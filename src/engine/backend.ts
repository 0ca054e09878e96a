// Where training state lives. The graphs are the same on every device; a Backend only decides
// session options (which outputs stay on the device) and how state moves to and from the host.
// CPU: state is plain host tensors fed zero-copy. WebGPU: `*_new` state outputs stay on the GPU
// ('gpu-buffer') and feed the next step; only metrics come back ('cpu'); host copies are made
// by Identity sessions (FACTS.md: per-output preferredOutputLocation, Identity to download).
import * as ort from 'onnxruntime-node';
import { DeviceError } from '../errors.js';
import { Graph } from '../onnx/graph.js';
import { encodeModel } from '../onnx/model.js';
import { CPU_SESSION_OPTIONS, fromOrt, toOrt } from '../onnx/session.js';
import type { DType, NamedTensor, Tensor } from '../tensor.js';
import type { AdapterKind } from '../onnx/adapter.js';
import type { LoweringTarget } from '../onnx/lower/index.js';
import { hardwareWebGpu, probeWebGpu, SOFTWARE_ADAPTER_NOTE, webGpuMissing } from '../onnx/webgpu.js';

export { hardwareWebGpu, probeWebGpu, SOFTWARE_ADAPTER_NOTE, webGpuAdapterKind, webGpuMissing } from '../onnx/webgpu.js';
export type { AdapterKind } from '../onnx/adapter.js';

export type Device = 'cpu' | 'webgpu';
export type DeviceRequest = Device | 'auto';

export interface SessionTuning {
  /** Intra-op threads (CPU EP). Default: ORT's choice. */
  threads?: number;
  /** ORT graph optimisation level (default 'all'). */
  graphOptimizationLevel?: 'disabled' | 'basic' | 'extended' | 'all';
  /**
   * WebGPU: fail session creation when any node would run on the CPU EP (ORT's
   * `session.disable_cpu_ep_fallback`) instead of running it there with host copies. Tests set
   * it; default off, so a custom op without a WebGPU kernel still trains (slowly).
   */
  noCpuFallback?: boolean;
}

export interface DownloadChunking {
  bytes: number;
  between: () => Promise<void>;
}

export interface Backend {
  readonly device: Device;
  /** WebGPU: whether the adapter is a GPU or the CPU emulating one (lavapipe); undefined on the CPU. */
  readonly adapter?: AdapterKind;
  /** The execution provider the sessions run on: graphs are lowered for it (onnx/lower). Default: `device`. */
  readonly lowering?: LoweringTarget;
  /** How a host dtype is held on the device (WebGPU: int64 as int32; lowering retypes the graphs to match). */
  deviceDType(dtype: DType): DType;
  /** Session options; `deviceOutputs` are state outputs that should stay where the state lives. */
  sessionOptions(outputs: readonly string[], deviceOutputs: ReadonlySet<string>, tuning: SessionTuning): ort.InferenceSession.SessionOptions;
  /** Places host tensors where state lives (CPU: wraps them; WebGPU: uploads once). */
  upload(tensors: readonly NamedTensor[]): Promise<Map<string, ort.Tensor>>;
  /**
   * Host copies of state tensors. `chunk`: download in groups of about `bytes` (WebGPU), awaiting
   * `between()` after each, so other work (training steps) runs in between.
   */
  download(tensors: ReadonlyMap<string, ort.Tensor>, chunk?: DownloadChunking): Promise<Map<string, Tensor>>;
  /** Frees a replaced state tensor (no-op on CPU). */
  dispose(t: ort.Tensor): void;
  release(): Promise<void>;
}

function baseOptions(tuning: SessionTuning): ort.InferenceSession.SessionOptions {
  const o: ort.InferenceSession.SessionOptions = { ...CPU_SESSION_OPTIONS, graphOptimizationLevel: tuning.graphOptimizationLevel ?? 'all' };
  if (tuning.threads) o.intraOpNumThreads = tuning.threads;
  return o;
}

/** Host tensor that owns its data (a copy, so callers may keep or edit it). */
function hostCopy(t: ort.Tensor): Tensor {
  const h = fromOrt(t);
  return { ...h, data: h.data.slice() };
}

export class CpuBackend implements Backend {
  readonly device = 'cpu' as const;
  readonly lowering: LoweringTarget = 'cpu';
  deviceDType(dtype: DType): DType {
    return dtype;
  }
  sessionOptions(_o: readonly string[], _d: ReadonlySet<string>, tuning: SessionTuning) {
    return baseOptions(tuning);
  }
  async upload(tensors: readonly NamedTensor[]) {
    return new Map(tensors.map((t) => [t.name, toOrt(t)] as [string, ort.Tensor]));
  }
  async download(tensors: ReadonlyMap<string, ort.Tensor>) {
    // Outputs are fresh JS arrays that nothing else writes; still copy so callers own their data.
    return new Map([...tensors].map(([k, v]) => [k, hostCopy(v)] as [string, Tensor]));
  }
  dispose(_t: ort.Tensor): void {}
  async release(): Promise<void> {}
}

/** Identity graph over `specs`: used to move tensors between host and GPU. */
function identityModel(specs: readonly { name: string; dtype: DType; shape: number[] }[]): Uint8Array {
  const g = new Graph('copy');
  for (const s of specs) g.output(g.op('Identity', [g.input(s.name, s.dtype, s.shape)]), `${s.name}__copy`);
  return encodeModel(g);
}

/** int64 host data as int32 (the WebGPU form), failing clearly on values outside int32. */
export function narrowInt64(t: NamedTensor | Tensor, what: string): Tensor {
  const src = t.data as BigInt64Array;
  const out = new Int32Array(src.length);
  for (let i = 0; i < src.length; i++) {
    const v = src[i];
    if (v > 2147483647n || v < -2147483648n) throw new Error(`${what}: value ${v} does not fit int32, which WebGPU holds int64 data as`);
    out[i] = Number(v);
  }
  return { dtype: 'int32', shape: [...t.shape], data: out };
}

export class WebGpuBackend implements Backend {
  readonly device = 'webgpu' as const;
  readonly lowering: LoweringTarget = 'webgpu';
  private copySessions = new Map<string, ort.InferenceSession>();
  private uploadFailed = false;

  constructor(readonly adapter: AdapterKind = 'hardware') {}

  deviceDType(dtype: DType): DType {
    return dtype === 'int64' ? 'int32' : dtype;
  }

  sessionOptions(outputs: readonly string[], deviceOutputs: ReadonlySet<string>, tuning: SessionTuning): ort.InferenceSession.SessionOptions {
    const loc: Record<string, ort.Tensor.DataLocation> = {};
    // Every output gets an explicit location: 'gpu-buffer' for all outputs aborts when a scalar is read.
    for (const o of outputs) loc[o] = deviceOutputs.has(o) ? 'gpu-buffer' : 'cpu';
    const o: ort.InferenceSession.SessionOptions = { ...baseOptions(tuning), executionProviders: ['webgpu'], preferredOutputLocation: loc };
    if (tuning.noCpuFallback) o.extra = { session: { ...(o.extra as { session?: object })?.session, 'disable_cpu_ep_fallback': '1' } };
    return o;
  }

  private async copySession(key: string, specs: { name: string; dtype: DType; shape: number[] }[], where: 'gpu-buffer' | 'cpu') {
    let s = this.copySessions.get(key);
    if (!s) {
      const loc: Record<string, ort.Tensor.DataLocation> = {};
      for (const sp of specs) loc[`${sp.name}__copy`] = where;
      s = await ort.InferenceSession.create(identityModel(specs), { executionProviders: ['webgpu'], preferredOutputLocation: loc });
      this.copySessions.set(key, s);
    }
    return s;
  }

  async upload(tensors: readonly NamedTensor[]) {
    if (!tensors.length) return new Map<string, ort.Tensor>();
    tensors = tensors.map((t) => (t.dtype === 'int64' ? { ...narrowInt64(t, t.name), name: t.name } : t));
    const feeds: Record<string, ort.Tensor> = {};
    for (const t of tensors) feeds[t.name] = toOrt(t);
    if (!this.uploadFailed) {
      try {
        const specs = tensors.map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape }));
        const s = await this.copySession(`up|${specs.map((x) => `${x.name}:${x.dtype}:${x.shape}`).join('|')}`, specs, 'gpu-buffer');
        const out = await s.run(feeds);
        return new Map(tensors.map((t) => [t.name, out[`${t.name}__copy`]] as [string, ort.Tensor]));
      } catch (e) {
        // Still correct without it: host tensors are uploaded by each run until a step replaces them.
        this.uploadFailed = true;
        console.warn(`drivetrain: uploading state to the GPU failed (${(e as Error).message}); state stays on the host until the first step`);
      }
    }
    return new Map(Object.entries(feeds));
  }

  async download(tensors: ReadonlyMap<string, ort.Tensor>, chunk?: DownloadChunking) {
    const res = new Map<string, Tensor>();
    const onGpu: [string, ort.Tensor][] = [];
    for (const [k, v] of tensors) {
      if (v.location === 'cpu') res.set(k, hostCopy(v));
      else onGpu.push([k, v]);
    }
    for (const group of chunk ? byBytes(onGpu, chunk.bytes) : [onGpu]) {
      if (!group.length) continue;
      const specs = group.map(([k, v]) => ({ name: k, dtype: fromOrtType(v.type), shape: [...v.dims] }));
      const s = await this.copySession(`down|${specs.map((x) => `${x.name}:${x.dtype}:${x.shape}`).join('|')}`, specs, 'cpu');
      const out = await s.run(Object.fromEntries(group));
      for (const [k] of group) res.set(k, fromOrt(out[`${k}__copy`]));
      if (chunk) await chunk.between();
    }
    return res;
  }

  dispose(t: ort.Tensor): void {
    if (t.location === 'gpu-buffer') t.dispose();
  }

  async release(): Promise<void> {
    for (const s of this.copySessions.values()) await s.release();
    this.copySessions.clear();
  }
}

/** Consecutive groups of about `bytes` each (a larger tensor is a group of its own). */
function byBytes(list: [string, ort.Tensor][], bytes: number): [string, ort.Tensor][][] {
  const groups: [string, ort.Tensor][][] = [[]];
  let size = 0;
  for (const e of list) {
    const b = e[1].dims.reduce((a, d) => a * d, 1) * 4;
    if (size > 0 && size + b > bytes) { groups.push([]); size = 0; }
    groups[groups.length - 1].push(e);
    size += b;
  }
  return groups;
}

function fromOrtType(t: string): DType {
  if (t === 'float32' || t === 'float16' || t === 'float64' || t === 'int64' || t === 'int32' || t === 'uint8' || t === 'bool') return t;
  throw new Error(`state tensor of unsupported type ${t}`);
}

/** Raised when WebGPU is requested but no adapter is available: a user error (the message says what to install). */
export class DeviceUnavailableError extends DeviceError {}

/**
 * Resolves 'auto' (WebGPU on a hardware adapter only, else CPU, printing which and why) and
 * checks 'webgpu' (hardware, else a software adapter, said so).
 */
export async function selectBackend(req: DeviceRequest, log: (msg: string) => void = console.log): Promise<Backend> {
  if (req === 'cpu') return new CpuBackend();
  if (req !== 'webgpu' && req !== 'auto') throw new Error(`device must be 'cpu', 'webgpu' or 'auto', got ${JSON.stringify(req)}`);
  const noHardware = await hardwareWebGpu();
  if (!noHardware) {
    const reason = await probeWebGpu();
    if (!reason) {
      log(`drivetrain: device ${req} → webgpu (hardware adapter)`);
      return new WebGpuBackend('hardware');
    }
    if (req === 'auto') {
      log(`drivetrain: device auto → cpu (WebGPU failed: ${reason})`);
      return new CpuBackend();
    }
    throw new DeviceUnavailableError(webGpuMissing(reason));
  }
  if (req === 'auto') {
    log(`drivetrain: device auto → cpu (${noHardware})`);
    return new CpuBackend();
  }
  const reason = await probeWebGpu();
  if (reason) throw new DeviceUnavailableError(webGpuMissing(`${reason}; ${noHardware}`));
  log(`drivetrain: device webgpu → ${SOFTWARE_ADAPTER_NOTE}`);
  return new WebGpuBackend('software');
}
