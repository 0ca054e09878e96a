// The store is reconciled with every kept local checkpoint when a backup starts: a best that a
// killed process never uploaded goes up with the next run (not only the newest), and a restore
// on a fresh machine brings back the newest, the best (metadata.json names it, so the next stage
// finds it) and the metrics log (the history that checkpoints no longer carry).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { loadIndex } from '../src/backup/publish.js';
import { restore } from '../src/backup/restore.js';
import { readRunMetadata } from '../src/checkpoint/metadata.js';
import { LocalDirStore } from '../src/storage/local-store.js';
import { bestCheckpoint, train } from '../src/train/run.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dt-reconcile-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
// the best by the highest train_loss: the first epoch (the loss falls), never the newest
const cfg = { model: 'glyph-tiny', data: { n: 128, seed: 5 }, batchSize: 16, threads: 1, seed: 3, lr: 0.05, checkpoint: { monitor: 'train_loss', mode: 'max', keepLast: 1 } } as const;

it('uploads the local best the store lacks when the next run starts; restore brings back newest, best and the log', async () => {
  const out = path.join(tmp, 'rec');
  await train({ ...cfg, out, epochs: 2 }); // as if killed before any upload: nothing on the store
  const meta = (await readRunMetadata(out))!;
  expect(meta.best?.name).toBe('last-000000007');
  expect(meta.checkpoints.map((c) => c.name)).toEqual(['last-000000007', 'last-000000014']);

  const drive = path.join(tmp, 'drive');
  const s = await train({ ...cfg, out, epochs: 3 }, { backup: { to: drive } });
  expect(s.reason).toBe('completed');
  const idx = (await loadIndex(new LocalDirStore(drive), 'rec'))!;
  expect(idx.checkpoints.map((c) => c.name).sort()).toEqual(['last-000000007', 'last-000000021']);
  expect(idx.best).toEqual({ name: 'last-000000007', metric: 'train_loss', mode: 'max', minDelta: 0 });

  const into = path.join(tmp, 'fresh', 'rec');
  const r = await restore({ from: new LocalDirStore(drive), run: 'rec', into, log: () => {} });
  expect([r.source, r.name, r.best]).toEqual(['store', 'last-000000021', 'last-000000007']);
  expect(fs.readdirSync(path.join(into, 'checkpoints')).sort()).toEqual(['last-000000007', 'last-000000021']);
  expect(await bestCheckpoint(into)).toBe(path.join(into, 'checkpoints', 'last-000000007'));
  expect(fs.readFileSync(path.join(into, 'metrics.jsonl'), 'utf8')).toBe(fs.readFileSync(path.join(out, 'metrics.jsonl'), 'utf8'));
  // resumed there: the whole history is back (from the log; state.json holds only its ends)
  const more = await train({ ...cfg, out: into, epochs: 4 });
  expect([more.resumedFrom, more.history.map((h) => h.epoch)]).toEqual([path.join(into, 'checkpoints', 'last-000000021'), [0, 1, 2, 3]]);
  expect(more.history.slice(0, 3)).toEqual(s.history);
}, 120_000);
