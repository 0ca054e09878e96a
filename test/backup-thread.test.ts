// The backup's own thread: a backup completes while the main thread is blocked in one (simulated)
// training step; store specs reopen the same store there; a dead thread is loud and the backup
// goes on on the main thread; the thread keeps the process alive only while work is pending.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BackupEvent, startBackup } from '../src/backup/backup.js';
import { indexPath } from '../src/backup/format.js';
import { readIndex } from '../src/backup/publish.js';
import { CheckpointManager } from '../src/checkpoint/index.js';
import { createDriveAuth } from '../src/storage/drive-auth.js';
import { GoogleDriveStore } from '../src/storage/drive-store.js';
import { LocalDirStore } from '../src/storage/local-store.js';
import { storeFromSpec } from '../src/storage/mount.js';
import { saveStep } from './support/checkpoints.js';
import type { FakeDrive } from './support/fake-drive.js';
import { fakeDriveStore, startFakeDrive } from './support/fake-drive-store.js';

const tmp = (p: string) => mkdtempSync(path.join(tmpdir(), p));
const quiet = () => {};
let fake: FakeDrive;
beforeAll(async () => { fake = await startFakeDrive(); });
afterAll(async () => { await fake.stop(); });

/**
 * One long synchronous training step, like onnxruntime-node's session.run(): the main event loop
 * does not turn until `done()` or `capMs`. Returns whether `done()` became true meanwhile.
 */
function blockedStepUntil(done: () => boolean, capMs: number): boolean {
  const end = performance.now() + capMs;
  while (performance.now() < end) if (done()) return true;
  return false;
}

it('backs up within one blocked training step on its own thread; on the main thread nothing is published until the loop turns', async () => {
  const runDir = path.join(tmp('dt-thr-'), 'blocked');
  const mgr = await CheckpointManager.open(runDir, {}, { warn: quiet });
  const ckpt = await saveStep(mgr, 1, { backbone: 1_500_000, head: 20_000 }); // 6 MB, 24 chunks of 256 KiB
  await mgr.close();
  const backupWhileBlocked = async (thread: boolean, capMs: number) => {
    const store = new LocalDirStore(tmp('dt-thr-store-'));
    const published = () => existsSync(path.join(store.root, indexPath('blocked'))); // latest.json comes last
    const backup = startBackup({ store, runDir, thread, catchUp: false, chunkBytes: 256 * 1024 });
    await backup.flush(); // the thread is up (its start-up overlaps a run's setup)
    backup.enqueue(ckpt);
    const duringStep = blockedStepUntil(published, capMs);
    const st = await backup.close(); // the loop turns: whatever is left finishes
    expect(st.lastBackedUp?.globalStep).toBe(1);
    expect(st.lastError).toBeNull();
    expect((await readIndex(store, 'blocked'))?.latest).toBe('last-000000001');
    return duringStep;
  };
  // The cap only bounds a failing run: the thread publishes as soon as it can, however loaded the machine.
  expect(await backupWhileBlocked(true, 60_000)).toBe(true);
  // Without a thread, the upload needs the main event loop: a blocked step publishes nothing.
  expect(await backupWhileBlocked(false, 300)).toBe(false);
});

describe('store specs', () => {
  it('reopen a local folder or a Drive store made from credentials; custom stores have none', async () => {
    const local = new LocalDirStore(tmp('dt-spec-'));
    expect(local.spec()).toEqual({ kind: 'local', root: local.root });
    expect(((await storeFromSpec(local.spec()!)) as LocalDirStore).root).toBe(local.root);

    const drive = await fakeDriveStore(fake, { basePath: 'spec/sub' });
    const spec = drive.spec()!;
    expect(spec).toMatchObject({ kind: 'drive', credentials: { accessToken: fake.token }, basePath: 'spec/sub', rootUrl: fake.url, chunkSize: 256 * 1024 });
    const reopened = await storeFromSpec(structuredClone(spec));
    await drive.write('a/b.txt', Buffer.from('hello'));
    expect(await reopened.stat('a/b.txt')).toEqual(await drive.stat('a/b.txt'));
    expect(JSON.stringify(spec)).toContain(fake.token); // a spec carries secrets …
    expect(drive.description).not.toContain(fake.token); // … descriptions never do

    const ownClient = new GoogleDriveStore({ auth: { kind: 'access-token', client: (await createDriveAuth({ accessToken: 't' })).client }, rootUrl: fake.url });
    expect(ownClient.spec()).toBeNull(); // auth not made by createDriveAuth: cannot be rebuilt elsewhere
    const wrapped = Object.assign(Object.create(local) as LocalDirStore, { write: () => Promise.reject(new Error('x')) });
    expect(wrapped.spec()).toBeNull();
    const replaced = Object.assign(new LocalDirStore(local.root), { write: () => Promise.reject(new Error('x')) });
    expect(replaced.spec()).toBeNull();
    expect(() => startBackup({ store: replaced, runDir: tmp('dt-spec-run-'), thread: true })).toThrow(/thread: true needs a store that can be reopened/);
  });
});

it('a dead backup thread is a loud error; queued and later checkpoints are backed up on the main thread', async () => {
  const store = new LocalDirStore(tmp('dt-thr-store-'));
  const runDir = path.join(tmp('dt-thr-'), 'dies');
  const mgr = await CheckpointManager.open(runDir, {}, { warn: quiet });
  const backup = startBackup({ store, runDir, thread: true, retryDelayMs: 5 });
  const events: BackupEvent[] = [];
  backup.onEvent((e) => events.push(e));
  await backup.flush();
  backup.enqueue(await saveStep(mgr, 1, { backbone: 1000, head: 100 }));
  await (backup as unknown as { thread: { worker: Worker } }).thread.worker.terminate(); // the thread dies (as on a fatal error)
  const st = await backup.flush();
  expect(events).toContainEqual(expect.objectContaining({ type: 'error', error: expect.stringMatching(/backup thread exited .*backing up on the main thread/) }));
  expect(st.failures).toBeGreaterThanOrEqual(1);
  expect((await readIndex(store, 'dies'))?.latest).toBe('last-000000001');
  backup.enqueue(await saveStep(mgr, 2, { backbone: 1000, head: 100 }));
  const st2 = await backup.close();
  await mgr.close();
  expect(st2.lastBackedUp?.globalStep).toBe(2);
  expect(st2.lastError).toBeNull();
  expect((await readIndex(store, 'dies'))?.latest).toBe('last-000000002');
});

it('keeps a process alive while an upload is pending (no flush), then lets it exit', async () => {
  const storeDir = tmp('dt-thr-store-');
  const runDir = path.join(tmp('dt-thr-'), 'exit');
  const p = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, 'support/backup-thread-child.ts'), storeDir, runDir], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  p.stdout.on('data', (d) => { out += d; });
  p.stderr.on('data', (d) => { out += d; });
  const code = await new Promise<number | null>((resolve) => {
    const timer = setTimeout(() => { p.kill('SIGKILL'); resolve(-1); }, 60_000);
    p.on('exit', (c) => { clearTimeout(timer); resolve(c); });
  });
  expect(code, out).toBe(0);
  expect(out).toMatch(/QUEUED[\s\S]*"type":"done"/);
  expect((await readIndex(new LocalDirStore(storeDir), 'exit'))?.latest).toBe('last-000000003');
});
