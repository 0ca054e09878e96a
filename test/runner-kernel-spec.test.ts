// The committed kernel spec, its installable copy, and what Jupyter itself makes of them.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkTslabCompat, findJupyter, formatCompat, tslabConvert, installableKernelSpec, installKernel, KERNEL_DISPLAY_NAME, readProjectKernelSpec } from '../src/runner/index.js';

const root = path.resolve(import.meta.dirname, '..');
const jupyter = findJupyter();
if (!jupyter) console.warn('SKIP kernelspec list/install checks: no `jupyter` command (run `make setup`)');

function kernelspecs(env: Record<string, string>): Record<string, { resource_dir: string; spec: { argv: string[]; display_name: string } }> {
  const r = spawnSync(jupyter!, ['kernelspec', 'list', '--json'], { encoding: 'utf8', env: { ...process.env, ...env } });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout).kernelspecs;
}

describe('kernel spec', () => {
  it('is relative to {resource_dir} and points at an existing launcher and tslab', () => {
    const spec = readProjectKernelSpec(root);
    expect(spec.display_name).toBe(KERNEL_DISPLAY_NAME);
    expect(spec.language).toBe('typescript');
    expect(spec.argv[0]).toBe('node');
    expect(spec.argv).toContain('{connection_file}');
    expect(spec.argv[1]).toMatch(/^\{resource_dir\}\//);
    const resourceDir = path.join(root, 'kernel-spec', 'kernels', 'drivetrain');
    expect(existsSync(path.resolve(spec.argv[1]!.replace('{resource_dir}', resourceDir)))).toBe(true);
    expect(existsSync(path.join(root, 'node_modules', 'tslab', 'dist', 'main.js'))).toBe(true);
  });

  it('installable copy has absolute paths only', () => {
    const spec = installableKernelSpec(root, '/opt/node/bin/node');
    expect(spec.argv[0]).toBe('/opt/node/bin/node');
    expect(spec.argv[1]).toBe(path.join(root, 'kernel-spec', 'tslab-kernel.cjs'));
    expect(spec.argv.join(' ')).not.toContain('{resource_dir}');
  });

  it.skipIf(!jupyter)('is found by `jupyter kernelspec list` via JUPYTER_PATH and after install --prefix', () => {
    const data = mkdtempSync(path.join(os.tmpdir(), 'dt-kdata-'));
    const viaPath = kernelspecs({ JUPYTER_PATH: path.join(root, 'kernel-spec'), JUPYTER_DATA_DIR: data });
    expect(viaPath.drivetrain?.spec.display_name).toBe(KERNEL_DISPLAY_NAME);

    const prefix = mkdtempSync(path.join(os.tmpdir(), 'dt-kprefix-'));
    const r = installKernel(root, { prefix });
    expect(r.via).toBe('jupyter kernelspec install');
    const installed = kernelspecs({ JUPYTER_PATH: path.join(prefix, 'share', 'jupyter'), JUPYTER_DATA_DIR: data });
    expect(installed.drivetrain?.spec.argv[1]).toBe(path.join(root, 'kernel-spec', 'tslab-kernel.cjs'));
    expect(JSON.parse(readFileSync(path.join(installed.drivetrain!.resource_dir, 'kernel.json'), 'utf8')).display_name).toBe(KERNEL_DISPLAY_NAME);
  });
});

describe('tslab compatibility of what notebooks import', () => {
  it('src/index.ts and src/notebook/index.ts type-check under TypeScript 5.0 without CommonJS hazards', () => {
    const r = checkTslabCompat(root, [path.join(root, 'src', 'index.ts'), path.join(root, 'src', 'notebook', 'index.ts')]);
    expect(r.typescript).toMatch(/^5\.0\./);
    // Each line: file:line:col - message. Fix the src code (notebooks import it through tslab).
    expect(formatCompat(r.diagnostics)).toBe('');
  });
  // What notebooks import (dist/) goes through tslab's own converter in `drivetrain kernel check`,
  // which `make test` runs before the suite.
});
