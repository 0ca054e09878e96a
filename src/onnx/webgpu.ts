// WebGPU availability for this process: a hardware adapter (decided once, before the first
// WebGPU session; see adapter.ts) or any adapter including software ones (lavapipe).
import * as ort from 'onnxruntime-node';
import { packageRootOrCwd } from '../paths.js';
import { gpuDeviceNodes, onlyIcdsEnv, probeInChild, vulkanIcds, vulkanLoaderPresent } from './adapter.js';
import type { AdapterKind, VulkanIcd } from './adapter.js';
import { gpuSetupHints } from './gpu-setup.js';
import { Graph } from './graph.js';
import { encodeModel } from './model.js';

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

