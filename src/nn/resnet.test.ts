// ResNet and the residual modules: torchvision's names and layouts, shapes per stem, values of
// Add / Residual / Identity against a hand computation, and a small ResNet learning in the engine.
import { describe, expect, it } from 'vitest';
import { Engine } from '../engine/engine.js';
import { Graph } from '../onnx/graph.js';
import { runGraph } from '../onnx/session.js';
import { AdamW } from '../optim/adamw.js';
import { Rng } from '../random.js';
import { Linear, ReLU } from './layers.js';
import { crossEntropy } from './loss.js';
import type { ForwardContext } from './module.js';
import { Add, Identity, Residual } from './residual.js';
import { BasicBlock, ResNet, resnet18 } from './resnet.js';

const evalCtx: ForwardContext = { training: false, param: (n) => `param.${n}`, buffer: (n) => `buffer.${n}`, updateBuffer: () => {}, rng: (n) => n, updateRng: () => {} };

describe('ResNet', () => {
  it('uses torchvision names: stem, layerN.i.convK/bnK, downsample.0/1 only where the shape changes, fc', () => {
    const m = resnet18({ numClasses: 10 });
    const names = m.parameters().map((p) => p.name);
    expect(names.slice(0, 3)).toEqual(['conv1.weight', 'bn1.weight', 'bn1.bias']);
    expect(names).toContain('layer1.1.conv2.weight');
    expect(names).toContain('layer4.0.downsample.0.weight');
    expect(names.filter((n) => n.includes('downsample.0'))).toEqual(['layer2.0.downsample.0.weight', 'layer3.0.downsample.0.weight', 'layer4.0.downsample.0.weight']);
    expect(names.slice(-2)).toEqual(['fc.weight', 'fc.bias']);
    expect(m.buffers().map((b) => b.name)).toContain('layer3.1.bn2.running_var');
    expect(m.parameterCount()).toBe(11_181_642); // torchvision resnet18(num_classes=10)
    expect(m.features).toBe(512);
    const small = new ResNet({ layers: [1, 1, 1], width: 4, inChannels: 1, stem: 'small' });
    expect(small.features).toBe(16);
    expect(small.parameters().find((p) => p.name === 'conv1.weight')!.shape).toEqual([4, 1, 3, 3]);
    expect(small.parameters().some((p) => p.name.startsWith('fc.'))).toBe(false);
    expect(() => new ResNet({ layers: [2, 0] })).toThrow(/layers must be positive block counts/);
  });

  it('halves the image 5 times with the imagenet stem and (stages − 1) times with the small one', () => {
    const shape = (m: ResNet, s: number) => {
      const g = new Graph('t');
      for (const p of m.parameters()) g.input(`param.${p.name}`, p.dtype, p.shape);
      for (const b of m.buffers()) g.input(`buffer.${b.name}`, b.dtype, b.shape);
      const x = g.input('x', 'float32', [2, 3, s, s]);
      return g.shape(m.forward(g, x, evalCtx));
    };
    expect(shape(new ResNet({ layers: [1, 1], width: 4 }), 64)).toEqual([2, 8]);
    expect(shape(new ResNet({ layers: [1, 1], width: 4, numClasses: 3 }), 9)).toEqual([2, 3]);
    expect(shape(new ResNet({ layers: [1, 1, 1], width: 4, stem: 'small' }), 8)).toEqual([2, 16]);
  });

  it('Add, Residual and Identity compute post(main(x) + shortcut(x))', async () => {
    const g = new Graph('r');
    const main = new Linear(3, 3, { bias: false, weightInit: () => Float32Array.from({ length: 9 }, (_, i) => (i % 4 === 0 ? 2 : 0)) });
    const r = new Residual(main, { shortcut: new Identity(), post: new ReLU() });
    const w = r.parameters()[0];
    expect(w.name).toBe('main.weight');
    g.input('param.main.weight', 'float32', [3, 3]);
    const x = g.input('x', 'float32', [1, 3]);
    g.output(r.forward(g, x, evalCtx), 'y');
    const out = await runGraph(g, { x: { dtype: 'float32', shape: [1, 3], data: Float32Array.of(1, -2, 0.5) }, 'param.main.weight': { dtype: 'float32', shape: [3, 3], data: w.init([3, 3], new Rng(0)) } });
    expect(Array.from(out.y.data as Float32Array)).toEqual([3, 0, 1.5]); // relu(2x + x)
    const g2 = new Graph('bad');
    expect(() => new Add().forward(g2, [g2.input('a', 'float32', [1, 3]), g2.input('b', 'float32', [1, 4])])).toThrow(/cannot add \[1,3\] and \[1,4\]; a residual branch must keep the shape/);
  });

  it('a small ResNet trains in the engine (loss falls; BatchNorm statistics move)', async () => {
    const model = new ResNet({ layers: [1, 1], width: 4, inChannels: 1, stem: 'small', numClasses: 2 });
    const e = await Engine.create({ model, loss: crossEntropy(), optimizer: new AdamW({ lr: 2e-2 }), batchSize: 8, inputs: { x: { shape: [1, 8, 8] }, y: { shape: [], dtype: 'int64' } }, threads: 1, seed: 1 });
    try {
      const rng = new Rng(4);
      const y = BigInt64Array.from({ length: 8 }, (_, i) => BigInt(i % 2));
      const x = Float32Array.from({ length: 8 * 64 }, (_, k) => rng.normal() * 0.3 + (Number(y[Math.floor(k / 64)]) ? 0.8 : -0.8) * ((k % 64) < 32 ? 1 : 0));
      const batch = { x: { dtype: 'float32' as const, shape: [8, 1, 8, 8], data: x }, y: { dtype: 'int64' as const, shape: [8], data: y } };
      const first = (await e.step(batch)).loss;
      let last = first;
      for (let i = 0; i < 15; i++) last = (await e.step(batch)).loss;
      expect(last).toBeLessThan(first * 0.5);
      const rm = (await e.getState()).get('buffer.layer1.0.bn1.running_mean')!.data as Float32Array;
      expect(rm.some((v) => v !== 0)).toBe(true);
      expect(new BasicBlock(4, 8, 2).downsample).toBeDefined();
      expect(new BasicBlock(4, 4, 1).downsample).toBeUndefined();
    } finally {
      await e.release();
    }
  });
});
