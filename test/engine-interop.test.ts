// Interop: the exported inference model's initializers and safetensors files initialise another
// engine by name; strict mode fails on any mismatch; reports list matched/missing/unexpected.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeSafetensors } from '../src/checkpoint/safetensors.js';
import { Engine, readOnnxInitializers } from '../src/engine/index.js';
import { BatchNorm2d, Conv2d, crossEntropy, Flatten, Linear, ReLU, Sequential } from '../src/nn/index.js';
import { AdamW } from '../src/optim/index.js';
import { Rng } from '../src/random.js';
import type { NamedTensor } from '../src/tensor.js';

const dir = await mkdtemp(join(tmpdir(), 'dt-interop-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

const rng = new Rng(9);
const x = { dtype: 'float32' as const, shape: [8, 2, 6, 6], data: Float32Array.from({ length: 8 * 72 }, () => rng.normal()) };
const y = { dtype: 'int64' as const, shape: [8], data: BigInt64Array.from({ length: 8 }, (_, i) => BigInt(i % 3)) };

function make(seed: number) {
  const model = new Sequential({ conv: new Conv2d(2, 4, 3), bn: new BatchNorm2d(4), act: new ReLU(), flat: new Flatten(), fc: new Linear(64, 3) });
  return Engine.create({ model, loss: crossEntropy(), optimizer: new AdamW({ lr: 1e-2 }), batchSize: 8, inputs: { x: { shape: [2, 6, 6] }, y: { shape: [], dtype: 'int64' } }, seed });
}

describe('engine interop', () => {
  it('weights from an exported ONNX model load by name (strict) and reproduce predictions', async () => {
    const a = await make(1);
    for (let i = 0; i < 5; i++) await a.step({ x, y });
    const file = join(dir, 'a.onnx');
    await a.exportInference({ path: file });
    const inits = await readOnnxInitializers(file);
    expect([...inits.keys()].filter((k) => !k.startsWith('const'))).toEqual(['param.conv.weight', 'param.conv.bias', 'param.bn.weight', 'param.bn.bias', 'param.fc.weight', 'param.fc.bias', 'buffer.bn.running_mean', 'buffer.bn.running_var']);
    const b = await make(2);
    const logs: string[] = [];
    const r = await b.loadWeights(file, { strict: true, log: (m) => logs.push(m) });
    expect(r.matched.length).toBe(8);
    expect(r.missing).toEqual([]);
    expect(r.unexpected).toEqual([]);
    expect(r.ignored.every((n) => n.startsWith('const'))).toBe(true); // graph constants, not weights
    expect(logs[0]).toMatch(/matched 8, missing 0/);
    const [pa, pb] = [await a.predict({ x }), await b.predict({ x })];
    expect(Array.from(pb.output.data as Float32Array)).toEqual(Array.from(pa.output.data as Float32Array));
    expect(b.stepCount).toBe(0); // weights only: optimizer state untouched
    await a.release();
    await b.release();
  });

  it('safetensors with PyTorch-style names; strict fails on mismatches, non-strict loads the rest', async () => {
    const a = await make(3);
    const st = await a.getState();
    const plain: NamedTensor[] = [...st.values()].filter((t) => /^(param|buffer)\./.test(t.name)).map((t) => ({ ...t, name: t.name.replace(/^(param|buffer)\./, '') }));
    plain.push({ name: 'bn.num_batches_tracked', dtype: 'int64', shape: [], data: BigInt64Array.of(5n) });
    const good = join(dir, 'good.safetensors');
    await writeSafetensors(good, plain);
    const b = await make(4);
    const r = await b.loadWeights(good, { strict: true, log: () => {} });
    expect(r.matched.length).toBe(8);
    expect(r.ignored).toEqual(['bn.num_batches_tracked']);
    expect(Array.from((await b.getState()).get('param.fc.weight')!.data as Float32Array)).toEqual(Array.from(st.get('param.fc.weight')!.data as Float32Array));

    const bad = plain.filter((t) => t.name !== 'fc.bias').map((t) => (t.name === 'conv.weight' ? { ...t, shape: [4, 2, 9], data: t.data } : t));
    bad.push({ name: 'head.weight', dtype: 'float32', shape: [1], data: new Float32Array(1) });
    const badFile = join(dir, 'bad.safetensors');
    await writeSafetensors(badFile, bad);
    const c = await make(5);
    const before = await c.getState();
    const logs: string[] = [];
    await expect(c.loadWeights(badFile, { strict: true, log: (m) => logs.push(m) })).rejects.toThrow(/strict.*1 missing, 1 unexpected, 1 mismatched.*nothing was loaded/);
    expect(logs[0]).toMatch(/missing 1: param\.fc\.bias.*unexpected 1: head\.weight.*mismatches 1: conv\.weight float32 \[4,2,9\] vs param\.conv\.weight: float32 \[4,2,3,3\]/);
    expect(Array.from((await c.getState()).get('param.fc.weight')!.data as Float32Array)).toEqual(Array.from(before.get('param.fc.weight')!.data as Float32Array));
    const r2 = await c.loadWeights(badFile, { log: () => {} });
    expect(r2.matched).toEqual(expect.arrayContaining(['param.fc.weight', 'buffer.bn.running_var']));
    expect(r2.matched).not.toContain('param.conv.weight');
    await a.release();
    await b.release();
    await c.release();
  });
});
