// WebGPU engine tests. They run on any WebGPU adapter: a GPU, or in CI the software adapter
// (Mesa lavapipe, installed by `make setup`), where they are sized small (lavapipe is ~60× slower
// than the CPU EP). Without any adapter each test is skipped and says why. Adapter choice,
// resume on the GPU, moving a run between devices, checkpoint snapshots, memory over many steps,
// results against the CPU EP.
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { Engine, hostBatch, probeWebGpu, webGpuAdapterKind, webGpuMissing } from '../src/engine/index.js';
import type { DeviceDataOptions, EngineOptions } from '../src/engine/index.js';
import { BatchNorm2d, Conv2d, crossEntropy, Dropout, Flatten, Linear, MaxPool2d, ReLU, Sequential } from '../src/nn/index.js';
import { AdamW, SGD } from '../src/optim/index.js';
import { Rng } from '../src/random.js';
import type { TensorMap } from '../src/tensor.js';

const noAdapter = await probeWebGpu();
const kind = await webGpuAdapterKind();
if (noAdapter) console.log(`WebGPU tests skipped — ${webGpuMissing(noAdapter)}`);
else console.log(`WebGPU tests on a ${kind} adapter`);

function gpuIt(name: string, fn: () => Promise<void>, timeout = 120_000) {
  if (noAdapter) console.log(`skipped "${name}": no WebGPU adapter (${noAdapter})`);
  it.skipIf(!!noAdapter)(name, fn, timeout);
}

const N = 512, B = 16, S = 8; // 8×8 uint8 images, 4 classes
const rng = new Rng(11);
const pixels = Uint8Array.from({ length: N * S * S }, () => rng.nextU32() & 255);
const labels = BigInt64Array.from({ length: N }, (_, i) => BigInt(pixels[i * S * S] >> 6)); // learnable
const data: DeviceDataOptions = {
  tensors: { image: { dtype: 'uint8', shape: [N, 1, S, S], data: pixels }, y: { dtype: 'int64', shape: [N], data: labels } },
  transform: { image: { scale: 1 / 255, shift: -0.5 } },
};
const inputs = { image: { shape: [1, S, S] }, y: { shape: [], dtype: 'int64' as const } };

/** conv-bn-relu-pool + dropout + linear: parameters, optimizer slots, BN statistics and RNG state. */
function cnn(extra: Partial<EngineOptions> = {}) {
  const model = new Sequential({
    conv: new Conv2d(1, 8, 3, { padding: 1 }), bn: new BatchNorm2d(8), relu: new ReLU(), pool: new MaxPool2d(2),
    flat: new Flatten(), drop: new Dropout(0.1), fc: new Linear(8 * (S / 2) ** 2, 4),
  });
  return Engine.create({ model, loss: crossEntropy(), optimizer: new AdamW({ lr: 1e-2 }), batchSize: B, inputs, seed: 5, data, device: 'webgpu', noCpuFallback: true, log: () => {}, ...extra });
}

function indices(step: number): Int32Array {
  const r = new Rng(1000 + step);
  return Int32Array.from({ length: B }, () => r.nextU32() % N);
}

/** max |a-b| / max|a| over all float tensors whose names start with `prefix`. */
function relDiff(a: TensorMap, b: TensorMap, prefix: string): number {
  let worst = 0;
  for (const [k, t] of a) {
    if (!k.startsWith(prefix) || t.dtype !== 'float32') continue;
    const x = t.data as Float32Array, y = b.get(k)!.data as Float32Array;
    let scale = 1e-12, d = 0;
    for (let i = 0; i < x.length; i++) { scale = Math.max(scale, Math.abs(x[i])); d = Math.max(d, Math.abs(x[i] - y[i])); }
    worst = Math.max(worst, d / scale);
  }
  return worst;
}

const rngOf = (m: TensorMap) => Array.from(m.get('rng.drop.state')!.data as BigInt64Array);
const bitsEqual = (a: TensorMap, b: TensorMap) => [...a].every(([k, t]) => Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).equals(Buffer.from(b.get(k)!.data.buffer, b.get(k)!.data.byteOffset, b.get(k)!.data.byteLength)));

