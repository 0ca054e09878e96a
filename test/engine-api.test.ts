// Engine API behaviour: bad-input messages, NaN/Inf loss reporting, device selection errors,
// state round trips, freezing and parameter groups, learning-rate inputs, multi-head losses.
import { describe, expect, it } from 'vitest';
import { DeviceUnavailableError, Engine, NonFiniteLossError, probeWebGpu } from '../src/engine/index.js';
import type { EngineOptions } from '../src/engine/index.js';
import { combineLosses, crossEntropy, Linear, Module, mse, ReLU, Sequential, ShapeError } from '../src/nn/index.js';
import type { ForwardContext } from '../src/nn/index.js';
import type { Graph } from '../src/onnx/graph.js';
import { AdamW, SGD } from '../src/optim/index.js';
import { prototypeSet, slice } from './support/synthetic.js';

const set = prototypeSet(512, 16, 4, 3, 0.5);
const batch = slice(set, 0, 32);
const io = { x: { shape: [16] }, y: { shape: [], dtype: 'int64' as const } };

function small(extra: Partial<EngineOptions> = {}) {
  const model = new Sequential({ backbone: new Sequential({ fc: new Linear(16, 32), act: new ReLU() }), head: new Linear(32, 4) });
  return Engine.create({ model, loss: crossEntropy(), optimizer: new AdamW({ lr: 1e-2 }), batchSize: 32, inputs: io, threads: 1, ...extra });
}

const bits = (t: { data: unknown }) => Array.from(t.data as Float32Array);

describe('engine: bad input is named', () => {
  it('a layer shape mismatch names the layer and both shapes', async () => {
    const model = new Sequential({ fc1: new Linear(16, 32), fc2: new Linear(64, 4) });
    await expect(Engine.create({ model, loss: crossEntropy(), optimizer: new SGD({ lr: 0.1 }), batchSize: 8, inputs: io }))
      .rejects.toThrow(/Linear "fc2": input has shape \[32\] but this layer expects \[64\]/);
    await expect(Engine.create({ model, loss: crossEntropy(), optimizer: new SGD({ lr: 0.1 }), batchSize: 8, inputs: io })).rejects.toBeInstanceOf(ShapeError);
  });
  it('batch problems say what to fix', async () => {
    const e = await small();
    await expect(e.step({ x: batch.x })).rejects.toThrow(/batch is missing input "y" \(int64 \[b, \]\)/);
    await expect(e.step({ x: batch.x, y: { ...batch.y, dtype: 'int32', data: new Int32Array(32) } })).rejects.toThrow(/"y" is int32; the engine was declared with int64/);
    await expect(e.step({ x: { ...batch.x, shape: [32, 15] }, y: batch.y })).rejects.toThrow(/"x" has shape \[32,15\]; expected float32 \[b, 16\]/);
    await expect(e.step({ x: batch.x, y: slice(set, 0, 31).y })).rejects.toThrow(/disagree on the batch size/);
    await e.release();
  });
  it('options problems say what to fix', async () => {
    await expect(small({ frozen: 'backbone.conv*' })).rejects.toThrow(/frozen pattern "backbone.conv\*" matches no parameter/);
    await expect(small({ batchSize: 0 })).rejects.toThrow(/batchSize must be a positive integer/);
    await expect(small({ device: 'cuda' as never })).rejects.toThrow(/device must be 'cpu', 'webgpu' or 'auto'/);
    await expect(small({ inputs: { x: { shape: [16] } } })).rejects.toThrow(/the loss reads batch input "y"/);
    const e = await small();
    expect(() => e.setLr({ head: 1 })).toThrow(/no parameter group "head" \(groups: default\)/);
    expect(() => e.setLr(NaN)).toThrow(/finite number/);
    await e.release();
  });
});

describe('engine: non-finite loss', () => {
  it('step() throws NonFiniteLossError and leaves the state untouched', async () => {
    const e = await small();
    await e.step(batch);
    const before = await e.getState();
    const bad = { x: { ...batch.x, data: (batch.x.data as Float32Array).slice() }, y: batch.y };
    (bad.x.data as Float32Array)[5] = NaN;
    const err = await e.step(bad).catch((x) => x);
    expect(err).toBeInstanceOf(NonFiniteLossError);
    expect(err.message).toMatch(/loss is NaN at step 2.*not applied/);
    expect(err.metrics.loss).toBeNaN();
    expect(e.stepCount).toBe(1);
    const after = await e.getState();
    for (const [k, t] of before) expect(bits(after.get(k)!), k).toEqual(bits(t));
    (bad.x.data as Float32Array)[5] = Infinity;
    await expect(e.step(bad)).rejects.toBeInstanceOf(NonFiniteLossError);
    await e.step(batch); // continues from the good state
    expect(e.stepCount).toBe(2);
    await e.release();
  });
});

