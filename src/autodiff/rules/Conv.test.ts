import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { probeWebGpu } from '../../engine/backend.js';
import { encodeModel } from '../../onnx/model.js';
import { CPU_SESSION_OPTIONS } from '../../onnx/session.js';
import { Rng } from '../../random.js';
import { Graph } from '../../onnx/graph.js';
import { gradients } from '../backward.js';
import { gradcheck } from '../gradcheck.js';
import { convWeightGradTuning } from '../im2col.js';

// onnxruntime's CPU EP has Conv/ConvTranspose kernels for float32 only: checked in float32.
const f32 = { dtype: 'float32' as const, eps: 1e-2, atol: 1e-2, rtol: 2e-2, maxElements: 24 };

describe('Conv VJP', () => {
  it('plain 3×3 with bias', async () => {
    const r = await gradcheck({
      ...f32,
      inputs: [{ name: 'x', shape: [2, 3, 5, 6] }, { name: 'w', shape: [4, 3, 3, 3] }, { name: 'b', shape: [4] }],
      build: (g, v) => g.op('Conv', [v.x, v.w, v.b], { kernel_shape: [3, 3] }),
    });
    expect(r.checked).toBe(24 + 24 + 4);
  });
  it('stride, asymmetric padding, dilation, leftover rows (output_padding path)', async () => {
    await gradcheck({
      ...f32,
      inputs: [{ name: 'x', shape: [2, 2, 8, 7] }, { name: 'w', shape: [3, 2, 3, 2] }],
      build: (g, v) => g.op('Conv', [v.x, v.w], { strides: [2, 3], pads: [1, 0, 2, 1], dilations: [2, 1] }),
    });
  });
  it('groups with bias, large end pad (crop path)', async () => {
    await gradcheck({
      ...f32,
      inputs: [{ name: 'x', shape: [3, 4, 5, 5] }, { name: 'w', shape: [6, 2, 2, 3] }, { name: 'b', shape: [6] }],
      build: (g, v) => g.op('Conv', [v.x, v.w, v.b], { group: 2, pads: [0, 1, 2, 2], strides: [1, 2] }),
    });
  });
  it('depthwise', async () => {
    await gradcheck({
      ...f32,
      inputs: [{ name: 'x', shape: [2, 3, 6, 6] }, { name: 'w', shape: [3, 1, 3, 3] }],
      build: (g, v) => g.op('Conv', [v.x, v.w], { group: 3, pads: [1, 1, 1, 1], strides: [2, 2] }),
    });
  });
  it('1×1 kernel (the patches are X itself), groups and bias', async () => {
    await gradcheck({
      ...f32,
      inputs: [{ name: 'x', shape: [3, 4, 3, 4] }, { name: 'w', shape: [6, 2, 1, 1] }, { name: 'b', shape: [6] }],
      build: (g, v) => g.op('Conv', [v.x, v.w, v.b], { group: 2 }),
    });
  });
  it('1-D', async () => {
    await gradcheck({
      ...f32,
      inputs: [{ name: 'x', shape: [2, 3, 9] }, { name: 'w', shape: [2, 3, 3] }],
      build: (g, v) => g.op('Conv', [v.x, v.w], { strides: [2], pads: [1, 0], dilations: [2] }),
    });
  });
});

