// `drivetrain doctor`: what device training would use here and why, which WebGPU adapter this
// host has (hardware or software), the driver pieces found, and what is missing with the command
// that installs it. Shared by the CLI and the notebook status cell.
import { gpuDeviceNodes, vulkanIcds, vulkanLoaderPresent } from '../onnx/adapter.js';
import type { AdapterKind, VulkanIcd } from '../onnx/adapter.js';
import { gpuSetupHints, NVIDIA_ICD, nvidiaInfo, nvidiaVulkanPackages } from '../onnx/gpu-setup.js';
import type { NvidiaInfo } from '../onnx/gpu-setup.js';
import { hardwareWebGpu, probeWebGpu, webGpuAdapterKind } from '../onnx/webgpu.js';

export interface DeviceReport {
  /** What device 'auto' picks, and why when it is the CPU. */
  auto: { device: 'cpu' | 'webgpu'; reason?: string };
  /** Whether device 'webgpu' works, on which kind of adapter. */
  webgpu: { adapter?: AdapterKind; reason?: string };
  vulkanLoader: boolean;
  icds: VulkanIcd[];
  nvidia?: NvidiaInfo;
  gpuDevices: string[];
  /** Missing pieces, in words (empty when WebGPU runs on a GPU). */
  missing: string[];
  /** The command that installs what is missing, when there is one. */
  fix?: string;
}

export async function deviceReport(): Promise<DeviceReport> {
  const noHardware = await hardwareWebGpu();
  const noAdapter = await probeWebGpu();
  const adapter = await webGpuAdapterKind();
  const icds = vulkanIcds();
  const nvidia = nvidiaInfo();
  const r: DeviceReport = {
    auto: noHardware || noAdapter ? { device: 'cpu', reason: noHardware ?? noAdapter } : { device: 'webgpu' },
    webgpu: adapter ? { adapter } : { reason: noAdapter },
    vulkanLoader: vulkanLoaderPresent(), icds, nvidia, gpuDevices: gpuDeviceNodes(),
    missing: adapter === 'hardware' ? [] : gpuSetupHints(),
  };
  if (nvidia && !icds.some((i) => NVIDIA_ICD.test(i.file) || NVIDIA_ICD.test(i.library))) r.fix = `apt-get install -y --no-install-recommends ${nvidiaVulkanPackages(nvidia).join(' ')}   (or: make setup)`;
  else if (!adapter) r.fix = 'make setup   (installs the Vulkan loader and, without a GPU, Mesa\'s software Vulkan driver)';
  return r;
}

/** One line for status tables. */
export function describeWebGpu(r: DeviceReport): string {
  if (r.webgpu.adapter === 'hardware') return "GPU adapter: device 'auto' and 'webgpu' train on the GPU";
  if (r.webgpu.adapter === 'software') return "software adapter only (the CPU emulates a GPU): 'auto' uses the CPU; 'webgpu' runs on it for tests";
  return `not available, the CPU is used (${r.webgpu.reason})`;
}

export function formatDeviceReport(r: DeviceReport): string {
  const icd = (i: VulkanIcd) => `${i.file} → ${i.library}${i.software ? ' (software)' : ''}`;
  const rows: [string, string][] = [
    ["device 'auto'", r.auto.device === 'webgpu' ? 'webgpu (hardware adapter)' : `cpu — ${r.auto.reason}`],
    ["device 'webgpu'", r.webgpu.adapter ? `works on a ${r.webgpu.adapter} adapter${r.webgpu.adapter === 'software' ? ' (correctness tests only; timings mean nothing)' : ''}` : `fails: ${r.webgpu.reason}`],
    ['adapter', r.webgpu.adapter ?? 'none'],
    ['Vulkan loader', r.vulkanLoader ? 'libvulkan.so.1 found' : 'missing (libvulkan1)'],
    ['Vulkan drivers', r.icds.length ? r.icds.map(icd).join('\n                  ') : 'none (no ICD manifest in the Vulkan search folders)'],
    ['NVIDIA driver', r.nvidia ? `${r.nvidia.driver} (${r.nvidia.gpus.join(', ')})` : 'not found (nvidia-smi missing or failing)'],
    ['GPU devices', r.gpuDevices.join(', ') || 'none'],
    ['missing', r.missing.length ? r.missing.join('\n                  ') : 'nothing'],
  ];
  if (r.fix) rows.push(['fix', r.fix]);
  return ['drivetrain doctor', ...rows.map(([k, v]) => `  ${k.padEnd(16)}${v}`)].join('\n');
}
