// Faults on 10 % of Drive requests across 50 checkpoints: every backup converges and verifies,
// and at no moment does latest.json name a manifest or blob that is not fully there.
import { createHash } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startBackup } from '../src/backup/backup.js';
import { StoreIndexSchema, StoreManifestSchema } from '../src/backup/format.js';
import { readIndex, readStoreManifest } from '../src/backup/publish.js';
import { restore } from '../src/backup/restore.js';
import { CheckpointManager, loadCheckpoint } from '../src/checkpoint/index.js';
import { saveStep } from './support/checkpoints.js';
import type { FakeDrive } from './support/fake-drive.js';
import { FOLDER } from './support/fake-drive-files.js';
import { fakeDriveStore, startFakeDrive } from './support/fake-drive-store.js';

let fake: FakeDrive;
beforeAll(async () => { fake = await startFakeDrive(); });
afterAll(async () => { await fake.stop(); });

/** Check the server's state directly (synchronously, so no race): returns problems found. */
function invariantProblems(run: string): string[] {
  const runFolder = fake.folderByPath(`faults/${run}`);
  if (!runFolder) return [];
  const child = (parent: string, name: string) => fake.childrenOf(parent).find((f) => f.name === name && f.mimeType !== FOLDER);
  const idxFile = child(runFolder.id, 'latest.json');
  if (!idxFile) return [];
  const idx = StoreIndexSchema.parse(JSON.parse(idxFile.data.toString()));
  const mf = fake.folderByPath(`faults/${run}/manifests`);
  const bf = fake.folderByPath(`faults/${run}/blobs`);
  const problems: string[] = [];
  for (const c of idx.checkpoints) {
    const f = mf && child(mf.id, `${c.name}.json`);
    if (!f) { problems.push(`index names ${c.name} but its manifest is missing`); continue; }
    const m = StoreManifestSchema.parse(JSON.parse(f.data.toString()));
    for (const file of m.files) for (const s of file.segments) {
      const b = bf && child(bf.id, s.sha256);
      if (!b) problems.push(`${c.name}: blob ${s.sha256.slice(0, 8)} missing`);
      else if (b.md5 !== s.md5 || createHash('sha256').update(b.data).digest('hex') !== s.sha256) problems.push(`${c.name}: blob ${s.sha256.slice(0, 8)} incomplete`);
    }
  }
  return problems;
}

it('converges through 10 % faults over 50 checkpoints; readers never see a missing blob', async () => {
  const store = await fakeDriveStore(fake, { basePath: 'faults', timeoutMs: 400, attempts: 10 });
  const readerStore = await fakeDriveStore(fake, { basePath: 'faults', timeoutMs: 400, attempts: 10 });
  const runDir = path.join(mkdtempSync(path.join(tmpdir(), 'dt-faults-')), 'f');
  const mgr = await CheckpointManager.open(runDir, {}, { warn: () => {} });
  const backup = startBackup({ store, runDir, retryDelayMs: 20, maxAttempts: 10, thread: true });
  const errors: string[] = [];
  backup.onEvent((e) => { if (e.type === 'error') errors.push(e.error); });

  const problems: string[] = [];
  const timer = setInterval(() => problems.push(...invariantProblems('f')), 2);
  let reading = true;
  let reads = 0;
  const readerViolations: string[] = [];
  const reader = (async () => {
    while (reading) {
      try {
        const idx = await readIndex(readerStore, 'f');
        if (idx?.latest) {
          const m = await readStoreManifest(readerStore, 'f', idx.latest);
          for (const f of m.files) for (const s of f.segments) {
            const st = await readerStore.stat(`f/blobs/${s.sha256}`);
            if (!st || st.md5 !== s.md5) {
              const now = await readIndex(readerStore, 'f');
              if (now?.generation === idx.generation) readerViolations.push(`${idx.latest}: ${s.sha256.slice(0, 8)}`);
            }
          }
          reads++;
        }
      } catch {
        // a read that failed after retries is not a consistency violation
      }
    }
  })();

  fake.faults = { rate: 0.1, kinds: ['429', '403-rate', '500', '503', 'reset', 'stall', 'expire'] };
  try {
    for (let step = 1; step <= 50; step++) {
      backup.enqueue(await saveStep(mgr, step, { backbone: 20_000, head: 70_000 }));
      const st = await backup.flush();
      expect(st.lastBackedUp?.globalStep).toBe(step);
      expect(st.lastError).toBeNull();
    }
  } finally {
    fake.faults = null;
    reading = false;
    clearInterval(timer);
  }
  await reader;
  await backup.close();
  await mgr.close();
  expect(fake.stats.faults).toBeGreaterThan(20);
  expect(problems).toEqual([]);
  expect(readerViolations).toEqual([]);
  expect(reads).toBeGreaterThan(5);
  // every checkpoint the store keeps verifies and loads
  const idx = (await readIndex(store, 'f'))!;
  expect(idx.latest).toBe('last-000000050');
  for (const c of idx.checkpoints) {
    const r = await restore({ from: store, run: 'f', name: c.name, into: mkdtempSync(path.join(tmpdir(), 'dt-faults-r-')), log: () => {} });
    expect((await loadCheckpoint(r.dir!)).state.globalStep).toBe(c.globalStep);
  }
});
