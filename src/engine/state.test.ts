// The device seam, exercised on the CPU with an instrumented backend: state is placed once,
// replaced tensors are disposed after each step, a rejected (NaN) step disposes only its own
// outputs, and host copies are made only by getState(). Also the WebGPU session options map.
import type * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { crossEntropy, Linear, Sequential } from '../nn/index.js';
import { SGD } from '../optim/index.js';
import type { NamedTensor } from '../tensor.js';
import { CpuBackend, WebGpuBackend } from './backend.js';
import { Engine, NonFiniteLossError } from './engine.js';

class Recording extends CpuBackend {
  disposed: ort.Tensor[] = [];
  uploads = 0;
  downloads = 0;
  released = false;
  override dispose(t: ort.Tensor) { this.disposed.push(t); }
  override async release() { this.released = true; }
  override async upload(ts: readonly NamedTensor[]) { this.uploads += ts.length; return super.upload(ts); }
  override async download(ts: ReadonlyMap<string, ort.Tensor>) { this.downloads += ts.size; return super.download(ts); }
}

describe('StateStore through the engine', () => {
  it('places state once, disposes replaced tensors, rejects NaN steps without leaking, downloads only in getState', async () => {
    const backend = new Recording();
    const e = await Engine.create({ model: new Sequential({ fc: new Linear(3, 2) }), loss: crossEntropy(), optimizer: new SGD({ lr: 0.1, momentum: 0.9 }), batchSize: 4, inputs: { x: { shape: [3] }, y: { shape: [], dtype: 'int64' } }, backend });
    const stateCount = 2 + 2 + 1; // params, momentum buffers, step
    expect(backend.uploads).toBe(stateCount);
    const batch = { x: { dtype: 'float32' as const, shape: [4, 3], data: new Float32Array(12).fill(0.5) }, y: { dtype: 'int64' as const, shape: [4], data: new BigInt64Array(4) } };
    for (let i = 0; i < 3; i++) await e.step(batch);
    expect(backend.disposed.length).toBe(3 * stateCount);
    expect(backend.downloads).toBe(0);
    const nan = { ...batch, x: { ...batch.x, data: new Float32Array(12).fill(NaN) } };
    await expect(e.step(nan)).rejects.toBeInstanceOf(NonFiniteLossError);
    expect(backend.disposed.length).toBe(4 * stateCount); // the rejected step's own outputs
    await e.evaluate(batch);
    expect(backend.downloads).toBe(0);
    const st = await e.getState();
    expect(backend.downloads).toBe(stateCount);
    expect(st.get('opt.step')!.data[0]).toBe(3);
    await e.release();
  });

  it('a graph error in create() frees the state it placed and releases the backend', async () => {
    const backend = new Recording();
    const model = new Sequential({ fc: new Linear(3, 2), head: new Linear(5, 2) });
    await expect(Engine.create({ model, loss: crossEntropy(), optimizer: new SGD({ lr: 0.1 }), batchSize: 4, inputs: { x: { shape: [3] }, y: { shape: [], dtype: 'int64' } }, backend }))
      .rejects.toThrow(/Linear "head": input has shape \[2\]/);
    expect(backend.uploads).toBe(5); // params of fc and head, step
    expect(backend.disposed.length).toBe(backend.uploads);
    expect(backend.released).toBe(true);
  });

  it('keeps at most 4 last-batch sessions per kind besides the main one, dropping the oldest', async () => {
    class Counting extends CpuBackend { built = 0; override sessionOptions(o: readonly string[], d: ReadonlySet<string>, t: object) { this.built++; return super.sessionOptions(o, d, t); } }
    const backend = new Counting();
    const e = await Engine.create({ model: new Sequential({ fc: new Linear(3, 2) }), loss: crossEntropy(), optimizer: new SGD({ lr: 0.1 }), batchSize: 8, inputs: { x: { shape: [3] }, y: { shape: [], dtype: 'int64' } }, backend });
    const batch = (b: number) => ({ x: { dtype: 'float32' as const, shape: [b, 3], data: new Float32Array(3 * b).fill(0.5) }, y: { dtype: 'int64' as const, shape: [b], data: new BigInt64Array(b) } });
    for (const b of [8, 1, 2, 3, 4, 5]) await e.step(batch(b)); // main + 5 sizes: size 1 is dropped for size 5
    expect(backend.built).toBe(6);
    for (const b of [8, 2, 3, 4, 5]) await e.step(batch(b));
    expect(backend.built).toBe(6);
    await e.step(batch(1));
    expect(backend.built).toBe(7);
    await e.release();
  });

  it('WebGPU session options keep *_new state on the GPU and metrics on the CPU', () => {
    const o = new WebGpuBackend().sessionOptions(['loss', 'accuracy', 'param.w_new', 'opt.step_new'], new Set(['param.w_new', 'opt.step_new']), { threads: 2 });
    expect(o.executionProviders).toEqual(['webgpu']);
    expect(o.preferredOutputLocation).toEqual({ loss: 'cpu', accuracy: 'cpu', 'param.w_new': 'gpu-buffer', 'opt.step_new': 'gpu-buffer' });
    expect(o.intraOpNumThreads).toBe(2);
  });
});
