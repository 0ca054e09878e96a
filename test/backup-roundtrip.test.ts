import { mkdtempSync, promises as fsp, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Backup, type BackupEvent, type BackupOptions, formatBackupEvent, startBackup as start } from '../src/backup/backup.js';
import { blobPath, indexPath, manifestPath } from '../src/backup/format.js';
import { readIndex, readStoreManifest } from '../src/backup/publish.js';
import { listRemoteRuns, restore } from '../src/backup/restore.js';
import { CheckpointManager, loadCheckpoint } from '../src/checkpoint/index.js';
import { LocalDirStore } from '../src/storage/local-store.js';
import type { Store } from '../src/storage/store.js';
import { makeTensors, saveStep } from './support/checkpoints.js';
import type { FakeDrive } from './support/fake-drive.js';
import { fakeDriveStore, startFakeDrive } from './support/fake-drive-store.js';

const tmp = (p: string) => mkdtempSync(path.join(tmpdir(), p));
const quiet = () => {};
let fake: FakeDrive;
beforeAll(async () => { fake = await startFakeDrive(); });
afterAll(async () => { await fake.stop(); });
const started: Backup[] = [];
/** startBackup, closed (backup thread ended) after each test */
const startBackup = (o: BackupOptions) => { const b = start(o); started.push(b); return b; };
afterEach(async () => { for (const b of started.splice(0)) await b.close(); });

async function filesOf(dir: string): Promise<Record<string, Buffer>> {
  const out: Record<string, Buffer> = {};
  for (const n of (await fsp.readdir(dir)).sort()) out[n] = readFileSync(path.join(dir, n));
  return out;
}

const stores: [string, () => Promise<Store>, boolean][] = [
  ['LocalDirStore, backup thread', async () => new LocalDirStore(tmp('dt-store-')), true],
  ['LocalDirStore, main thread', async () => new LocalDirStore(tmp('dt-store-')), false],
  ['GoogleDriveStore (fake server), backup thread', async () => fakeDriveStore(fake, { basePath: `rt-${Math.random().toString(36).slice(2)}` }), true],
  ['GoogleDriveStore (fake server), main thread', async () => fakeDriveStore(fake, { basePath: `rt-${Math.random().toString(36).slice(2)}` }), false],
];

describe.each(stores)('backup + restore on %s', (_label, makeStore, thread) => {
  it('round-trips checkpoints bitwise; "Colab disconnected" restore loads the backed-up step', async () => {
    const store = await makeStore();
    const runDir = path.join(tmp('dt-run-'), 'run1');
    const mgr = await CheckpointManager.open(runDir, {}, { warn: quiet });
    const backup = startBackup({ store, runDir, retryDelayMs: 10, thread });
    const lines: string[] = [];
    backup.onEvent((e) => { const l = formatBackupEvent(e); if (l) lines.push(l); });
    mgr.onDurable((e) => backup.enqueue(e));
    await saveStep(mgr, 10);
    const last = await saveStep(mgr, 20);
    await mgr.flush();
    const st = await backup.flush();
    expect(st.lastError).toBeNull();
    expect(st.lastBackedUp?.globalStep).toBe(20);
    expect(lines.at(-1)).toMatch(/^✓ Backed up step 20 \(.* new, .* reused\)$/);
    const original = await filesOf(last.dir);
    await mgr.close();

    await fsp.rm(runDir, { recursive: true, force: true }); // the machine is gone
    const r = await restore({ from: store, run: 'run1', into: runDir, log: quiet });
    expect(r.source).toBe('store');
    expect(r.globalStep).toBe(20);
    expect(r.dir).toBe(last.dir);
    expect(await filesOf(r.dir!)).toEqual(original);
    const loaded = await loadCheckpoint(r.dir!);
    expect(loaded.state.globalStep).toBe(20);
    const want = makeTensors(50_000, 2_000, 20);
    for (const [k, t] of want) expect(Buffer.from(loaded.tensors.get(k)!.data.buffer).equals(Buffer.from(t.data.buffer))).toBe(true);
    expect((await listRemoteRuns(store)).map((x) => [x.run, x.globalStep])).toEqual([['run1', 20]]);

    // Restoring again: the local copy is valid and as new → local wins, nothing downloaded.
    const again = await restore({ from: store, run: 'run1', into: runDir, log: quiet });
    expect(again.source).toBe('local');
    expect(again.message).toMatch(/keeping the local copy/);
  });
});

