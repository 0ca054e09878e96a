// Device-resident data on the CPU EP: stepIndices() (dataset fed whole, rows picked by a Gather in
// the graph, uint8 converted in the graph) gives bitwise the same trajectory as step() on the same
// rows gathered on the host — for every placement and for the WebGPU encodings (uint8 packed 3 per
// int32 word, int64 labels as int32), which run here on the CPU EP. Budget / fallback logic runs
// through a backend that calls itself 'webgpu' but keeps tensors on the host.
import type * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { crossEntropy, Linear, ReLU, Sequential } from '../nn/index.js';
import { AdamW } from '../optim/index.js';
import { Rng } from '../random.js';
import type { NamedTensor, Tensor } from '../tensor.js';
import { CpuBackend } from './backend.js';
import type { Backend } from './backend.js';
import { Graph } from '../onnx/graph.js';
import { runGraph } from '../onnx/session.js';
import { CPU_DEFAULT_PLACEMENT, decodeInGraph, encodeRows, hostBatch, planColumns } from './device-data.js';
import type { DeviceDataOptions } from './device-data.js';
import { Engine } from './engine.js';
import type { EngineOptions } from './engine.js';

const N = 70, D = 20, C = 5, B = 16; // D not a multiple of 3: exercises the packed-word tail
const rng = new Rng(7);
const pixels = Uint8Array.from({ length: N * D }, () => rng.int(256));
const labels = BigInt64Array.from({ length: N }, (_, i) => BigInt(Math.min(C - 1, Math.floor(pixels[i * D] / 52)))); // learnable from x
const yCol: Tensor = { dtype: 'int64', shape: [N], data: labels };
const u8: DeviceDataOptions = {
  tensors: { x: { dtype: 'uint8', shape: [N, D], data: pixels }, y: yCol },
  transform: { x: { scale: 1 / 255, shift: -0.5 } },
};
const f32: DeviceDataOptions = {
  tensors: { x: { dtype: 'float32', shape: [N, D], data: Float32Array.from(pixels, (v) => (v - 128) / 37) }, y: yCol },
};
const inputs = { x: { shape: [D] }, y: { shape: [], dtype: 'int64' as const } };

function create(extra: Partial<EngineOptions> = {}) {
  const model = new Sequential({ fc1: new Linear(D, 32), act: new ReLU(), fc2: new Linear(32, C) });
  return Engine.create({ model, loss: crossEntropy(), optimizer: new AdamW({ lr: 1e-2 }), batchSize: B, inputs, threads: 1, seed: 3, ...extra });
}

/** Index batches of one shuffled epoch, including a partial last batch (70 = 4×16 + 6). */
function epoch(seed: number): Int32Array[] {
  const r = new Rng(seed);
  const perm = Int32Array.from({ length: N }, (_, i) => i);
  for (let i = N - 1; i > 0; i--) { const j = r.int(i + 1); [perm[i], perm[j]] = [perm[j], perm[i]]; }
  const out: Int32Array[] = [];
  for (let s = 0; s < N; s += B) out.push(perm.subarray(s, Math.min(N, s + B)));
  return out;
}

const bits = (t: Tensor) => Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).toString('hex');

async function trajectory(e: Engine, data: DeviceDataOptions, viaIndices: boolean) {
  const losses: number[] = [];
  for (const idx of [...epoch(1), ...epoch(2)]) {
    const m = viaIndices ? await e.stepIndices(idx) : await e.step(hostBatch(data, inputs, idx));
    losses.push(m.loss);
  }
  const ev = viaIndices ? await e.evaluateIndices(epoch(3)[0]) : await e.evaluate(hostBatch(data, inputs, epoch(3)[0]));
  const st = await e.getState();
  await e.release();
  return { losses, ev, state: new Map([...st].map(([k, t]) => [k, bits(t)])) };
}