describe('engine: devices', () => {
  it("'webgpu' without an adapter fails naming the missing pieces; 'auto' falls back to CPU and says so", async (ctx) => {
    if (!(await probeWebGpu())) {
      console.log('skipped: this host has a WebGPU adapter; test/gpu-setup.test.ts covers the no-adapter path in a child process whose Vulkan loader sees no driver');
      ctx.skip();
    }
    const err = await small({ device: 'webgpu' }).catch((x) => x);
    expect(err).toBeInstanceOf(DeviceUnavailableError);
    expect(err.message).toMatch(/WebGPU is not available: .*adapter/);
    expect(err.message).toMatch(/libvulkan1|GPU driver|Vulkan ICD/);
    const lines: string[] = [];
    const e = await small({ device: 'auto', log: (m) => lines.push(m) });
    expect(e.device).toBe('cpu');
    expect(lines.join('\n')).toMatch(/device auto → cpu/);
    await e.release();
  });
});

describe('engine: state, freezing, groups, schedules', () => {
  it('getState/setState round trip; strict and weightsOnly', async () => {
    const a = await small({ seed: 1 });
    for (let i = 0; i < 3; i++) await a.step(slice(set, i * 32, 32));
    const st = await a.getState();
    expect(st.get('opt.step')!.data[0]).toBe(3);
    expect([...st.keys()]).toContain('opt.m.backbone.fc.weight');
    const b = await small({ seed: 2 });
    const r = await b.setState(st);
    expect(r.missing).toEqual([]);
    expect(b.stepCount).toBe(3);
    const [ma, mb] = [await a.step(batch), await b.step(batch)];
    expect(mb).toEqual(ma);
    const partial = new Map([...st].filter(([k]) => k.startsWith('param.')));
    await expect(b.setState(partial)).rejects.toThrow(/missing opt\.m\.backbone\.fc\.weight/);
    await b.setState(partial, { weightsOnly: true });
    const wrong = new Map(st);
    wrong.set('param.head.bias', { name: 'param.head.bias', dtype: 'float32', shape: [5], data: new Float32Array(5) });
    wrong.set('param.extra', { name: 'param.extra', dtype: 'float32', shape: [1], data: new Float32Array(1) });
    await expect(b.setState(wrong)).rejects.toThrow(/param\.head\.bias: got float32 \[5\], the model needs float32 \[4\][\s\S]*unexpected param\.extra/);
    await a.release();
    await b.release();
  });

  it('frozen parameters get no gradient or optimizer state; groups have their own lr inputs', async () => {
    const e = await small({ frozen: 'backbone.*', groups: [{ name: 'head', params: 'head', lr: 0.05, weightDecay: 0 }] });
    expect(e.groups).toEqual({ head: ['head.weight', 'head.bias'] });
    const before = await e.getState();
    expect([...before.keys()].filter((k) => k.startsWith('opt.'))).toEqual(['opt.m.head.weight', 'opt.m.head.bias', 'opt.v.head.weight', 'opt.v.head.bias', 'opt.step']);
    await e.step(batch);
    const after = await e.getState();
    expect(bits(after.get('param.backbone.fc.weight')!)).toEqual(bits(before.get('param.backbone.fc.weight')!));
    expect(bits(after.get('param.head.bias')!)).not.toEqual(bits(before.get('param.head.bias')!));
    e.setLr({ head: 0 });
    expect(e.getLr()).toEqual({ head: 0 });
    await e.step(batch);
    const same = await e.getState();
    expect(bits(same.get('param.head.bias')!)).toEqual(bits(after.get('param.head.bias')!)); // lr 0, wd 0: no change
    expect(bits(same.get('opt.m.head.bias')!)).not.toEqual(bits(after.get('opt.m.head.bias')!)); // moments still move
    await e.release();
  });

  it('gradient clipping reports grad_norm; per-group learning rates differ', async () => {
    const e = await small({ optimizer: new SGD({ lr: 0.1 }), clipGradNorm: 1e-3, groups: [{ name: 'backbone', params: ['backbone'], lr: 0.01 }] });
    const before = await e.getState();
    const m = await e.step(batch);
    expect(m.grad_norm).toBeGreaterThan(1e-3);
    const after = await e.getState();
    // Clipped to norm 1e-3 and lr ≤ 0.1: no parameter moves by more than 1e-4.
    for (const k of ['param.head.weight', 'param.backbone.fc.weight']) {
      const d = bits(after.get(k)!).map((v, i) => Math.abs(v - bits(before.get(k)!)[i]));
      expect(Math.max(...d)).toBeLessThanOrEqual(1e-4 + 1e-7);
    }
    expect(Object.keys(e.getLr())).toEqual(['backbone', 'default']);
    await e.release();
  });
});

