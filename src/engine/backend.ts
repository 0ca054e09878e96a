// Where training state lives. The graphs are the same on every device; a Backend only decides
// session options (which outputs stay on the device) and how state moves to and from the host.
// CPU: state is plain host tensors fed zero-copy. WebGPU: `*_new` state outputs stay on the GPU
// ('gpu-buffer') and feed the next step; only metrics come back ('cpu'); host copies are made
// by Identity sessions (FACTS.md: per-output preferredOutputLocation, Identity to download).
import * as ort from 'onnxruntime-node';
import { packageRootOrCwd } from '../paths.js';
import { Graph } from '../onnx/graph.js';
import { encodeModel } from '../onnx/model.js';
import { CPU_SESSION_OPTIONS, fromOrt, toOrt } from '../onnx/session.js';
import type { DType, NamedTensor, Tensor } from '../tensor.js';
import { gpuDeviceNodes, onlyIcdsEnv, probeInChild, vulkanIcds, vulkanLoaderPresent } from './adapter.js';
import type { AdapterKind, VulkanIcd } from './adapter.js';
import { gpuSetupHints } from './gpu-setup.js';

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

export interface Backend {
  readonly device: Device;
  /** WebGPU: whether the adapter is a GPU or the CPU emulating one (lavapipe); undefined on the CPU. */
  readonly adapter?: AdapterKind;
  /** How a host dtype is held on the device (WebGPU: int64 as int32; lowering retypes the graphs to match). */
  deviceDType(dtype: DType): DType;
  /** Session options; `deviceOutputs` are state outputs that should stay where the state lives. */
  sessionOptions(outputs: readonly string[], deviceOutputs: ReadonlySet<string>, tuning: SessionTuning): ort.InferenceSession.SessionOptions;
  /** Places host tensors where state lives (CPU: wraps them; WebGPU: uploads once). */
  upload(tensors: readonly NamedTensor[]): Promise<Map<string, ort.Tensor>>;
  /** Host copies of state tensors. */
  download(tensors: ReadonlyMap<string, ort.Tensor>): Promise<Map<string, Tensor>>;
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

  async download(tensors: ReadonlyMap<string, ort.Tensor>) {
    const res = new Map<string, Tensor>();
    const onGpu: [string, ort.Tensor][] = [];
    for (const [k, v] of tensors) {
      if (v.location === 'cpu') res.set(k, hostCopy(v));
      else onGpu.push([k, v]);
    }
    if (onGpu.length) {
      const specs = onGpu.map(([k, v]) => ({ name: k, dtype: fromOrtType(v.type), shape: [...v.dims] }));
      const s = await this.copySession(`down|${specs.map((x) => `${x.name}:${x.dtype}:${x.shape}`).join('|')}`, specs, 'cpu');
      const out = await s.run(Object.fromEntries(onGpu));
      for (const [k] of onGpu) res.set(k, fromOrt(out[`${k}__copy`]));
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

function fromOrtType(t: string): DType {
  if (t === 'float32' || t === 'float16' || t === 'float64' || t === 'int64' || t === 'int32' || t === 'uint8' || t === 'bool') return t;
  throw new Error(`state tensor of unsupported type ${t}`);
}

/** Raised when WebGPU is requested but no adapter is available. */
export class DeviceUnavailableError extends Error {}

const names = (icds: readonly VulkanIcd[]) => icds.map((i) => i.file.split('/').pop()).join(', ');

function probeModel(): Uint8Array {
  const g = new Graph('probe');
  g.output(g.op('Relu', [g.input('x', 'float32', [1])]), 'y');
  return encodeModel(g);
}

let hardware: Promise<string | undefined> | undefined;

/**
 * Whether a hardware WebGPU adapter works (undefined) or why not, decided once per process before
 * its first WebGPU session (adapter.ts). When one works, the software Vulkan drivers are hidden
 * from this process, so every WebGPU session here runs on the GPU.
 */
export function hardwareWebGpu(): Promise<string | undefined> {
  hardware ??= (async () => {
    if (!vulkanLoaderPresent()) return 'the Vulkan loader libvulkan.so.1 is not installed';
    const icds = vulkanIcds();
    const hw = icds.filter((i) => !i.software), sw = icds.filter((i) => i.software);
    const only = sw.length ? ` (only the software Vulkan driver ${names(sw)} is usable: 'auto' never picks it; ask for device 'webgpu' to run on it for tests)` : '';
    if (!hw.length) return `no GPU Vulkan driver (ICD) is installed${only}`;
    const nodes = gpuDeviceNodes();
    if (!nodes.length) return `no GPU device (/dev/nvidia*, /dev/dri/renderD*, /dev/dxg)${only}`;
    const why = probeInChild(Buffer.from(probeModel()).toString('base64'), hw, packageRootOrCwd());
    if (why) return `the GPU's Vulkan driver (${names(hw)}) gives no WebGPU adapter: ${why}${only}`;
    if (sw.length) Object.assign(process.env, onlyIcdsEnv(hw)); // Dawn must not pick lavapipe in this process
    return undefined;
  })();
  return hardware;
}

let probe: Promise<string | undefined> | undefined;

/**
 * Tries a tiny WebGPU session once per process, software adapters included (after the hardware
 * decision, so a GPU wins when there is one); resolves to undefined when an adapter works, else
 * the reason. {@link webGpuAdapterKind} says which kind it is.
 */
export function probeWebGpu(): Promise<string | undefined> {
  probe ??= (async () => {
    // No GPU: any adapter found is lavapipe, whose shader compiles (the first run of every kernel,
    // up to ~13 s each) are 2.5-5x faster with 128-bit vectors (measured; runs are no slower).
    if (await hardwareWebGpu()) process.env.LP_NATIVE_VECTOR_WIDTH ??= '128';
    try {
      const s = await ort.InferenceSession.create(probeModel(), { executionProviders: ['webgpu'] });
      await s.release();
      return undefined;
    } catch (e) {
      const msg = String((e as Error)?.message ?? e);
      const adapter = /Failed to get a WebGPU adapter[^\n]*/.exec(msg)?.[0];
      return adapter ?? (msg.split('\n').map((l) => l.trim()).filter(Boolean).pop() || 'creating a WebGPU session failed');
    }
  })();
  return probe;
}

/** 'hardware' / 'software' when a WebGPU adapter works in this process, else undefined. */
export async function webGpuAdapterKind(): Promise<AdapterKind | undefined> {
  if (await probeWebGpu()) return undefined;
  return (await hardwareWebGpu()) ? 'software' : 'hardware';
}

/** What is missing for WebGPU on this host, in words a user can act on. */
export function webGpuMissing(reason: string): string {
  return `WebGPU is not available: ${reason}. Missing: ${gpuSetupHints().join('; ')}. Use device: 'cpu' (or 'auto' to fall back).`;
}

export const SOFTWARE_ADAPTER_NOTE = 'a software adapter (the CPU emulates the GPU, e.g. Mesa lavapipe): for correctness tests only, timings mean nothing';

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