describe('dedupe, retention and safety', () => {
  it.each([true, false])('a second checkpoint with a frozen backbone uploads only the changed bytes (fake server byte counts; thread %s)', async (thread) => {
    const store = await fakeDriveStore(fake, { basePath: `dedupe-${thread}` });
    const runDir = path.join(tmp('dt-run-'), 'dd');
    const mgr = await CheckpointManager.open(runDir, {}, { warn: quiet });
    const backup = startBackup({ store, runDir, thread });
    const done: Extract<BackupEvent, { type: 'done' }>[] = [];
    backup.onEvent((e) => { if (e.type === 'done') done.push(e); });
    const e1 = await saveStep(mgr, 1, { backbone: 400_000, head: 5_000 });
    backup.enqueue(e1);
    await backup.flush();
    fake.resetStats();
    const e2 = await saveStep(mgr, 2, { backbone: 400_000, head: 5_000 });
    backup.enqueue(e2);
    await backup.flush();
    await mgr.close();
    const m2 = e2.manifest;
    const changed = Object.entries(m2.tensors).filter(([n]) => !n.includes('backbone')).reduce((a, [, t]) => a + t.range[1] - t.range[0], 0);
    // same names and shapes → the safetensors header is reused too
    const small = m2.files['state.json'].size + (await fsp.stat(path.join(e2.dir, 'manifest.json'))).size;
    expect(done[1].newBytes).toBe(changed + small);
    expect(done[1].reusedBytes).toBe(400_000 * 4 + m2.header.range[1]);
    // what actually crossed the wire: the changed blobs, the store manifest and latest.json
    expect(fake.stats.uploadBytes).toBeGreaterThanOrEqual(changed);
    expect(fake.stats.uploadBytes).toBeLessThan(changed + small + 20_000);
    expect(fake.stats.uploadBytes).toBeLessThan(400_000 * 4 * 0.1);
  });

  it('applies the keep policy on the store and deletes blobs no manifest uses', async () => {
    const store = new LocalDirStore(tmp('dt-store-'));
    const runDir = path.join(tmp('dt-run-'), 'ret');
    const mgr = await CheckpointManager.open(runDir, { keep: { lastN: 2 } }, { warn: quiet });
    const backup = startBackup({ store, runDir, keep: { lastN: 2, recoveryN: 1 } });
    for (let s = 1; s <= 6; s++) { backup.enqueue(await saveStep(mgr, s, { backbone: 1000, head: 100 })); await backup.flush(); }
    await mgr.close();
    const idx = (await readIndex(store, 'ret'))!;
    expect(idx.checkpoints.map((c) => c.globalStep)).toEqual([5, 6]);
    expect(idx.retired.map((r) => r.name)).toEqual(['last-000000004']);
    const manifests = (await store.list('ret/manifests')).map((e) => e.name);
    expect(manifests.sort()).toEqual(['last-000000004.json', 'last-000000005.json', 'last-000000006.json']);
    const used = new Set<string>();
    for (const n of ['last-000000004', 'last-000000005', 'last-000000006']) {
      for (const f of (await readStoreManifest(store, 'ret', n)).files) for (const s of f.segments) used.add(s.sha256);
    }
    const blobs = (await store.list('ret/blobs')).map((e) => e.name);
    expect(new Set(blobs)).toEqual(used);
  });

  it('skips a waiting older checkpoint when a newer one arrives, unless it is permanent', async () => {
    const store = await fakeDriveStore(fake, { basePath: 'queue' });
    const runDir = path.join(tmp('dt-run-'), 'q');
    const mgr = await CheckpointManager.open(runDir, { keep: { lastN: 10 } }, { warn: quiet });
    const evs = [];
    for (let s = 1; s <= 5; s++) evs.push(await saveStep(mgr, s, { kind: s === 3 ? 'permanent' : 'last', backbone: 1000, head: 100 }));
    await mgr.close();
    fake.chunkDelayMs = 30;
    const backup = startBackup({ store, runDir, catchUp: false });
    const skipped: number[] = [];
    backup.onEvent((e) => { if (e.type === 'skipped') skipped.push(e.globalStep); });
    backup.enqueue(evs[0]);
    await new Promise((r) => setTimeout(r, 20)); // step 1 is uploading (slowly) …
    for (const e of evs.slice(1)) backup.enqueue(e); // … while 2-5 arrive
    await backup.flush();
    fake.chunkDelayMs = 0;
    expect(skipped).toEqual([2, 4]);
    const idx = (await readIndex(store, 'q'))!;
    expect(idx.checkpoints.map((c) => c.globalStep)).toEqual([1, 3, 5]);
  });

  it('a failing store is loud (error events, status.lastError) but never throws into training', async () => {
    const good = new LocalDirStore(tmp('dt-store-'));
    let failing = true;
    const store: Store = Object.assign(Object.create(good) as LocalDirStore, {
      write: (p: string, d: Parameters<Store['write']>[1]) => (failing ? Promise.reject(new Error('Drive is unreachable')) : good.write(p, d)),
    });
    const runDir = path.join(tmp('dt-run-'), 'loud');
    const mgr = await CheckpointManager.open(runDir, {}, { warn: quiet });
    expect(store.spec?.()).toBeNull(); // a wrapped store cannot cross threads: backed up on the main thread
    const backup = startBackup({ store, runDir, retryDelayMs: 5, maxAttempts: 2 });
    const lines: string[] = [];
    backup.onEvent((e) => { const l = formatBackupEvent(e); if (l) lines.push(l); });
    backup.enqueue(await saveStep(mgr, 1, { backbone: 100, head: 10 }));
    const st = await backup.flush();
    expect(st.lastError).toMatch(/Drive is unreachable/);
    expect(st.failures).toBe(2);
    expect(lines).toEqual([expect.stringMatching(/^✗ BACKUP FAILED for step 1 .*will retry/), expect.stringMatching(/giving up on this checkpoint; training continues$/)]);
    failing = false; // Drive is back: the next checkpoint goes through
    backup.enqueue(await saveStep(mgr, 2, { backbone: 100, head: 10 }));
    expect((await backup.flush()).lastBackedUp?.globalStep).toBe(2);
    await mgr.close();
  });

  it('refuses store names that would escape the target folder', async () => {
    const store = new LocalDirStore(tmp('dt-store-'));
    const runDir = path.join(tmp('dt-run-'), 'esc');
    const mgr = await CheckpointManager.open(runDir, {}, { warn: quiet });
    const backup = startBackup({ store, runDir });
    backup.enqueue(await saveStep(mgr, 1, { backbone: 100, head: 10 }));
    await backup.flush();
    await mgr.close();
    const p = manifestPath('esc', 'last-000000001');
    for (const evil of [{ relDir: '../../outside' }, { relDir: '/tmp/abs' }, { file: '../x' }]) {
      const m = JSON.parse(readFileSync(path.join(store.root, p), 'utf8'));
      if (evil.relDir) m.relDir = evil.relDir;
      if (evil.file) m.files[0].path = evil.file;
      const s2 = new LocalDirStore(tmp('dt-store-'));
      await s2.write(p, Buffer.from(JSON.stringify(m)));
      await s2.write(indexPath('esc'), readFileSync(path.join(store.root, indexPath('esc'))));
      for (const f of m.files) for (const s of f.segments) await s2.write(blobPath('esc', s.sha256), readFileSync(path.join(store.root, blobPath('esc', s.sha256))));
      await expect(restore({ from: s2, run: 'esc', into: tmp('dt-into-'), log: quiet })).rejects.toThrow(/^refusing .*(can only be restored into "checkpoints\/last-000000001"|is not a plain file name inside the checkpoint folder)/);
    }
  });

  it('downloads only what local checkpoints do not already hold', async () => {
    const store = await fakeDriveStore(fake, { basePath: 'partial' });
    const runDir = path.join(tmp('dt-run-'), 'p');
    const mgr = await CheckpointManager.open(runDir, {}, { warn: quiet });
    const backup = startBackup({ store, runDir });
    const e1 = await saveStep(mgr, 1, { backbone: 300_000, head: 3000 });
    backup.enqueue(e1); await backup.flush();
    const e2 = await saveStep(mgr, 2, { backbone: 300_000, head: 3000 });
    backup.enqueue(e2); await backup.flush();
    await mgr.close();
    const original = await filesOf(e2.dir);
    await fsp.rm(e2.dir, { recursive: true }); // only the newest is lost
    fake.resetStats();
    const r = await restore({ from: store, run: 'p', into: runDir, log: quiet });
    expect(r.name).toBe('last-000000002');
    expect(r.reusedBytes).toBeGreaterThanOrEqual(300_000 * 4);
    expect(r.downloadedBytes).toBeLessThan(3 * 3000 * 4 + 10_000);
    expect(fake.stats.downloadBytes).toBeLessThan(3 * 3000 * 4 + 20_000);
    expect(await filesOf(r.dir!)).toEqual(original);
  });

  it('falls back to an older checkpoint when the newest has a missing or corrupt blob', async () => {
    const store = new LocalDirStore(tmp('dt-store-'));
    const runDir = path.join(tmp('dt-run-'), 'fb');
    const mgr = await CheckpointManager.open(runDir, {}, { warn: quiet });
    const backup = startBackup({ store, runDir });
    backup.enqueue(await saveStep(mgr, 1, { backbone: 100, head: 10 })); await backup.flush();
    backup.enqueue(await saveStep(mgr, 2, { backbone: 100, head: 10 })); await backup.flush();
    await mgr.close();
    const m2 = await readStoreManifest(store, 'fb', 'last-000000002');
    const m1 = await readStoreManifest(store, 'fb', 'last-000000001');
    const used1 = new Set(m1.files.flatMap((f) => f.segments.map((s) => s.sha256)));
    const only2 = m2.files.flatMap((f) => f.segments).find((s) => !used1.has(s.sha256))!;
    await fsp.writeFile(path.join(store.root, blobPath('fb', only2.sha256)), Buffer.alloc(only2.size, 7)); // corrupt, same size
    const into = tmp('dt-into-');
    const r = await restore({ from: store, run: 'fb', into, log: quiet });
    expect(r.globalStep).toBe(1);
    expect(r.rejected.map((x) => x.name)).toEqual(['last-000000002']);
    expect((await loadCheckpoint(r.dir!)).state.globalStep).toBe(1);
    const again = await restore({ from: store, run: 'fb', into, log: quiet });
    expect(again.source).toBe('local');
    expect(again.message).toMatch(/\(step 1\) is valid and the newer backups failed verification \(last-000000002\): keeping the local copy/);
  });
});
