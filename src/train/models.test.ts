import { describe, expect, it } from 'vitest';
import { glyphDataset } from '../data/glyphs.js';
import { parseTrainConfig } from './config.js';
import { createEngine } from './engine-adapter.js';
import { createModel } from './models.js';

function iou(a: ArrayLike<number>, b: ArrayLike<number>, i: number): number {
  const box = (x: ArrayLike<number>) => [x[i * 4] - x[i * 4 + 2] / 2, x[i * 4 + 1] - x[i * 4 + 3] / 2, x[i * 4] + x[i * 4 + 2] / 2, x[i * 4 + 1] + x[i * 4 + 3] / 2];
  const [a0, a1, a2, a3] = box(a), [b0, b1, b2, b3] = box(b);
  const inter = Math.max(0, Math.min(a2, b2) - Math.max(a0, b0)) * Math.max(0, Math.min(a3, b3) - Math.max(a1, b1));
  const area = (x0: number, y0: number, x1: number, y1: number) => Math.max(0, x1 - x0) * Math.max(0, y1 - y0);
  return inter / Math.max(area(a0, a1, a2, a3) + area(b0, b1, b2, b3) - inter, 1e-6);
}

describe('glyph models', () => {
  it('report acc, cls/box losses and a box IoU that matches one computed from the predictions', async () => {
    const ds = glyphDataset({ n: 64, seed: 1 });
    const batch = ds.getBatch(Array.from({ length: 16 }, (_, i) => i));
    const cfg = parseTrainConfig({ model: 'glyph-tiny', epochs: 1, lr: 0.1, batchSize: 16, threads: 1 });
    const e = await createEngine(createModel('glyph-tiny', { size: 32, classes: 12 }), cfg, batch);
    try {
      for (let i = 0; i < 20; i++) await e.step(batch, { lr: { backbone: 0.1, head: 0.1 } });
      const m = await e.evaluate(batch);
      expect(Object.keys(m).sort()).toEqual(['acc', 'box_iou', 'box_loss', 'cls_loss', 'loss']);
      const pred = await e.engine.predict(batch);
      const p = pred.output_box.data as Float32Array, t = batch.box.data as Float32Array;
      let sum = 0;
      for (let i = 0; i < 16; i++) sum += iou(p, t, i);
      expect(m.box_iou).toBeCloseTo(sum / 16, 5);
      expect(m.box_iou).toBeGreaterThan(0);
    } finally {
      await e.dispose();
    }
  });

  it('the CNN takes every allowed image size, not only multiples of 8', async () => {
    const ds = glyphDataset({ n: 8, seed: 1, size: 36 });
    const cfg = parseTrainConfig({ model: 'glyph', epochs: 1, lr: 0.1, batchSize: 8, threads: 1, data: { size: 36 } });
    const e = await createEngine(createModel('glyph', { size: 36, classes: 12 }), cfg, ds.getBatch([0]));
    try {
      const m = await e.step(ds.getBatch([0, 1, 2, 3, 4, 5, 6, 7]), { lr: { backbone: 0.1, head: 0.1 } });
      expect(Number.isFinite(m.loss)).toBe(true);
    } finally {
      await e.dispose();
    }
  });

  it('rejects unknown models and groups with the names that exist', async () => {
    expect(() => createModel('resnet50', { size: 32, classes: 12 })).toThrow(/unknown model "resnet50" \(known: glyph, glyph-tiny, mnist, resnet18, resnet34, resnet; or your own module as "\.\/path\/file\.ts#export"\)/);
    const ds = glyphDataset({ n: 8, seed: 1 });
    const cfg = parseTrainConfig({ model: 'glyph-tiny', epochs: 1, lr: 0.1, batchSize: 8, freeze: ['trunk'] });
    await expect(createEngine(createModel('glyph-tiny', { size: 32, classes: 12 }), cfg, ds.getBatch([0]))).rejects.toThrow(/freeze: the model has no parameter group "trunk" \(groups: backbone, head\)/);
  });
});

describe('resnet models', () => {
  it('are detectors on data with boxes and classifiers without; options width/stem/layers; classes from the context', () => {
    const det = createModel('resnet18', { classes: ['a', 'b'], inputShape: [1, 32, 32], task: 'detection', options: { width: 4 } });
    const names = det.model.parameters().map((p) => `${p.name} [${p.shape}]`);
    expect(names).toContain('backbone.conv1.weight [4,1,7,7]');
    expect(names).toContain('backbone.layer4.1.bn2.weight [32]');
    expect(names).toContain('head.cls.weight [2,32]');
    expect(det.task).toBe('detection');
    const cls = createModel('resnet', { classes: 5, inputShape: [3, 16, 16], task: 'classification', options: { layers: [1, 1], width: 2, stem: 'small' } });
    expect(cls.model.parameters().map((p) => p.name)).toEqual(expect.arrayContaining(['backbone.conv1.weight', 'backbone.layer2.0.downsample.1.bias', 'head.weight']));
    expect(cls.rename).toEqual({ accuracy: 'acc' });
    expect(() => createModel('resnet34', { classes: 2, options: { layers: [1] } })).toThrow(/resnet18\/resnet34 fix the layers; use model "resnet"/);
    expect(() => createModel('resnet', { classes: 2, options: { stem: 'tiny' } })).toThrow(/modelOptions\.stem: expected "imagenet" or "small", got "tiny"/);
  });
});
