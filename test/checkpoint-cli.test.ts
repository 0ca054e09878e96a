// The runs / inspect / clean-checkpoints commands, run in-process through commander, plus one
// real `bin/drivetrain.js` invocation for the exit code and message of a missing path.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { Command } from 'commander';
import { afterAll, expect, it } from 'vitest';
import { register } from '../src/cli/runs.js';
import { CheckpointManager, createRun } from '../src/checkpoint/index.js';
import { tensor } from '../src/tensor.js';

const base = await mkdtemp(path.join(tmpdir(), 'ckpt-cli-'));
afterAll(() => rm(base, { recursive: true, force: true }));

async function cli(...args: string[]): Promise<{ out: string; code: number }> {
  const program = new Command().exitOverride();
  register(program);
  const lines: string[] = [];
  const log = console.log;
  console.log = (...a: unknown[]) => void lines.push(a.join(' '));
  const before = process.exitCode;
  try {
    await program.parseAsync(['node', 'drivetrain', ...args]);
    const code = process.exitCode ?? 0;
    return { out: lines.join('\n'), code: Number(code) };
  } finally {
    console.log = log;
    process.exitCode = before;
  }
}

async function makeRun(experiment: string, vals: number[]) {
  const { runDir } = await createRun(base);
  const m = await CheckpointManager.open(runDir, { keep: { lastN: 10, best: { monitor: 'val_loss', mode: 'min' } } }, { experiment, warn: () => undefined });
  for (const [i, v] of vals.entries()) await m.save('last', [tensor('param.w', 'float32', [3], Float32Array.from([i, i, i]))], { epoch: i + 1, stepInEpoch: 0, globalStep: (i + 1) * 100 }, { metrics: { val_loss: v } }).durable;
  await m.close();
  return runDir;
}

it('runs, inspect, clean-checkpoints', async () => {
  const r1 = await makeRun('mnist-mlp', [0.5, 0.2, 0.3, 0.4]);
  await makeRun('cnn', [1]);
  const runs = await cli('runs', '--base', base);
  expect(runs.out).toMatch(/run_001\s+mnist-mlp\s+\S+ \S+\s+4\s+val_loss=0.2 \(min\) @ step 200\s+400/);
  expect(runs.out).toMatch(/run_002\s+cnn/);

  const ins = await cli('inspect', r1);
  expect(ins.out).toContain('global step 400');
  expect(ins.out).toMatch(/param\.w\s+F32\s+\[3\]\s+12/);
  expect(ins.out).toContain('verify      OK');
  await truncate(path.join(r1, 'checkpoints', 'last-000000300', 'state.json'), 2);
  const bad = await cli('inspect', path.join(r1, 'checkpoints', 'last-000000300'));
  expect(bad.code).toBe(1);
  expect(bad.out).toMatch(/FAILED: .*state\.json is 2 bytes/);

  const clean = await cli('clean-checkpoints', '--base', base, '--run', 'run_001', '--keep-last', '1');
  // the corrupt last-000000300 is not touched (open warns about it); best (200) and newest (400) stay
  expect(clean.out).toContain('run_001: deleted 1 (last-000000100); kept last-000000200, last-000000400');
  await expect(cli('clean-checkpoints', '--base', base, '--keep-last', 'x')).rejects.toThrow(/whole number/);
  await expect(cli('clean-checkpoints', '--base', base, '--run', 'run_9')).rejects.toThrow(/run_001, run_002/);
  await expect(cli('runs', '--base', path.join(base, 'nope'))).rejects.toThrow(/does not exist; pass --base/);
});

it('bin/drivetrain.js inspect of a missing checkpoint lists what the run directory contains', async () => {
  const r = await makeRun('x', [1, 2]);
  const bin = path.join(import.meta.dirname, '..', 'bin', 'drivetrain.js');
  const err = await promisify(execFile)(process.execPath, [bin, 'inspect', path.join(r, 'checkpoints', 'last-000000999')]).catch((e) => e as { code: number; stderr: string });
  expect((err as { code: number }).code).toBe(1);
  expect((err as { stderr: string }).stderr).toMatch(/last-000000999 does not exist; .*checkpoints contains: last-000000100, last-000000200/);
});
