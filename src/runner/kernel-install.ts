// Installs the "TypeScript (drivetrain)" kernel spec for the current user. The copy gets
// absolute paths (node binary, launcher) because an installed spec no longer sits next to
// the project; the in-project spec (kernel-spec/kernels/drivetrain) stays relative.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const KERNEL_NAME = 'drivetrain';
export const KERNEL_DISPLAY_NAME = 'TypeScript (drivetrain)';

export interface KernelSpecJson {
  argv: string[];
  display_name: string;
  language: string;
  interrupt_mode?: string;
  metadata?: Record<string, unknown>;
}

/** The spec committed in the project (argv relative to {resource_dir}). */
export function readProjectKernelSpec(root: string): KernelSpecJson {
  return JSON.parse(readFileSync(path.join(root, 'kernel-spec', 'kernels', KERNEL_NAME, 'kernel.json'), 'utf8')) as KernelSpecJson;
}

/** The spec to install elsewhere: same fields, absolute node and launcher paths. */
export function installableKernelSpec(root: string, nodeBin = process.execPath): KernelSpecJson {
  const spec = readProjectKernelSpec(root);
  const resourceDir = path.join(root, 'kernel-spec', 'kernels', KERNEL_NAME);
  const argv = spec.argv.map((a, i) => {
    if (i === 0 && a === 'node') return nodeBin;
    return a.includes('{resource_dir}') ? path.resolve(a.replace('{resource_dir}', resourceDir)) : a;
  });
  return { ...spec, argv };
}

/** Jupyter's per-user data dir (what `jupyter --data-dir` prints without env overrides). */
export function userDataDir(): string {
  if (process.env.JUPYTER_DATA_DIR) return process.env.JUPYTER_DATA_DIR;
  if (process.platform === 'darwin') return path.join(os.homedir(), 'Library', 'Jupyter');
  if (process.platform === 'win32') return path.join(process.env.APPDATA ?? os.homedir(), 'jupyter');
  return path.join(process.env.XDG_DATA_HOME ?? path.join(os.homedir(), '.local', 'share'), 'jupyter');
}

export function findJupyter(): string | null {
  for (const c of ['jupyter', '/usr/bin/jupyter']) {
    const r = spawnSync(c, ['--version'], { stdio: 'ignore' });
    if (r.status === 0) return c;
  }
  return null;
}

export interface InstallResult {
  dir: string;
  via: 'jupyter kernelspec install' | 'copy';
  listed: boolean | null;
}

/**
 * Installs for the user (or under `prefix`). Uses `jupyter kernelspec install` when Jupyter is
 * on PATH, else writes into the user's Jupyter data dir directly (which JupyterLab, Notebook
 * and VS Code all search).
 */
export function installKernel(root: string, opts: { prefix?: string } = {}): InstallResult {
  const spec = installableKernelSpec(root);
  if (!existsSync(spec.argv[1]!)) throw new Error(`kernel launcher ${spec.argv[1]} is missing; is ${root} a drivetrain checkout?`);
  if (!existsSync(path.join(root, 'node_modules', 'tslab'))) throw new Error(`tslab is not installed in ${root}; run \`npm ci\` first`);
  const jupyter = findJupyter();
  let dir: string;
  let via: InstallResult['via'];
  if (jupyter) {
    const tmp = mkdtempSync(path.join(os.tmpdir(), 'drivetrain-kernel-'));
    const src = path.join(tmp, KERNEL_NAME);
    mkdirSync(src);
    writeFileSync(path.join(src, 'kernel.json'), JSON.stringify(spec, null, 2) + '\n');
    const where = opts.prefix ? ['--prefix', opts.prefix] : ['--user'];
    const r = spawnSync(jupyter, ['kernelspec', 'install', ...where, '--replace', '--name', KERNEL_NAME, src], { encoding: 'utf8' });
    rmSync(tmp, { recursive: true, force: true });
    if (r.status !== 0) throw new Error(`jupyter kernelspec install failed:\n${r.stderr || r.stdout}`);
    const m = /installed kernelspec \S+ in (.+)$/im.exec(`${r.stderr}\n${r.stdout}`);
    dir = m ? m[1]!.trim() : path.join(opts.prefix ? path.join(opts.prefix, 'share', 'jupyter') : userDataDir(), 'kernels', KERNEL_NAME);
    via = 'jupyter kernelspec install';
  } else {
    dir = path.join(opts.prefix ? path.join(opts.prefix, 'share', 'jupyter') : userDataDir(), 'kernels', KERNEL_NAME);
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'kernel.json'), JSON.stringify(spec, null, 2) + '\n');
    via = 'copy';
  }
  let listed: boolean | null = null;
  if (jupyter && !opts.prefix) {
    const r = spawnSync(jupyter, ['kernelspec', 'list', '--json'], { encoding: 'utf8' });
    try {
      listed = KERNEL_NAME in (JSON.parse(r.stdout) as { kernelspecs: Record<string, unknown> }).kernelspecs;
    } catch {
      listed = false;
    }
  }
  return { dir, via, listed };
}

export const PICK_KERNEL_HELP = [
  `Pick the kernel "${KERNEL_DISPLAY_NAME}":`,
  '  JupyterLab / Notebook: Kernel > Change Kernel… > TypeScript (drivetrain)',
  '  VS Code: Select Kernel (top right) > Jupyter Kernel… > TypeScript (drivetrain)',
  '  The notebooks in notebooks/ already name it, so opening them selects it.',
  '  Cells run in the project root: import with `from "./src/index"`.',
].join('\n');
