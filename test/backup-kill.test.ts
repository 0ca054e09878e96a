// kill -9 in the middle of an upload, then restart: the backup resumes its upload session
// (remembered in <run>/.backup) and converges to a verified checkpoint on the store.
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { readIndex } from '../src/backup/publish.js';
import { restore } from '../src/backup/restore.js';
import { CheckpointManager, loadCheckpoint } from '../src/checkpoint/index.js';
import { saveStep } from './support/checkpoints.js';
import type { FakeDrive } from './support/fake-drive.js';
import { fakeDriveStore, startFakeDrive } from './support/fake-drive-store.js';

let fake: FakeDrive;
beforeAll(async () => { fake = await startFakeDrive(); });
afterAll(async () => { await fake.stop(); });

function child(runDir: string) {
  const p = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, 'support/backup-child.ts'), fake.url, fake.token, runDir], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  p.stdout.on('data', (d) => { out += d; });
  p.stderr.on('data', (d) => { out += d; });
  const exited = new Promise<number | null>((r) => p.on('exit', (code) => r(code)));
  return { p, exited, out: () => out };
}

it('resumes after kill -9 mid-upload and converges', async () => {
  const runDir = path.join(mkdtempSync(path.join(tmpdir(), 'dt-kill-')), 'k');
  const mgr = await CheckpointManager.open(runDir, {}, { warn: () => {} });
  await saveStep(mgr, 7, { backbone: 2_000_000, head: 1000 }); // an 8 MB tensor → 32 chunks of 256 KiB
  await mgr.close();

  fake.chunkDelayMs = 40;
  fake.resetStats();
  const first = child(runDir);
  const t0 = Date.now();
  while (fake.stats.uploadBytes < 2 * 1024 * 1024) {
    if (Date.now() - t0 > 60_000) throw new Error(`child made no progress: ${first.out()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  first.p.kill('SIGKILL');
  await first.exited;
  const sentBeforeKill = fake.stats.uploadBytes;
  expect(await readIndex(await fakeDriveStore(fake, { basePath: 'kill' }), 'k')).toBeNull(); // nothing published yet

  fake.chunkDelayMs = 0;
  fake.resetStats();
  const second = child(runDir);
  expect(await second.exited).toBe(0);
  expect(second.out()).toContain('DONE');
  expect(fake.stats.resumedSessions).toBeGreaterThanOrEqual(1);
  expect(fake.stats.uploadBytes).toBeLessThan(8_100_000 - sentBeforeKill + 512 * 1024); // did not start over

  const store = await fakeDriveStore(fake, { basePath: 'kill' });
  expect((await readIndex(store, 'k'))?.latest).toBe('last-000000007');
  const r = await restore({ from: store, run: 'k', into: mkdtempSync(path.join(tmpdir(), 'dt-kill-r-')), log: () => {} });
  expect((await loadCheckpoint(r.dir!)).state.globalStep).toBe(7);
});