describe('device-resident data (CPU EP)', () => {
  for (const [label, data] of [['uint8 pixels + transform', u8], ['float32 features', f32]] as const) {
    it(`${label}: every placement and encoding is bitwise equal to feeding host batches`, async () => {
      const ref = await trajectory(await create(), data, false);
      expect(ref.losses[ref.losses.length - 1]).toBeLessThan(ref.losses[0]);
      for (const variant of [
        { placement: 'resident' as const }, { placement: 'streamed' as const },
        { placement: 'resident' as const, encodings: 'device' as const }, { placement: 'streamed' as const, encodings: 'device' as const },
      ]) {
        const e = await create({ data: { ...data, ...variant } });
        expect(e.dataPlacement).toBe(variant.placement);
        const got = await trajectory(e, data, true);
        expect(got.losses, JSON.stringify(variant)).toEqual(ref.losses);
        expect(got.ev).toEqual(ref.ev);
        expect(got.state).toEqual(ref.state);
      }
    });
  }

  it('the packed uint8 encoding decodes every byte value in every word position exactly', async () => {
    const n = 256, d = 7; // 3 words per row, the last one partial
    const raw = Uint8Array.from({ length: n * d }, (_, i) => (Math.floor(i / d) + 85 * (i % d)) & 255); // each column: all 256 values
    const { columns } = planColumns({ tensors: { x: { dtype: 'uint8', shape: [n, d], data: raw } }, transform: { x: { scale: 1 } }, encodings: 'device' }, { x: { shape: [d] } }, ['x'], 'cpu');
    expect(columns[0].encoding).toBe('bytes3');
    const enc = encodeRows(columns[0]);
    expect(enc.shape).toEqual([n, 3]);
    const g = new Graph('decode');
    g.output(decodeInGraph(g, columns[0], g.input('w', 'int32', [n, 3]), n), 'x');
    const out = await runGraph(g, { w: enc });
    expect(Array.from(out.x.data as Float32Array)).toEqual(Array.from(raw));
  });

  it('hostBatch matches the float32 arithmetic of the graph and the given rows', () => {
    const b = hostBatch(u8, inputs, [3, 0]);
    expect(b.x.shape).toEqual([2, D]);
    expect((b.x.data as Float32Array)[0]).toBe(Math.fround(Math.fround(pixels[3 * D] * Math.fround(1 / 255)) + -0.5));
    expect(Array.from(b.y.data as BigInt64Array)).toEqual([labels[3], labels[0]]);
  });

  it(`defaults to ${CPU_DEFAULT_PLACEMENT} on the CPU; the engine holds a constant number of tensors`, async () => {
    const e = await create({ data: u8 });
    expect(e.dataPlacement).toBe(CPU_DEFAULT_PLACEMENT);
    const before = e.liveTensors();
    for (const idx of epoch(4)) await e.stepIndices(idx);
    expect(e.liveTensors()).toEqual(before);
    expect(before.state).toBe(e.plan.decls.length);
    await e.release();
  });

  it('bad data and bad indices say what to fix', async () => {
    const y = yCol;
    await expect(create({ data: { tensors: { x: (f32.tensors as Record<string, Tensor>).x } } })).rejects.toThrow(/data.tensors has no "y"/);
    await expect(create({ data: { tensors: { x: { dtype: 'float32', shape: [N, D + 1], data: new Float32Array(N * (D + 1)) }, y } } })).rejects.toThrow(/has shape \[70,21\]; expected \[N, 20\]/);
    await expect(create({ data: { tensors: u8.tensors } })).rejects.toThrow(/x is uint8 but input "x" is float32; .*data.transform.x/);
    await expect(create({ data: { tensors: { x: (f32.tensors as Record<string, Tensor>).x, y: { ...y, shape: [N - 1], data: y.data.subarray(1) } } } })).rejects.toThrow(/disagree on the number of samples/);
    await expect(create({ data: { ...u8, transform: { z: { scale: 1 } } } })).rejects.toThrow(/data.transform.z: the engine reads no batch input "z"/);
    const big = { ...y, data: BigInt64Array.from(labels, (v, i) => (i === 5 ? 1n << 40n : v)) };
    await expect(create({ data: { ...u8, tensors: { ...u8.tensors, y: big }, encodings: 'device' } })).rejects.toThrow(/does not fit int32/);
    const e = await create({ data: u8 });
    await expect(e.stepIndices([0, N])).rejects.toThrow(/index 70 at position 1 is outside the dataset \(0 … 69\)/);
    await expect(e.stepIndices([0.5])).rejects.toThrow(/outside the dataset/);
    await expect(e.evaluateIndices([-1])).rejects.toThrow(/^evaluateIndices: index -1 at position 0 is outside the dataset/);
    await expect(e.stepIndices(new Int32Array(B + 1))).rejects.toThrow(/17 indices exceed the engine's batchSize 16/);
    await expect(e.stepIndices(BigInt64Array.of(1n, 2n))).resolves.toHaveProperty('loss');
    await e.release();
    const plain = await create();
    await expect(plain.stepIndices([0])).rejects.toThrow(/needs the dataset: create the engine with data/);
    await plain.release();
  });
});

/** Calls itself 'webgpu' (so the WebGPU encodings and budget apply) but keeps everything on the host. */
class HostWebGpuLike extends CpuBackend implements Backend {
  override readonly device = 'webgpu' as never;
  uploads: string[] = [];
  override async upload(ts: readonly NamedTensor[]) { this.uploads.push(...ts.map((t) => t.name)); return super.upload(ts); }
  override dispose(_t: ort.Tensor) {}
}

describe('device-resident data: budget and fallback', () => {
  it('over budget: streamed, nothing but state uploaded; within budget but not kept on the device: streamed with a message', async () => {
    const lines: string[] = [];
    const b1 = new HostWebGpuLike();
    const e1 = await create({ backend: b1, data: { ...u8, budgetBytes: 100 }, log: (m) => lines.push(m) });
    expect(e1.dataPlacement).toBe('streamed');
    expect(b1.uploads.filter((n) => n.startsWith('data.'))).toEqual([]);
    expect(lines.join('\n')).toMatch(/data streamed \(0\.0 MiB encoded, budget 0\.0 MiB\)/);
    const ref = await trajectory(await create(), u8, false);
    expect((await trajectory(e1, u8, true)).state).toEqual(ref.state);
    lines.length = 0;
    const b2 = new HostWebGpuLike();
    const e2 = await create({ backend: b2, data: u8, log: (m) => lines.push(m) });
    expect(b2.uploads).toContain('data.x');
    expect(e2.dataPlacement).toBe('streamed');
    expect(lines.join('\n')).toMatch(/could not be kept on the GPU; batches are streamed instead/);
    await e2.release();
  });
});
