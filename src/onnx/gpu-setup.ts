// What a host lacks for WebGPU, in words and commands a user can act on: the Vulkan loader, the
// NVIDIA driver's Vulkan ICD (hosted notebooks ship the driver without it: libnvidia-gl-<major>
// matches the driver), or, for tests without a GPU, a software Vulkan driver (Mesa lavapipe; on
// Debian 12 from bookworm-backports, since bookworm's Mesa 22.3 is too old for Dawn).
import { spawnSync } from 'node:child_process';
import { gpuDeviceNodes, vulkanIcds, vulkanLoaderPresent } from './adapter.js';

export interface NvidiaInfo {
  /** e.g. "550.54.15" */
  driver: string;
  major: number;
  gpus: string[];
}

/** The NVIDIA driver as nvidia-smi reports it, or undefined (no nvidia-smi, or it fails). */
export function nvidiaInfo(): NvidiaInfo | undefined {
  const r = spawnSync('nvidia-smi', ['--query-gpu=name,driver_version', '--format=csv,noheader'], { encoding: 'utf8', timeout: 20_000 });
  if (r.error || r.status !== 0) return undefined;
  const rows = r.stdout.trim().split('\n').map((l) => l.split(',').map((x) => x.trim())).filter((x) => x.length >= 2);
  if (!rows.length) return undefined;
  const driver = rows[0][1];
  return { driver, major: Number.parseInt(driver, 10), gpus: rows.map((x) => x[0]) };
}

export const NVIDIA_ICD = /nvidia/i;

/** The apt packages that give an NVIDIA host its Vulkan userland. */
export function nvidiaVulkanPackages(nv: NvidiaInfo): string[] {
  return ['libvulkan1', `libnvidia-gl-${nv.major}`];
}

/** What is missing, one item per piece (empty when nothing obvious is). */
export function gpuSetupHints(): string[] {
  const hints: string[] = [];
  if (!vulkanLoaderPresent()) hints.push('the Vulkan loader libvulkan.so.1 (Debian/Ubuntu: apt-get install libvulkan1)');
  const icds = vulkanIcds();
  const nv = nvidiaInfo();
  if (nv && !icds.some((i) => NVIDIA_ICD.test(i.file) || NVIDIA_ICD.test(i.library))) {
    hints.push(`the NVIDIA driver's Vulkan ICD (driver ${nv.driver}: apt-get install ${nvidiaVulkanPackages(nv).join(' ')}, which \`make setup\` does)`);
  }
  if (!nv && !gpuDeviceNodes().length) hints.push('a GPU: no /dev/nvidia*, /dev/dri/renderD* or /dev/dxg on this host');
  if (!icds.some((i) => i.software)) hints.push("for tests without a GPU, a software Vulkan driver (Debian 12: mesa-vulkan-drivers from bookworm-backports; `make setup` installs it)");
  if (!hints.length) hints.push('nothing obvious: check the driver with `vulkaninfo --summary`');
  return hints;
}
