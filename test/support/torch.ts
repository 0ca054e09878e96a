// Debian's python3-torch / python3-torchvision as the numerical reference (test/support/torch_ref.py).
// `make test` installs them (scripts/setup-system.sh); without them the tests skip and say why.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

const PY = '/usr/bin/python3';
const script = path.join(import.meta.dirname, 'torch_ref.py');

/** null when torch and torchvision import, else why not. */
export function torchMissing(): string | null {
  if (!existsSync(PY)) return `${PY} is not installed`;
  const r = spawnSync(PY, ['-c', 'import torch, torchvision'], { encoding: 'utf8' });
  return r.status === 0 ? null : `${PY} cannot import torch/torchvision (apt-get install python3-torch python3-torchvision; make setup does): ${r.stderr.trim().split('\n').pop()}`;
}

/** Runs torch_ref.py with `args`; returns its stdout, throws with its stderr on failure. */
export function torchRef(args: string[], cwd?: string): string {
  const r = spawnSync(PY, [script, ...args], { encoding: 'utf8', cwd, maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`torch_ref.py ${args.join(' ')} failed (${r.status}):\n${r.stderr}`);
  return r.stdout;
}

export function runPython(args: string[], cwd?: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(PY, args, { encoding: 'utf8', cwd, maxBuffer: 64 * 1024 * 1024 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
