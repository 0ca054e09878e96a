// WebGPU engine tests (issue 7). They need a WebGPU adapter (Vulkan loader + GPU driver); without
// one each test is skipped and prints why. The no-adapter error and the 'auto' → CPU fallback are
// covered on the CPU in test/engine-api.test.ts; device-resident data in src/engine/device-data.test.ts.
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { Engine, hostBatch, probeWebGpu, webGpuMissing } from '../src/engine/index.js';
import type { DeviceDataOptions, EngineOptions } from '../src/engine/index.js';
import { BatchNorm2d, Conv2d, crossEntropy, Dropout, Flatten, Linear, MaxPool2d, ReLU, Sequential } from '../src/nn/index.js';
import { AdamW, SGD } from '../src/optim/index.js';
import { Rng } from '../src/random.js';
import type { TensorMap } from '../src/tensor.js';

// DRIVETRAIN_GPU_TESTS_ON_CPU=1 runs these tests on the CPU EP instead: a self-check of the tests'
// own logic on hosts without a GPU (the 'auto' test is skipped then).
const onCpu = !!process.env.DRIVETRAIN_GPU_TESTS_ON_CPU;
const device = onCpu ? 'cpu' as const : 'webgpu' as const;
const noAdapter = onCpu ? undefined : await probeWebGpu();
if (noAdapter) console.log(`WebGPU tests skipped — ${webGpuMissing(noAdapter)}`);

/** `it` that runs only with a WebGPU adapter, printing why it is skipped otherwise. */
function gpuIt(name: string, fn: () => Promise<void>, timeout = 60_000) {
  if (noAdapter) console.log(`skipped "${name}": no WebGPU adapter (${noAdapter})`);
  it.skipIf(!!noAdapter)(name, fn, timeout);
}

const N = 512, B = 32, S = 8; // 8×8 uint8 images, 4 classes
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
  return Engine.create({ model, loss: crossEntropy(), optimizer: new AdamW({ lr: 1e-2 }), batchSize: B, inputs, seed: 5, data, device, ...extra });
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

function gpuMemoryMiB(): number | undefined {
  try {
    return Number(execFileSync('nvidia-smi', ['--query-gpu=memory.used', '--format=csv,noheader,nounits'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim().split('\n')[0]);
  } catch { return undefined; }
}

describe('WebGPU engine', () => {
  gpuIt("'auto' picks WebGPU when an adapter exists and says so", async () => {
    if (onCpu) return;
    const lines: string[] = [];
    const e = await cnn({ device: 'auto', log: (m) => lines.push(m) });
    expect(e.device).toBe('webgpu');
    expect(lines.join('\n')).toMatch(/device auto → webgpu/);
    await e.release();
  });

  gpuIt('resume on the GPU continues within 1e-6 relative of the uninterrupted run', async () => {
    const K = 15;
    const whole = await cnn();
    expect(whole.dataPlacement).toBe('resident');
    for (let i = 0; i < 2 * K; i++) await whole.stepIndices(indices(i));
    const ref = await whole.getState();
    await whole.release();
    const first = await cnn();
    for (let i = 0; i < K; i++) await first.stepIndices(indices(i));
    const ckpt = await first.getState();
    await first.release();
    const resumed = await cnn({ seed: 99 }); // different init: everything must come from the checkpoint
    await resumed.setState(ckpt);
    for (let i = K; i < 2 * K; i++) await resumed.stepIndices(indices(i));
    const got = await resumed.getState();
    await resumed.release();
    expect(got.get('opt.step')!.data[0]).toBe(2 * K);
    for (const prefix of ['param.', 'opt.', 'buffer.']) expect(relDiff(ref, got, prefix), prefix).toBeLessThanOrEqual(1e-6);
    const rngOf = (m: TensorMap) => Array.from(m.get('rng.drop.state')!.data as BigInt64Array);
    expect(rngOf(got)).toEqual(rngOf(ref));
    expect(rngOf(got)).not.toEqual(rngOf(ckpt));
  });

  gpuIt('10,000 steps: live GPU tensors stay constant (and driver memory flat where nvidia-smi exists)', async () => {
    const e = await cnn();
    for (let i = 0; i < 100; i++) await e.stepIndices(indices(i));
    const live0 = e.liveTensors(), mem0 = gpuMemoryMiB();
    for (let i = 100; i < 10_000; i++) {
      await e.stepIndices(indices(i % 1000));
      if (i % 2500 === 0) expect(e.liveTensors()).toEqual(live0);
    }
    const live1 = e.liveTensors(), mem1 = gpuMemoryMiB();
    console.log(`WebGPU 10,000 steps: live tensors ${JSON.stringify(live0)} → ${JSON.stringify(live1)}; nvidia-smi memory.used ${mem0 ?? 'n/a'} → ${mem1 ?? 'n/a'} MiB`);
    expect(live1).toEqual(live0);
    expect(live0.state).toBe(e.plan.decls.length);
    if (mem0 !== undefined && mem1 !== undefined) expect(mem1 - mem0).toBeLessThan(64);
    const m = await e.evaluateIndices(indices(1));
    expect(Number.isFinite(m.loss)).toBe(true);
    await e.release();
  }, 600_000);

  gpuIt('results equal the CPU within tolerance (SGD, 20 steps; resident data vs host batches)', async () => {
    const opt = () => new SGD({ lr: 0.05, momentum: 0.9 });
    const model = () => new Sequential({ conv: new Conv2d(1, 8, 3, { padding: 1 }), relu: new ReLU(), pool: new MaxPool2d(2), flat: new Flatten(), fc: new Linear(8 * (S / 2) ** 2, 4) });
    const gpu = await Engine.create({ model: model(), loss: crossEntropy(), optimizer: opt(), batchSize: B, inputs, seed: 5, data, device });
    const cpu = await Engine.create({ model: model(), loss: crossEntropy(), optimizer: opt(), batchSize: B, inputs, seed: 5, device: 'cpu' });
    for (let i = 0; i < 20; i++) {
      const [g, c] = [await gpu.stepIndices(indices(i)), await cpu.step(hostBatch(data, inputs, indices(i)))];
      expect(Math.abs(g.loss - c.loss) / Math.abs(c.loss), `step ${i}`).toBeLessThan(1e-4);
    }
    const [sg, sc] = [await gpu.getState(), await cpu.getState()];
    expect(relDiff(sc, sg, 'param.')).toBeLessThan(1e-4);
    const eg = await gpu.evaluateIndices(indices(0)), ec = await cpu.evaluate(hostBatch(data, inputs, indices(0)));
    expect(Math.abs(eg.loss - ec.loss) / ec.loss).toBeLessThan(1e-4);
    await gpu.release();
    await cpu.release();
  });

  gpuIt('streamed data (over budget) gives the same steps as resident data', async () => {
    const a = await cnn();
    const b = await cnn({ data: { ...data, budgetBytes: 0, ...(onCpu ? { placement: 'streamed' as const } : {}) } }); // the CPU ignores the budget
    expect(b.dataPlacement).toBe('streamed');
    for (let i = 0; i < 10; i++) {
      const [ma, mb] = [await a.stepIndices(indices(i)), await b.stepIndices(indices(i))];
      expect(Math.abs(ma.loss - mb.loss)).toBeLessThanOrEqual(1e-6 * Math.abs(ma.loss));
    }
    expect(relDiff(await a.getState(), await b.getState(), 'param.')).toBeLessThanOrEqual(1e-6);
    await a.release();
    await b.release();
  });
});
