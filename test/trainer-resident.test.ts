// The trainer feeds in-memory datasets (a TensorDataset or Subsets of one) to the engine by row
// index (resident data); the results are bitwise those of the getBatch + step path: every step's
// metrics, the validation metrics and the final checkpoint (weights, optimizer slots, RNG).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { train } from '../src/train/run.js';
import type { TrainConfigInput } from '../src/train/config.js';
import { TensorDataset, trainValSplit, type Dataset } from '../src/data/dataset.js';
import { glyphDataset } from '../src/data/glyphs.js';
import { diffTensors, finalCheckpoint } from './support/trainer-runs.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dt-resident-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A custom dataset over the same samples: not a TensorDataset view, so the loop uses getBatch. */
const custom = (ds: Dataset | undefined): Dataset | undefined => ds && { length: ds.length, getBatch: (i) => ds.getBatch(i) };

async function run(name: string, cfg: TrainConfigInput, datasets: { train: Dataset; val?: Dataset }) {
  const out = path.join(tmp, name);
  const steps: Record<string, number>[] = [];
  const s = await train({ ...cfg, out }, { datasets, onEvent: (e) => { if (e.type === 'step') steps.push(e.metrics); } });
  expect(s.reason).toBe('completed');
  return { steps, history: s.history, final: await finalCheckpoint(out) };
}

async function compare(name: string, cfg: TrainConfigInput, make: () => { base: TensorDataset; train: Dataset; val?: Dataset }) {
  const a = make();
  const spy = vi.spyOn(a.base, 'getBatch');
  const resident = await run(`${name}-resident`, cfg, { train: a.train, val: a.val });
  expect(spy.mock.calls.length, 'the resident run reads only the first sample through getBatch').toBe(1);
  const b = make();
  const spyB = vi.spyOn(b.base, 'getBatch');
  const fed = await run(`${name}-batches`, cfg, { train: custom(b.train)!, val: custom(b.val) });
  expect(spyB.mock.calls.length).toBeGreaterThan(resident.steps.length);
  expect(resident.steps.length).toBeGreaterThan(10);
  expect(resident.steps).toEqual(fed.steps);
  expect(resident.history).toEqual(fed.history);
  expect(resident.history.at(-1)!.values.val_loss).toBeGreaterThan(0);
  expect(diffTensors(resident.final.tensors, fed.final.tensors)).toEqual([]);
  expect(resident.final.state.globalStep).toBe(fed.final.state.globalStep);
}

describe('resident training data', () => {
  it('glyph-tiny, train and val Subsets of one TensorDataset (uint8 pixels scaled by 1/255): bitwise the getBatch path', async () => {
    const cfg: TrainConfigInput = {
      model: 'glyph-tiny', data: { name: 'glyphs', n: 160 }, epochs: 2, batchSize: 8, optimizer: 'sgd', lr: 0.05, lrGroups: { head: 0.1 },
      momentum: 0.9, weightDecay: 0.001, seed: 11, threads: 1, schedule: { type: 'cosine', warmupSteps: 3 }, checkpoint: { saveSteps: 7 },
    };
    await compare('tiny', cfg, () => {
      const base = glyphDataset({ n: 160, seed: 4 });
      return { base, ...trainValSplit(base, 0.2, 4) };
    });
  });

  it('glyph CNN with AdamW, the TensorDataset itself as train and a separate val set (fed by getBatch)', async () => {
    const cfg: TrainConfigInput = { model: 'glyph', data: { name: 'glyphs', n: 104 }, epochs: 1, batchSize: 8, optimizer: 'adamw', lr: 0.003, seed: 5, threads: 1 };
    await compare('cnn', cfg, () => {
      const base = glyphDataset({ n: 104, seed: 6 });
      return { base, train: base, val: glyphDataset({ n: 20, seed: 7 }) };
    });
  });
});
