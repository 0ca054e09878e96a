// Restore can only write the one checkpoint it restores: every path of a store manifest must have
// the exact layout drivetrain writes (`checkpoints/<name>/<file>`; folder snapshots inside the
// folder), and a damaged latest.json is named and replaced by the store's manifests.
import { mkdtempSync, promises as fsp, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { startBackup } from '../src/backup/backup.js';
import { indexPath, manifestPath } from '../src/backup/format.js';
import { restore } from '../src/backup/restore.js';
import { CheckpointManager, selectResume, verifyCheckpoint } from '../src/checkpoint/index.js';
import { LocalDirStore } from '../src/storage/local-store.js';
import { saveStep } from './support/checkpoints.js';

const tmp = (p: string) => mkdtempSync(path.join(tmpdir(), p));
const quiet = () => {};

/** A run with local checkpoints at steps 1 and 2 and a store holding steps 1..3 (3 only on the store). */
async function setup() {
  const store = new LocalDirStore(tmp('dt-safe-store-'));
  const runDir = path.join(tmp('dt-safe-run-'), 'safe');
  const mgr = await CheckpointManager.open(runDir, { keep: { lastN: 5 } }, { warn: quiet, writer: 'inline' });
  const backup = startBackup({ store, runDir, thread: false, keep: { lastN: 5, recoveryN: 1 } });
  const local: string[] = [];
  for (const s of [1, 2, 3]) {
    const e = await saveStep(mgr, s, { backbone: 2000, head: 200 });
    backup.enqueue(e);
    await backup.flush();
    local.push(e.dir);
  }
  await backup.close();
  await mgr.close();
  await fsp.rm(local[2], { recursive: true }); // step 3 exists only on the store
  return { store, runDir, local: local.slice(0, 2) };
}

async function tamper(store: LocalDirStore, name: string, edit: (m: Record<string, any>) => void) {
  const file = path.join(store.root, manifestPath('safe', name));
  const m = JSON.parse(readFileSync(file, 'utf8'));
  edit(m);
  await fsp.writeFile(file, JSON.stringify(m));
}

describe('restore refuses manifests that do not have the layout drivetrain writes', () => {
  it('relDir "checkpoints" (would replace every local checkpoint) and five other tamperings: refused, local checkpoints untouched', async () => {
    const { store, runDir, local } = await setup();
    const before = (await fsp.readdir(path.join(runDir, 'checkpoints'))).sort();
    const cases: [string, (m: Record<string, any>) => void, RegExp][] = [
      ['relDir checkpoints', (m) => { m.relDir = 'checkpoints'; }, /relDir is "checkpoints", but checkpoint last-000000003 can only be restored into "checkpoints\/last-000000003"/],
      ['relDir of another checkpoint', (m) => { m.relDir = 'checkpoints/last-000000001'; }, /can only be restored into "checkpoints\/last-000000003"/],
      ['relDir at the run root', (m) => { m.relDir = ''; }, /relDir is ""/],
      ['a file in a subfolder', (m) => { m.files[0].path = 'sub/tensors.safetensors'; }, /file "sub\/tensors\.safetensors" is not a plain file name/],
      ['a hidden file (the run lock)', (m) => { m.files[0].path = '.lock'; }, /file "\.lock" is not a plain file name/],
      ['no manifest.json', (m) => { m.files = m.files.filter((f: { path: string }) => f.path !== 'manifest.json'); }, /it has no manifest\.json/],
    ];
    const original = readFileSync(path.join(store.root, manifestPath('safe', 'last-000000003')), 'utf8');
    for (const [label, edit, why] of cases) {
      await tamper(store, 'last-000000003', edit);
      const err = await restore({ from: store, run: 'safe', into: runDir, log: quiet }).catch((e: Error) => e);
      expect(err, label).toBeInstanceOf(Error);
      expect((err as Error).message, label).toMatch(why);
      expect((err as Error).message, label).toMatch(/^refusing .*manifests\/last-000000003\.json: .*corrupt or was tampered with; nothing local was changed/);
      expect((await fsp.readdir(path.join(runDir, 'checkpoints'))).sort(), label).toEqual(before);
      for (const d of local) await verifyCheckpoint(d);
      await fsp.writeFile(path.join(store.root, manifestPath('safe', 'last-000000003')), original);
    }
    const r = await restore({ from: store, run: 'safe', into: runDir, log: quiet }); // the untampered manifest restores
    expect(r.name).toBe('last-000000003');
    expect((await selectResume(runDir, { warn: quiet }))?.manifest.globalStep).toBe(3);
  });

  it('a truncated or empty latest.json is named and the manifests are used instead', async () => {
    const { store, runDir } = await setup();
    const idx = path.join(store.root, indexPath('safe'));
    const full = readFileSync(idx);
    for (const [label, bytes, why] of [['truncated', full.subarray(0, 300), /not valid JSON, 300 bytes/], ['empty', Buffer.alloc(0), /empty file of 0 bytes/]] as const) {
      await fsp.writeFile(idx, bytes);
      await fsp.rm(path.join(runDir, 'checkpoints', 'last-000000003'), { recursive: true, force: true });
      const logs: string[] = [];
      const r = await restore({ from: store, run: 'safe', into: runDir, log: (m) => logs.push(m) });
      expect(logs[0], label).toMatch(new RegExp(`${idx.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} is unreadable \\(`));
      expect(logs[0], label).toMatch(why);
      expect(logs[0], label).toMatch(/using the 3 manifest\(s\) in .*safe\/manifests instead/);
      expect(r.name, label).toBe('last-000000003');
    }
  });
});