describe('Conv VJP: weight gradient in batch chunks (im2col.ts)', () => {
  /** Runs `f` with chunks as small as `maxSlices` (Slice nodes per conv) allows. */
  async function chunked<T>(maxSlices: number, f: () => Promise<T>): Promise<T> {
    const prev = { ...convWeightGradTuning };
    Object.assign(convWeightGradTuning, { chunkBytes: 1, maxSlices });
    try {
      return await f();
    } finally {
      Object.assign(convWeightGradTuning, prev);
    }
  }
  const matmuls = (build: (g: Graph, x: string, w: string, b: string) => string) => {
    const g = new Graph('count');
    const [x, w, b] = [g.input('x', 'float32', [5, 2, 6, 6]), g.input('w', 'float32', [3, 2, 3, 3]), g.input('b', 'float32', [3])];
    const y = build(g, x, w, b);
    gradients(g, g.op('ReduceSum', [y], { keepdims: 0 }), [w, b]);
    return g.nodes.filter((n) => n.op === 'MatMul').length;
  };
  it('uneven chunks (3 + 2 samples), bias folded into the patches, stride 1 and stride 2', async () => {
    await chunked(18, async () => { // 2 chunks of a 3×3 kernel
      expect(matmuls((g, x, w, b) => g.op('Conv', [x, w, b], { pads: [1, 1, 1, 1] }))).toBe(2);
      for (const attrs of [{ pads: [1, 1, 1, 1] }, { pads: [1, 0, 2, 1], strides: [2, 2], dilations: [1, 2] }]) {
        await gradcheck({
          ...f32,
          inputs: [{ name: 'x', shape: [5, 2, 6, 6] }, { name: 'w', shape: [3, 2, 3, 3] }, { name: 'b', shape: [3] }],
          build: (g, v) => g.op('Conv', [v.x, v.w, v.b], attrs),
        });
      }
    });
  });
  it('1-D, stride 1 with dilation and padding, 2 chunks', async () => {
    await chunked(6, () => gradcheck({
      ...f32,
      inputs: [{ name: 'x', shape: [4, 2, 9] }, { name: 'w', shape: [3, 2, 3] }, { name: 'b', shape: [3] }],
      build: (g, v) => g.op('Conv', [v.x, v.w, v.b], { pads: [2, 1], dilations: [2] }),
    }));
  });
  it('groups with bias and dilation, 3 chunks', async () => {
    await chunked(18, () => gradcheck({
      ...f32,
      inputs: [{ name: 'x', shape: [3, 4, 7, 6] }, { name: 'w', shape: [6, 2, 2, 3] }, { name: 'b', shape: [6] }],
      build: (g, v) => g.op('Conv', [v.x, v.w, v.b], { group: 2, pads: [1, 2, 0, 1], dilations: [2, 1] }),
    }));
  });
});

// The formulations must run on the WebGPU EP entirely (no node left for the CPU EP): Lavapipe
// gives CI a software adapter (FACTS.md); skipped with the reason where there is none.
const noAdapter = await probeWebGpu();
describe('Conv and Relu VJPs on the WebGPU EP', () => {
  it.skipIf(!!noAdapter)(`no CPU fallback, same gradients as the CPU EP${noAdapter ? ` (skipped: ${noAdapter})` : ''}`, async () => {
    const prev = { ...convWeightGradTuning };
    Object.assign(convWeightGradTuning, { chunkBytes: 1, maxSlices: 18 }); // 2 chunks per 3×3 conv
    const g = new Graph('webgpu');
    const [x, w, b, w2] = [g.input('x', 'float32', [4, 2, 6, 6]), g.input('w', 'float32', [4, 2, 3, 3]), g.input('b', 'float32', [4]), g.input('w2', 'float32', [4, 2, 3, 3])];
    const y = g.op('Relu', [g.op('Conv', [x, w, b], { pads: [1, 1, 1, 1] })]); // stride-1 (flat) layout, folded bias
    const z = g.op('Conv', [y, w2], { pads: [0, 1, 1, 0], strides: [2, 1], group: 2 }); // strided layout, groups
    const grads = gradients(g, g.op('ReduceSum', [g.op('Mul', [z, z])], { keepdims: 0 }), [x, w, b, w2]);
    Object.assign(convWeightGradTuning, prev);
    for (const [k, v] of grads) g.output(v, `d_${k}`);
    const rng = new Rng(3);
    const feed = (sh: number[]) => new ort.Tensor('float32', Float32Array.from({ length: sh.reduce((a, c) => a * c, 1) }, () => rng.uniform(-1, 1)), sh);
    const feeds = { x: feed([4, 2, 6, 6]), w: feed([4, 2, 3, 3]), b: feed([4]), w2: feed([4, 2, 3, 3]) };
    const bytes = encodeModel(g);
    const cpu = await (await ort.InferenceSession.create(bytes, CPU_SESSION_OPTIONS)).run(feeds);
    const gpu = await ort.InferenceSession.create(bytes, { executionProviders: ['webgpu'], extra: { session: { disable_cpu_ep_fallback: '1' } } });
    const out = await gpu.run(feeds);
    for (const k of Object.keys(cpu)) {
      const a = cpu[k].data as Float32Array, c = out[k].data as Float32Array;
      const scale = Math.max(...a.map(Math.abs));
      expect(Math.max(...a.map((v, i) => Math.abs(v - c[i]))) / scale, k).toBeLessThan(1e-5);
    }
    await gpu.release();
  }, 30_000);
});
