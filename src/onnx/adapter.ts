// Which WebGPU adapter this host has: hardware (a GPU driver's Vulkan ICD) or software (Mesa
// lavapipe / llvmpipe, SwiftShader: the CPU emulating a GPU, for correctness tests only).
// onnxruntime-node does not expose adapter info and Dawn picks one adapter per process, for good:
// after a failed attempt the process never finds one (measured). So the kind is decided from the
// Vulkan ICD manifests the loader would read, and a hardware adapter is confirmed by a child
// process that sees only the hardware ICDs (VK_DRIVER_FILES / VK_ICD_FILENAMES, which every
// loader honours). When it works, this process hides the software ICDs the same way before its
// first WebGPU session, so Dawn cannot pick them; when it does not, this process is untouched
// and an explicit `webgpu` can still use the software adapter.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export type AdapterKind = 'hardware' | 'software';

export interface VulkanIcd {
  /** The manifest (…/icd.d/*.json). */
  file: string;
  /** The driver library it names. */
  library: string;
  software: boolean;
}

const SOFTWARE_ICD = /lvp|lavapipe|llvmpipe|swiftshader/i;

function icdDirs(env: NodeJS.ProcessEnv): string[] {
  const xdgData = (env.XDG_DATA_DIRS || '/usr/local/share:/usr/share').split(':').filter(Boolean);
  const xdgConfig = (env.XDG_CONFIG_DIRS || '/etc/xdg').split(':').filter(Boolean);
  return [...new Set([
    ...xdgConfig.map((d) => path.join(d, 'vulkan/icd.d')), '/etc/vulkan/icd.d',
    path.join(env.XDG_DATA_HOME || path.join(os.homedir(), '.local/share'), 'vulkan/icd.d'),
    ...xdgData.map((d) => path.join(d, 'vulkan/icd.d')), '/usr/share/vulkan/icd.d',
  ])];
}

function readIcd(file: string): VulkanIcd | undefined {
  try {
    const lib = String((JSON.parse(readFileSync(file, 'utf8')) as { ICD?: { library_path?: string } }).ICD?.library_path ?? '');
    return { file, library: lib, software: SOFTWARE_ICD.test(path.basename(file)) || SOFTWARE_ICD.test(lib) };
  } catch {
    return undefined;
  }
}

/** The Vulkan driver manifests the loader would use: VK_DRIVER_FILES / VK_ICD_FILENAMES if set, else the standard folders. */
export function vulkanIcds(env: NodeJS.ProcessEnv = process.env): VulkanIcd[] {
  const explicit = env.VK_DRIVER_FILES || env.VK_ICD_FILENAMES;
  const files = explicit
    ? explicit.split(':').filter(Boolean).flatMap((f) => (f.endsWith('.json') ? [f] : listJson(f)))
    : icdDirs(env).flatMap(listJson);
  return files.map(readIcd).filter((x): x is VulkanIcd => !!x);
}

function listJson(dir: string): string[] {
  try {
    return readdirSync(dir).filter((f) => f.endsWith('.json')).sort().map((f) => path.join(dir, f));
  } catch {
    return [];
  }
}

export function vulkanLoaderPresent(): boolean {
  const dirs = ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib', '/usr/local/lib',
    ...(process.env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean)];
  return dirs.some((d) => existsSync(`${d}/libvulkan.so.1`));
}

export function gpuDeviceNodes(): string[] {
  const found: string[] = [];
  try { found.push(...readdirSync('/dev').filter((f) => /^nvidia\d+$/.test(f)).map((f) => `/dev/${f}`)); } catch { /* no /dev */ }
  try { found.push(...readdirSync('/dev/dri').filter((f) => f.startsWith('renderD')).map((f) => `/dev/dri/${f}`)); } catch { /* none */ }
  return found;
}

/** Env that makes the Vulkan loader see only `icds`. */
export function onlyIcdsEnv(icds: readonly VulkanIcd[]): Record<string, string> {
  const list = icds.map((i) => i.file).join(':');
  return { VK_DRIVER_FILES: list, VK_ICD_FILENAMES: list };
}

const CHILD_PROBE = `
const ort = require('onnxruntime-node');
// A one-node Relu model (opset 17), float32 [1].
const model = Buffer.from(process.argv[1], 'base64');
ort.InferenceSession.create(model, { executionProviders: ['webgpu'] })
  .then((s) => s.release()).then(() => process.stdout.write('ok\\n'))
  .catch((e) => { process.stdout.write(String(e && e.message || e).split('\\n').filter(Boolean).slice(-1)[0] + '\\n'); process.exitCode = 1; });
`;

/**
 * Whether a WebGPU session works with only `icds` visible, tried in a child process (this
 * process's adapter choice stays open). Resolves to undefined when it works, else the reason.
 */
export function probeInChild(modelBase64: string, icds: readonly VulkanIcd[], cwd: string): string | undefined {
  const r = spawnSync(process.execPath, ['-e', CHILD_PROBE, modelBase64], {
    cwd, encoding: 'utf8', timeout: 60_000, env: { ...process.env, ...onlyIcdsEnv(icds) },
  });
  if (r.error) return `the probe process failed: ${r.error.message}`;
  const last = (r.stdout || '').trim().split('\n').pop() || (r.stderr || '').trim().split('\n').pop() || `exit ${r.status}`;
  return r.status === 0 && last === 'ok' ? undefined : last;
}