function gpuMemoryMiB(): number | undefined {
  try {
    return Number(execFileSync('nvidia-smi', ['--query-gpu=memory.used', '--format=csv,noheader,nounits'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim().split('\n')[0]);
  } catch { return undefined; }
}

const K = 15;
let whole: TensorMap | undefined; // the uninterrupted 2K-step GPU run
let atK: TensorMap | undefined; // its state after K steps
const gpuLosses: number[] = [];

describe('WebGPU engine', () => {
  gpuIt("'auto' uses WebGPU only on a hardware adapter; 'webgpu' on a software one says so", async () => {
    const lines: string[] = [];
    const a = await cnn({ device: 'auto', log: (m) => lines.push(m) });
    if (kind === 'hardware') {
      expect(a.device).toBe('webgpu');
      expect(lines.join('\n')).toMatch(/device auto → webgpu \(hardware adapter\)/);
    } else {
      expect(a.device).toBe('cpu');
      expect(lines.join('\n')).toMatch(/device auto → cpu \(.*software Vulkan driver .*'auto' never picks it/);
    }
    await a.release();
    lines.length = 0;
    const w = await cnn({ device: 'webgpu', log: (m) => lines.push(m) });
    expect(w.device).toBe('webgpu');
    expect(w.adapter).toBe(kind);
    expect(lines.join('\n')).toMatch(kind === 'software' ? /device webgpu → a software adapter .*timings mean nothing/ : /device webgpu → webgpu \(hardware adapter\)/);
    await w.release();
  });

  gpuIt('resume on the GPU continues within 1e-6 relative of the uninterrupted run; a snapshot taken mid-run equals the state of its step', async () => {
    const e = await cnn();
    expect(e.dataPlacement).toBe('resident');
    for (let i = 0; i < K; i++) await e.stepIndices(indices(i));
    const live = e.liveTensors();
    const snap = await e.snapshotState();
    atK = await e.getState();
    for (let i = K; i < 2 * K; i++) gpuLosses.push((await e.stepIndices(indices(i))).loss); // the snapshot's buffers are replaced meanwhile
    const fromSnap = await snap.tensors;
    expect(snap.step).toBe(K);
    expect(bitsEqual(fromSnap, atK)).toBe(true);
    expect(e.liveTensors()).toEqual(live); // held buffers were freed after the download
    whole = await e.getState();
    await e.release();
    const resumed = await cnn({ seed: 99 }); // different init: everything must come from the checkpoint
    await resumed.setState(atK);
    for (let i = K; i < 2 * K; i++) await resumed.stepIndices(indices(i));
    const got = await resumed.getState();
    await resumed.release();
    expect(got.get('opt.step')!.data[0]).toBe(2 * K);
    for (const prefix of ['param.', 'opt.', 'buffer.']) expect(relDiff(whole, got, prefix), prefix).toBeLessThanOrEqual(1e-6);
    expect(rngOf(got)).toEqual(rngOf(whole));
    expect(rngOf(got)).not.toEqual(rngOf(atK));
  });

  gpuIt('a GPU checkpoint continues on the CPU and a CPU one on the GPU: same step, same RNG, the GPU run\'s losses', async () => {
    expect(atK && whole).toBeTruthy();
    const cpu = await cnn({ device: 'cpu', seed: 98 });
    await cpu.setState(atK!);
    const losses: number[] = [];
    for (let i = K; i < 2 * K; i++) losses.push((await cpu.stepIndices(indices(i))).loss);
    const onCpu = await cpu.getState();
    expect(onCpu.get('opt.step')!.data[0]).toBe(2 * K);
    expect(rngOf(onCpu)).toEqual(rngOf(whole!)); // same dropout masks drawn on both EPs
    // The first step after the move starts from the same state: same loss up to float rounding.
    // (Parameters are not compared: AdamW turns the rounding noise of gradients that are ~0
    // analytically, e.g. the conv bias before batch norm, into ±lr updates on either device.)
    expect(Math.abs(losses[0] - gpuLosses[0]) / gpuLosses[0]).toBeLessThan(1e-5);
    losses.forEach((l, i) => expect(Math.abs(l - gpuLosses[i]) / gpuLosses[i], `step ${K + i}`).toBeLessThan(2e-2));
    // and back: the CPU state after K more steps continues on the GPU
    const back = await cnn({ seed: 97 });
    await back.setState(onCpu);
    const m = await back.stepIndices(indices(2 * K));
    const c = await cpu.stepIndices(indices(2 * K));
    expect(Math.abs(m.loss - c.loss) / c.loss).toBeLessThan(1e-4);
    expect(rngOf(await back.getState())).toEqual(rngOf(await cpu.getState()));
    await back.release();
    await cpu.release();
  });

  gpuIt(`${kind === 'hardware' ? '10,000' : '60 (software adapter; 10,000 on a GPU)'} steps with checkpoint snapshots: live GPU tensors stay constant (and driver memory flat where nvidia-smi exists)`, async () => {
    const steps = kind === 'hardware' ? 10_000 : 60;
    const e = await cnn();
    for (let i = 0; i < 10; i++) await e.stepIndices(indices(i));
    const live0 = e.liveTensors(), mem0 = gpuMemoryMiB();
    let snap: Promise<TensorMap> | undefined;
    for (let i = 10; i < steps; i++) {
      await e.stepIndices(indices(i % 1000));
      if (i % 20 === 0) snap = (await e.snapshotState()).tensors; // waits for the previous download if it still runs
      if (i % 2500 === 0) expect(e.liveTensors().data).toEqual(live0.data);
    }
    await snap;
    const live1 = e.liveTensors(), mem1 = gpuMemoryMiB();
    console.log(`WebGPU ${steps} steps: live tensors ${JSON.stringify(live0)} → ${JSON.stringify(live1)}; nvidia-smi memory.used ${mem0 ?? 'n/a'} → ${mem1 ?? 'n/a'} MiB`);
    expect(live1).toEqual(live0);
    expect(live0.state).toBe(e.plan.decls.length);
    if (mem0 !== undefined && mem1 !== undefined) expect(mem1 - mem0).toBeLessThan(64);
    const m = await e.evaluateIndices(indices(1));
    expect(Number.isFinite(m.loss)).toBe(true);
    await e.release();
  }, 900_000);

  gpuIt('50 steps equal the CPU within 1e-4 relative (SGD with momentum; resident data vs host batches)', async () => {
    const opt = () => new SGD({ lr: 0.05, momentum: 0.9 });
    const model = () => new Sequential({ conv: new Conv2d(1, 8, 3, { padding: 1 }), relu: new ReLU(), pool: new MaxPool2d(2), flat: new Flatten(), fc: new Linear(8 * (S / 2) ** 2, 4) });
    const gpu = await cnn({ model: model(), optimizer: opt() });
    const cpu = await Engine.create({ model: model(), loss: crossEntropy(), optimizer: opt(), batchSize: B, inputs, seed: 5, device: 'cpu' });
    for (let i = 0; i < 50; i++) {
      const [g, c] = [await gpu.stepIndices(indices(i)), await cpu.step(hostBatch(data, inputs, indices(i)))];
      expect(Math.abs(g.loss - c.loss) / Math.abs(c.loss), `step ${i}`).toBeLessThan(1e-4);
    }
    const [sg, sc] = [await gpu.getState(), await cpu.getState()];
    expect(relDiff(sc, sg, 'param.')).toBeLessThan(1e-4);
    const eg = await gpu.evaluateIndices(indices(0)), ec = await cpu.evaluate(hostBatch(data, inputs, indices(0)));
    expect(Math.abs(eg.loss - ec.loss) / ec.loss).toBeLessThan(1e-4);
    expect(eg.accuracy).toBe(ec.accuracy);
    await gpu.release();
    await cpu.release();
  });

  gpuIt('streamed data (over budget) and host batches give the same steps as resident data', async () => {
    const a = await cnn();
    const b = await cnn({ data: { ...data, budgetBytes: 0 } });
    const c = await cnn({ data: undefined });
    expect(b.dataPlacement).toBe('streamed');
    for (let i = 0; i < 4; i++) {
      const [ma, mb, mc] = [await a.stepIndices(indices(i)), await b.stepIndices(indices(i)), await c.step(hostBatch(data, inputs, indices(i)))];
      expect(Math.abs(ma.loss - mb.loss)).toBeLessThanOrEqual(1e-6 * Math.abs(ma.loss));
      expect(Math.abs(ma.loss - mc.loss)).toBeLessThanOrEqual(1e-6 * Math.abs(ma.loss)); // int64 labels fed as int32
    }
    expect(relDiff(await a.getState(), await b.getState(), 'param.')).toBeLessThanOrEqual(1e-6);
    for (const e of [a, b, c]) await e.release();
  });
});
