// A real write failure on the checkpoint writer thread (not an injected fs): the process's file
// size limit (ulimit -f) makes the tensors write fail with EFBIG part-way. The failure must
// reach durable and flush() as WRITE_FAILED (cause EFBIG), leave no staging debris, keep the
// earlier checkpoint intact, and the next save must work.
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, expect, it } from 'vitest';

const work = await mkdtemp(path.join(tmpdir(), 'ckpt-efbig-'));
afterAll(() => rm(work, { recursive: true, force: true }));

it('EFBIG in the middle of a worker-thread write surfaces as WRITE_FAILED; earlier checkpoints stay intact', () => {
  const child = path.join(import.meta.dirname, 'support/checkpoint-efbig.ts');
  // ulimit -f counts 512-byte blocks in sh: 2048 → 1 MiB per file
  const r = spawnSync('sh', ['-c', `ulimit -f 2048 && exec "${process.execPath}" --import tsx "${child}" "${path.join(work, 'run')}"`], { encoding: 'utf8', timeout: 60_000 });
  expect(r.status, r.stderr).toBe(0);
  const out = JSON.parse(r.stdout.trim().split('\n').pop()!);
  expect(out.mode).toBe('worker');
  expect(out.durable).toMatchObject({ code: 'WRITE_FAILED', cause: 'EFBIG' });
  expect(out.durable.message).toMatch(/step 2 was not written.*EFBIG.*Earlier checkpoints are intact/);
  expect(out.flush).toEqual({ code: 'WRITE_FAILED' });
  expect(out.left).toEqual(['last-000000001']);
  expect(out.verified).toBe(true);
  expect(out.again).toBe('last-000000003');
}, 60_000);
