// Two processes on one run directory: the second is refused with a clear error; once the
// holder dies (kill -9), its stale lock is taken over with a warning.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { CheckpointManager } from '../src/checkpoint/index.js';

const work = await mkdtemp(path.join(tmpdir(), 'ckpt-lock-'));
afterAll(() => rm(work, { recursive: true, force: true }));

it('a second process is refused; a dead holder is taken over', async () => {
  const runDir = path.join(work, 'run_001');
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(import.meta.dirname, 'support/checkpoint-locker.ts'), runDir], { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise((r) => child.on('exit', r));
  const pid = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /locked (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.on('exit', (code) => reject(new Error(`locker exited early (${code})`)));
  });
  const second = CheckpointManager.open(runDir, {}, { warn: () => undefined });
  await expect(second).rejects.toMatchObject({ code: 'LOCKED' });
  await expect(second).rejects.toThrow(new RegExp(`in use by pid ${pid} on .* since`));
  child.kill('SIGKILL');
  await exited;
  const warnings: string[] = [];
  const m = await CheckpointManager.open(runDir, {}, { warn: (w) => warnings.push(w) });
  expect(warnings.join('\n')).toContain(`pid ${pid}`);
  await m.close();
});
