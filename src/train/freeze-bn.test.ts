// freezeBn: the BatchNorm layers of frozen groups normalise with their running statistics and keep
// them (PyTorch users' backbone.eval()); BatchNorm layers of trained groups update as usual.
import { describe, expect, it } from 'vitest';
import { configFromFlags } from '../cli/train-flags.js';
import { Conv2d, Flatten, Linear, ReLU, Sequential } from '../nn/layers.js';
import { crossEntropy } from '../nn/loss.js';
import { BatchNorm2d } from '../nn/norm.js';
import { Module } from '../nn/module.js';
import type { Graph } from '../onnx/graph.js';
import type { ForwardContext } from '../nn/module.js';
import { Rng } from '../random.js';
import { tensor, type TensorMap } from '../tensor.js';
import { parseTrainConfig } from './config.js';
import { createEngine } from './engine-adapter.js';
import type { ModelSpec } from './detector.js';
import { heldBatchNormNote } from './preflight.js';

class Net extends Module {
  readonly backbone = this.add('backbone', new Sequential({ conv: new Conv2d(1, 4, 3, { padding: 1 }), bn: new BatchNorm2d(4), relu: new ReLU() }));
  readonly head: Sequential;
  constructor(headBn: boolean) {
    super();
    this.head = this.add('head', new Sequential({ conv: new Conv2d(4, 4, 3, { padding: 1 }), ...(headBn ? { bn: new BatchNorm2d(4) } : {}), relu: new ReLU(), flatten: new Flatten(), fc: new Linear(4 * 6 * 6, 3) }));
  }
  forward(g: Graph, x: string, ctx: ForwardContext): string {
    return this.head.forward(g, this.backbone.forward(g, x, ctx), ctx);
  }
}

const spec = (headBn: boolean): ModelSpec => ({ model: new Net(headBn), loss: crossEntropy({ target: 'label' }), input: 'image', groups: ['backbone', 'head'], rename: {} });
const rng = new Rng(3);
const batch = {
  image: tensor('image', 'float32', [8, 1, 6, 6], Float32Array.from({ length: 8 * 36 }, () => rng.normal() * 2 + 1)),
  label: tensor('label', 'int64', [8], BigInt64Array.from({ length: 8 }, (_, i) => BigInt(i % 3))),
};

async function twoSteps(headBn: boolean, freezeBn: boolean) {
  const s = spec(headBn);
  const cfg = parseTrainConfig({ epochs: 1, lr: 0.1, batchSize: 8, threads: 1, freeze: ['backbone'], freezeBn });
  const e = await createEngine(s, cfg, batch);
  try {
    const before = await e.evaluate(batch);
    const first = await e.step(batch, { lr: { head: 0.1 } });
    await e.step(batch, { lr: { head: 0.1 } });
    return { before, first, state: await e.getState(), note: heldBatchNormNote(cfg, s.model) };
  } finally {
    await e.dispose();
  }
}

const values = (t: TensorMap, name: string) => Array.from(t.get(name)!.data as Float32Array);

describe('freezeBn', () => {
  it("holds the frozen groups' BatchNorm statistics; the trained groups' ones move", async () => {
    const held = await twoSteps(true, true);
    expect(values(held.state, 'buffer.backbone.bn.running_mean')).toEqual([0, 0, 0, 0]);
    expect(values(held.state, 'buffer.backbone.bn.running_var')).toEqual([1, 1, 1, 1]);
    expect(values(held.state, 'buffer.head.bn.running_mean').some((v) => v !== 0)).toBe(true);
    expect(values(held.state, 'buffer.head.bn.running_var').some((v) => v !== 1)).toBe(true);
    expect(held.note).toBe('freezeBn: the running statistics of 1 BatchNorm layer in backbone are held (used, not updated)');
    // without freezeBn a frozen group's statistics follow the batches (PyTorch without .eval())
    const moving = await twoSteps(true, false);
    expect(values(moving.state, 'buffer.backbone.bn.running_mean').some((v) => v !== 0)).toBe(true);
    expect(moving.note).toBeNull();
  });

  it('a held layer normalises with the running statistics: the first step sees the eval-mode loss', async () => {
    const held = await twoSteps(false, true);
    expect(held.first.loss).toBeCloseTo(held.before.loss, 6);
    const batchStats = await twoSteps(false, false);
    expect(Math.abs(batchStats.first.loss - batchStats.before.loss)).toBeGreaterThan(1e-3);
  });

  it('is a config key, a runbook key and the --freeze-bn flag', () => {
    expect(configFromFlags({ epochs: 1, lr: 0.1, freezeBackbone: true, freezeBn: true })).toMatchObject({ freeze: ['backbone'], freezeBn: true });
    expect(parseTrainConfig({ epochs: 1, lr: 0.1 }).freezeBn).toBe(false);
    expect(heldBatchNormNote(parseTrainConfig({ epochs: 1, lr: 0.1, freezeBn: true }), new Net(false))).toMatch(/^freezeBn: no parameter group is frozen/);
  });
});
