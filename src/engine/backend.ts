// Where training state lives. The graphs are the same on every device; a Backend only decides
// session options (which outputs stay on the device) and how state moves to and from the host.
// CPU: state is plain host tensors fed zero-copy. WebGPU: `*_new` state outputs stay on the GPU
// ('gpu-buffer') and feed the next step; only metrics come back ('cpu'); host copies are made
// by Identity sessions (FACTS.md: per-output preferredOutputLocation, Identity to download).
import { existsSync, readdirSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { Graph } from '../onnx/graph.js';
import { encodeModel } from '../onnx/model.js';
import { CPU_SESSION_OPTIONS, fromOrt, toOrt } from '../onnx/session.js';
import type { DType, NamedTensor, Tensor } from '../tensor.js';

export type Device = 'cpu' | 'webgpu';
export type DeviceRequest = Device | 'auto';

export interface SessionTuning {
  /** Intra-op threads (CPU EP). Default: ORT's choice. */
  threads?: number;
  /** ORT graph optimisation level (default 'all'). */
  graphOptimizationLevel?: 'disabled' | 'basic' | 'extended' | 'all';
}

export interface Backend {
  readonly device: Device;
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

export class WebGpuBackend implements Backend {
  readonly device = 'webgpu' as const;
  private copySessions = new Map<string, ort.InferenceSession>();
  private uploadFailed = false;

  sessionOptions(outputs: readonly string[], deviceOutputs: ReadonlySet<string>, tuning: SessionTuning): ort.InferenceSession.SessionOptions {
    const loc: Record<string, ort.Tensor.DataLocation> = {};
    // Every output gets an explicit location: 'gpu-buffer' for all outputs aborts when a scalar is read.
    for (const o of outputs) loc[o] = deviceOutputs.has(o) ? 'gpu-buffer' : 'cpu';
    const o: ort.InferenceSession.SessionOptions = { ...baseOptions(tuning), executionProviders: ['webgpu'], preferredOutputLocation: loc };
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

function vulkanLoaderPresent(): boolean {
  const dirs = ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib', '/usr/local/lib',
    ...(process.env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean)];
  return dirs.some((d) => existsSync(`${d}/libvulkan.so.1`));
}

function gpuDeviceNodes(): string[] {
  const found: string[] = [];
  try { found.push(...readdirSync('/dev').filter((f) => /^nvidia\d+$/.test(f)).map((f) => `/dev/${f}`)); } catch { /* no /dev */ }
  try { found.push(...readdirSync('/dev/dri').filter((f) => f.startsWith('renderD')).map((f) => `/dev/dri/${f}`)); } catch { /* none */ }
  return found;
}

let probe: Promise<string | undefined> | undefined;

/** Tries a tiny WebGPU session once per process; resolves to undefined when an adapter works, else the reason. */
export function probeWebGpu(): Promise<string | undefined> {
  probe ??= (async () => {
    const g = new Graph('probe');
    g.output(g.op('Relu', [g.input('x', 'float32', [1])]), 'y');
    try {
      const s = await ort.InferenceSession.create(encodeModel(g), { executionProviders: ['webgpu'] });
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

/** What is missing for WebGPU on this host, in words a user can act on. */
export function webGpuMissing(reason: string): string {
  const parts: string[] = [];
  if (!vulkanLoaderPresent()) parts.push('the Vulkan loader libvulkan.so.1 is not installed (Debian/Ubuntu: apt-get install libvulkan1)');
  const nodes = gpuDeviceNodes();
  if (!nodes.length) parts.push('no GPU driver device was found (/dev/nvidia0 or /dev/dri/renderD*): install the GPU driver with its Vulkan ICD (NVIDIA: the driver\'s libnvidia-vulkan / nvidia_icd.json)');
  else parts.push(`GPU device nodes exist (${nodes.join(', ')}); check that the driver's Vulkan ICD is installed (vulkaninfo --summary)`);
  return `WebGPU is not available: ${reason}. Missing: ${parts.join('; ')}. Use device: 'cpu' (or 'auto' to fall back).`;
}

/** Resolves 'auto' (WebGPU when an adapter exists, else CPU, printing which) and checks 'webgpu'. */
export async function selectBackend(req: DeviceRequest, log: (msg: string) => void = console.log): Promise<Backend> {
  if (req === 'cpu') return new CpuBackend();
  if (req !== 'webgpu' && req !== 'auto') throw new Error(`device must be 'cpu', 'webgpu' or 'auto', got ${JSON.stringify(req)}`);
  const reason = await probeWebGpu();
  if (!reason) {
    if (req === 'auto') log('drivetrain: device auto → webgpu (WebGPU adapter found)');
    return new WebGpuBackend();
  }
  if (req === 'webgpu') throw new DeviceUnavailableError(webGpuMissing(reason));
  log(`drivetrain: device auto → cpu (${reason})`);
  return new CpuBackend();
}
