// Backup failures change the outcome: the target is checked before the first step (a file, an
// unreachable Drive → a clear error, not a run that silently backs up nothing or hangs), and a
// Drive that stops answering mid-run makes the end of the run wait a bounded time, name every
// checkpoint not backed up and the command that finishes the job, and exit 4;
// `drivetrain backup --run` then finishes it.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { loadIndex } from '../src/backup/publish.js';
import { LocalDirStore } from '../src/storage/local-store.js';
import { storeFromTarget } from '../src/storage/mount.js';
import type { TrainEvent } from '../src/train/events.js';
import { train } from '../src/train/run.js';
import { spawnCli } from './support/cli-process.js';
import { fakeDriveStore, startFakeDrive } from './support/fake-drive-store.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dt-btarget-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const flags = ['--model', 'glyph-tiny', '--batch', '16', '--lr', '0.05', '--threads', '1'];

async function cli(args: string[], env: Record<string, string> = {}, ms = 90_000) {
  const p = spawnCli(args, env);
  const timer = setTimeout(() => p.child.kill('SIGKILL'), ms);
  const code = await p.exited;
  clearTimeout(timer);
  return { code, out: p.output() };
}

const tiny = { model: 'glyph-tiny', data: { n: 128, seed: 5 }, batchSize: 16, threads: 1, seed: 3, lr: 0.05, epochs: 2 };

it('a backup folder that is a file: refused before the first step', async () => {
  const file = path.join(tmp, 'afile');
  fs.writeFileSync(file, 'x');
  const events: TrainEvent[] = [];
  const err = await train({ ...tiny, out: path.join(tmp, 'r1') }, { backup: { to: file }, onEvent: (e) => events.push(e) }).catch((e: Error) => e);
  expect((err as Error).message).toBe(`cannot back up to ${file}: ${file} is a file, not a folder. Give a folder you can write (--gdrive-backup DIR, or mount(DIR) in a notebook), or leave backups off.`);
  expect(events.some((e) => e.type === 'step')).toBe(false);
  expect(fs.existsSync(path.join(tmp, 'r1', 'checkpoints'))).toBe(false);
}, 60_000);

it('an unreachable Drive or refused Drive credentials: a clear error before the first step, within seconds (not a hang)', async () => {
  const env = { DRIVETRAIN_DRIVE_ACCESS_TOKEN: 'tok', DRIVETRAIN_DRIVE_ROOT_URL: 'http://127.0.0.1:9/' }; // nothing listens on port 9
  const store = await storeFromTarget('drive:backups', { env });
  const err = await train({ ...tiny, out: path.join(tmp, 'r2') }, { backup: { store } }).catch((e: Error) => e);
  expect((err as Error).message).toMatch(/^cannot back up to drive:backups: .*ECONNREFUSED.*\. Check the Drive credentials .* and the network, or train without backups\.$/);
  expect(fs.existsSync(path.join(tmp, 'r2', 'checkpoints'))).toBe(false);
  const fake = await startFakeDrive();
  try { // reachable, but the credentials are refused
    const refused = await storeFromTarget('drive:backups', { env: { DRIVETRAIN_DRIVE_ACCESS_TOKEN: 'not-the-token', DRIVETRAIN_DRIVE_ROOT_URL: fake.url } });
    const e2 = await train({ ...tiny, out: path.join(tmp, 'r2b') }, { backup: { store: refused } }).catch((e: Error) => e);
    expect((e2 as Error).message).toMatch(/^cannot back up to drive:backups: .*401.*Check the Drive credentials/);
  } finally {
    await fake.stop();
  }
}, 30_000); // the retry policy alone would take minutes

it("a store with less free space than the run's kept checkpoints need: said before the first step", async () => {
  class SmallStore extends LocalDirStore {
    override async freeSpace(): Promise<number | null> { return 50_000; }
  }
  const events: TrainEvent[] = [];
  await train({ ...tiny, epochs: 1, out: path.join(tmp, 'r4') }, { backup: { store: new SmallStore(path.join(tmp, 'small')) }, onEvent: (e) => events.push(e) });
  const i = events.findIndex((e) => e.type === 'log' && /warning: only 50\.0 kB free at .*small but the run needs about .*; backups will fail when it fills up/.test(e.message));
  expect(i, JSON.stringify(events.filter((e) => e.type === 'log'))).toBeGreaterThanOrEqual(0);
  expect(i).toBeLessThan(events.findIndex((e) => e.type === 'step'));
}, 60_000);

it('a Drive that stops answering mid-run: bounded wait, what is not backed up, exit 4; backup --run finishes it', async () => {
  const fake = await startFakeDrive();
  try {
    const env = { DRIVETRAIN_DRIVE_ACCESS_TOKEN: fake.token, DRIVETRAIN_DRIVE_ROOT_URL: fake.url };
    const out = path.join(tmp, 'r3');
    const p = spawnCli(['train', ...flags, '--data-n', '512', '--epochs', '20', '--keep-last', '1', '--out', out, '--gdrive-backup', 'drive:backups', '--backup-timeout', '3'], env);
    expect(await p.waitFor(/✓ Backed up step/, 90_000), `${p.output()}\nexit ${await Promise.race([p.exited, new Promise((r) => setTimeout(() => r("running"), 100))])}`).toBe(true);
    fake.faultFn = () => 'stall'; // every request from now on goes unanswered
    const code = await p.exited;
    const o = p.output();
    expect(code, o).toBe(4);
    expect(o).toMatch(/Finished 20 epochs/);
    expect(o).toMatch(/✗ BACKUP INCOMPLETE: the last uploads did not finish within 3 s.*\. Not backed up to drive:backups:\n {4}last-000000560 \(newest, step 560\)/);
    expect(o).toContain(`To finish the backup, run: drivetrain backup --run ${out} --to drive:backups`);
    fake.faultFn = null;
    const fin = await cli(['backup', '--run', out, '--to', 'drive:backups'], env);
    expect(fin.code, fin.out).toBe(0);
    expect(fin.out).toMatch(/✓ Backed up step 560/);
    expect(fin.out).toMatch(/✓ r3 is backed up to drive:backups \(uploaded: .*last-000000560/);
    const idx = await loadIndex(await fakeDriveStore(fake, { basePath: 'backups' }), 'r3');
    expect(idx?.latest).toBe('last-000000560');
  } finally {
    await fake.stop();
  }
}, 200_000);