/** Two heads: class logits and a 2-D box regression. */
class TwoHead extends Module<string, Record<string, string>> {
  body = this.add('body', new Sequential(new Linear(16, 32), new ReLU()));
  cls = this.add('cls', new Linear(32, 4));
  box = this.add('box', new Linear(32, 2));
  forward(g: Graph, x: string, ctx: ForwardContext) {
    const h = this.body.forward(g, x, ctx);
    return { cls: this.cls.forward(g, h, ctx), box: this.box.forward(g, h, ctx) };
  }
}

describe('engine: multi-head models', () => {
  it('combined weighted losses report their parts and train both heads', async () => {
    const model = new TwoHead();
    const loss = combineLosses({ cls: { loss: crossEntropy({ output: 'cls', target: 'label' }), weight: 1 }, box: { loss: mse({ output: 'box', target: 'box' }), weight: 5 } });
    const e = await Engine.create({ model, loss, optimizer: new AdamW({ lr: 1e-2 }), batchSize: 32, inputs: { x: { shape: [16] }, label: { shape: [], dtype: 'int64' }, box: { shape: [2] } } });
    const boxes = new Float32Array(64).map((_, i) => (batch.x.data as Float32Array)[Math.floor(i / 2) * 16 + (i % 2)]);
    const b = { x: batch.x, label: batch.y, box: { dtype: 'float32' as const, shape: [32, 2], data: boxes } };
    const m0 = await e.step(b);
    expect(Object.keys(m0).sort()).toEqual(['box_loss', 'cls_accuracy', 'cls_loss', 'loss']);
    expect(m0.loss).toBeCloseTo(m0.cls_loss + 5 * m0.box_loss, 4);
    let m = m0;
    for (let i = 0; i < 60; i++) m = await e.step(b);
    expect(m.cls_loss).toBeLessThan(m0.cls_loss / 4);
    expect(m.box_loss).toBeLessThan(m0.box_loss / 4);
    const p = await e.predict({ x: batch.x });
    expect(Object.keys(p).sort()).toEqual(['output_box', 'output_cls']);
    await e.release();
  });
});

describe('engine: parameters the loss does not read', () => {
  it('are left untouched with their optimizer slots (PyTorch skips grad None: no weight decay)', async () => {
    const e = await Engine.create({ model: new TwoHead(), loss: crossEntropy({ output: 'cls' }), optimizer: new AdamW({ lr: 1e-2, weightDecay: 0.1 }), batchSize: 32, inputs: io });
    const before = await e.getState();
    for (let i = 0; i < 3; i++) await e.step(batch);
    const after = await e.getState();
    for (const k of ['param.box.weight', 'param.box.bias', 'opt.m.box.weight', 'opt.v.box.bias']) expect(bits(after.get(k)!), k).toEqual(bits(before.get(k)!));
    expect(bits(after.get('param.cls.weight')!)).not.toEqual(bits(before.get('param.cls.weight')!));
    await e.release();
    await expect(Engine.create({ model: new TwoHead(), loss: crossEntropy({ output: 'cls' }), optimizer: new SGD({ lr: 0.1 }), batchSize: 32, inputs: io, frozen: ['body', 'cls'] }))
      .rejects.toThrow(/the loss depends on no trainable parameter/);
  });
});

/** Two model inputs (a record) → one output. */
class Pair extends Module<Record<string, string>, string> {
  fa = this.add('fa', new Linear(3, 4));
  fb = this.add('fb', new Linear(2, 4));
  forward(g: Graph, x: Record<string, string>, ctx: ForwardContext) {
    return g.op('Add', [this.fa.forward(g, x.a, ctx), this.fb.forward(g, x.b, ctx)]);
  }
}

describe('engine: inputs', () => {
  it('several model inputs arrive as a record; modelInputs can overlap loss targets (autoencoder)', async () => {
    const e = await Engine.create({ model: new Pair(), loss: mse({ target: 't' }), optimizer: new SGD({ lr: 0.1 }), batchSize: 4, inputs: { a: { shape: [3] }, b: { shape: [2] }, t: { shape: [4] }, unused: { shape: [1] } }, modelInputs: ['a', 'b'] });
    const f = (n: number) => ({ dtype: 'float32' as const, shape: [4, n], data: new Float32Array(4 * n).fill(0.5) });
    const m0 = await e.step({ a: f(3), b: f(2), t: f(4) });
    const m1 = await e.step({ a: f(3), b: f(2), t: f(4) });
    expect(m1.loss).toBeLessThan(m0.loss);
    await e.release();
    const ae = await Engine.create({ model: new Sequential(new Linear(4, 2), new Linear(2, 4)), loss: mse({ target: 'x' }), optimizer: new SGD({ lr: 0.1 }), batchSize: 4, inputs: { x: { shape: [4] } }, modelInputs: ['x'] });
    expect(Number.isFinite((await ae.step({ x: f(4) })).loss)).toBe(true);
    await ae.release();
  });
});
