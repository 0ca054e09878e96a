// The inference-only engine: the same outputs and eval metrics as the training engine, one
// dynamic-batch session for every batch size, a fixed batch when the graph bakes it in, and an
// ONNX export (decoded with onnx-proto) with a symbolic batch and metadata that onnxruntime runs.
import * as ort from 'onnxruntime-node';
import onnxProto from 'onnx-proto';
import { describe, expect, it } from 'vitest';
import { BatchNorm2d, Conv2d, Flatten, Linear, Module, ReLU, Sequential, crossEntropy, type ForwardContext } from '../nn/index.js';
import type { Graph } from '../onnx/graph.js';
import { AdamW } from '../optim/adamw.js';
import { Rng } from '../random.js';
import { Engine } from './engine.js';
import { InferenceEngine } from './inference.js';

const rng = new Rng(2);
const x = { dtype: 'float32' as const, shape: [6, 1, 6, 6], data: Float32Array.from({ length: 216 }, () => rng.normal()) };
const y = { dtype: 'int64' as const, shape: [6], data: BigInt64Array.from({ length: 6 }, (_, i) => BigInt(i % 3)) };
const net = () => new Sequential({ conv: new Conv2d(1, 3, 3), bn: new BatchNorm2d(3), act: new ReLU(), flat: new Flatten(), fc: new Linear(48, 3) });
const rows = (t: { data: unknown }, from: number, to: number, per: number) => Array.from(t.data as Float32Array).slice(from * per, to * per);

/** Flattens with a Reshape to [batch, -1]: the batch size is baked into the graph. */
class FixedReshape extends Module {
  forward(g: Graph, v: string, _ctx: ForwardContext): string {
    return g.op('Reshape', [v, g.ints([g.shape(v)[0], -1])]);
  }
}

describe('InferenceEngine', () => {
  it('predicts and evaluates like the training engine, with one dynamic-batch session', async () => {
    const model = net();
    const e = await Engine.create({ model, loss: crossEntropy(), optimizer: new AdamW({ lr: 0.05 }), batchSize: 6, inputs: { x: { shape: [1, 6, 6] }, y: { shape: [], dtype: 'int64' } }, threads: 1 });
    for (let i = 0; i < 3; i++) await e.step({ x, y });
    const inf = await InferenceEngine.create({ model, loss: crossEntropy(), inputs: { x: { shape: [1, 6, 6] }, y: { shape: [], dtype: 'int64' } }, threads: 1 });
    try {
      await inf.setState([...(await e.getState()).values()].filter((t) => /^(param|buffer)\./.test(t.name)));
      expect(inf.isBatchIndependent()).toBe(true);
      const ref = await e.predict({ x });
      const all = await inf.predict({ x });
      const one = await inf.predict({ x: { ...x, shape: [1, 1, 6, 6], data: x.data.slice(0, 36) } });
      for (let i = 0; i < 18; i++) expect(all.output.data[i]).toBeCloseTo(ref.output.data[i] as number, 5);
      expect(Array.from(one.output.data as Float32Array)).toEqual(rows(all.output, 0, 1, 3));
      const m = await inf.evaluate({ x, y });
      const mr = await e.evaluate({ x, y });
      expect(m.loss).toBeCloseTo(mr.loss, 5);
      expect(m.accuracy).toBe(mr.accuracy);
      await expect(inf.setState([{ name: 'param.fc.weight', dtype: 'float32', shape: [3, 4], data: new Float32Array(12) }], { strict: false })).rejects.toThrow(/param\.fc\.weight is float32 \[3,4\], the model has float32 \[3,48\]/);
      await expect(inf.setState([{ name: 'param.nope', dtype: 'float32', shape: [1], data: new Float32Array(1) }])).rejects.toThrow(/has no "param\.nope"/);
    } finally {
      await inf.release();
      await e.release();
    }
  });

  it('exports ONNX with a symbolic batch and metadata; a batch-baked graph exports at a fixed batch', async () => {
    const inf = await InferenceEngine.create({ model: net(), inputs: { x: { shape: [1, 6, 6] } }, seed: 3 });
    const fixed = await InferenceEngine.create({ model: new Sequential({ conv: new Conv2d(1, 2, 3), flat: new FixedReshape(), fc: new Linear(32, 2) }), inputs: { x: { shape: [1, 6, 6] } } });
    try {
      const r = inf.toOnnx({ metadata: { classes: '["a","b","c"]' } });
      expect(r.dynamicBatch).toBe(true);
      const m = onnxProto.onnx.ModelProto.decode(r.bytes);
      const graph = m.graph as InstanceType<typeof onnxProto.onnx.GraphProto>;
      expect(m.metadataProps.map((p) => [p.key, p.value])).toEqual([['classes', '["a","b","c"]']]);
      type VI = { type?: { tensorType?: { shape?: { dim?: { dimParam?: string | null; dimValue?: unknown }[] | null } | null } | null } | null };
      const dims = (vi: VI) => (vi.type?.tensorType?.shape?.dim ?? []).map((d) => d.dimParam || Number(d.dimValue));
      expect(dims(graph.input[0] as VI)).toEqual(['batch', 1, 6, 6]);
      expect(dims(graph.output[0] as VI)).toEqual(['batch', 3]);
      const s = await ort.InferenceSession.create(r.bytes);
      const out5 = await s.run({ x: new ort.Tensor('float32', x.data.slice(0, 180), [5, 1, 6, 6]) });
      const ours = await inf.predict({ x: { ...x, shape: [5, 1, 6, 6], data: x.data.slice(0, 180) } });
      expect(Array.from(out5.output.data as Float32Array)).toEqual(Array.from(ours.output.data as Float32Array));
      await s.release();
      expect(fixed.isBatchIndependent()).toBe(false);
      const f = fixed.toOnnx({ batchSize: 2 });
      expect(f.dynamicBatch).toBe(false);
      expect(dims((onnxProto.onnx.ModelProto.decode(f.bytes).graph as InstanceType<typeof onnxProto.onnx.GraphProto>).input[0] as VI)).toEqual([2, 1, 6, 6]);
      const p3 = await fixed.predict({ x: { ...x, shape: [3, 1, 6, 6], data: x.data.slice(0, 108) } }); // its own session for 3
      expect(p3.output.shape).toEqual([3, 2]);
    } finally {
      await inf.release();
      await fixed.release();
    }
  });
});
