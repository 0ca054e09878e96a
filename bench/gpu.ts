// GPU benchmark (issues 7, 10): steps/s of drivetrain on WebGPU and on the CPU against PyTorch CUDA
// fp32 (TF32 off / on) measured in the same run, for the 21 M-parameter MLP (1024-4096-4096-10,
// batch 1024, AdamW) and the glyph CNN of src/train/models.ts; the nodes placed off the GPU, the
// stall per checkpoint (getState() downloading everything vs snapshotState() downloading in the
// background), GPU memory over the run, and the CPU data-placement comparison that sets
// CPU_DEFAULT_PLACEMENT. Data are device-resident (engine `data`, stepIndices).
// On a software adapter (lavapipe, CI) it runs end to end at reduced sizes, labelled as such:
// its timings mean nothing there.
// Run here: node --import tsx bench/gpu.ts
// GPU host: ../shared/gpu/pack.sh bench/gpu.ts, then bash .gpu/run.sh gpu.js (from the project root).
// Env: STEPS (timed GPU steps, 50), CPU_STEPS (3), MEM_STEPS (GPU 1000), CNN_BATCH (256), ONLY=mlp|cnn.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { TensorDataset } from '../src/data/dataset.js';
import { DOWNLOAD_CHUNK_BYTES, Engine, hostBatch, probeWebGpu, webGpuAdapterKind, webGpuMissing } from '../src/engine/index.js';
import { placementOf } from '../src/engine/placement.js';
import type { DeviceDataOptions, EngineOptions } from '../src/engine/index.js';
import { crossEntropy, Linear, ReLU, Sequential } from '../src/nn/index.js';
import { AdamW } from '../src/optim/index.js';
import { Rng } from '../src/random.js';
import type { Tensor } from '../src/tensor.js';
import { glyphModel } from '../src/train/models.js';

const env = (k: string, d: number) => Number(process.env[k] ?? d);
// Sizes: set in main() once the adapter is known (no top-level await: the GPU-host bundle is CommonJS).
// A software adapter runs everything at sizes it can finish (its timings mean nothing anyway).
let soft = false;
let STEPS = 50, CPU_STEPS = 3, MEM_STEPS = 1000, CNN_BATCH = 256, MLP = [1024, 4096, 4096, 10], MLP_BATCH = 1024;
function sizeFor(kind: 'hardware' | 'software' | undefined): void {
  soft = kind === 'software';
  STEPS = env('STEPS', soft ? 3 : 50); CPU_STEPS = env('CPU_STEPS', 3); MEM_STEPS = env('MEM_STEPS', soft ? 10 : 1000); CNN_BATCH = env('CNN_BATCH', soft ? 16 : 256);
  if (soft) { MLP = [256, 512, 512, 10]; MLP_BATCH = 64; }
}
const N = 8192; // dataset rows (resident)
const REF = 'bench/gpu_reference.py'; // relative to the project root (the bundle runs from there)

interface Case { name: string; batch: number; options(): Omit<EngineOptions, 'batchSize' | 'device'>; pyKind: string; gflop?: number }

function uniformRows(rng: Rng, n: number): Float32Array {
  return Float32Array.from({ length: n }, () => rng.nextU32() / 2 ** 32 - 0.5);
}

function mlpCase(): Case {
  const rng = new Rng(1);
  const [i, h1, h2, o] = MLP;
  const data: DeviceDataOptions = { tensors: {
    x: { dtype: 'float32', shape: [N, i], data: uniformRows(rng, N * i) },
    y: { dtype: 'int64', shape: [N], data: BigInt64Array.from({ length: N }, () => BigInt(rng.nextU32() % o)) },
  } };
  const params = i * h1 + h1 * h2 + h2 * o;
  return {
    name: `MLP ${MLP.join('-')} (${(params / 1e6).toFixed(1)} M params), batch ${MLP_BATCH}, AdamW`, batch: MLP_BATCH, pyKind: 'mlp',
    gflop: (6 * params * MLP_BATCH) / 1e9, // forward 2·P·B + backward 4·P·B
    options: () => ({
      model: new Sequential(new Linear(i, h1), new ReLU(), new Linear(h1, h2), new ReLU(), new Linear(h2, o)),
      loss: crossEntropy(), optimizer: new AdamW({ lr: 1e-3 }), inputs: { x: { shape: [i] }, y: { shape: [], dtype: 'int64' } }, data,
    }),
  };
}

function cnnCase(): Case {
  const rng = new Rng(2);
  const data: DeviceDataOptions = {
    tensors: {
      image: { dtype: 'uint8', shape: [N, 1, 32, 32], data: Uint8Array.from({ length: N * 1024 }, () => rng.nextU32() & 255) },
      label: { dtype: 'int64', shape: [N], data: BigInt64Array.from({ length: N }, () => BigInt(rng.nextU32() % 12)) },
      box: { dtype: 'float32', shape: [N, 4], data: Float32Array.from({ length: N * 4 }, () => rng.nextU32() / 2 ** 32) },
    },
    transform: { image: { scale: 1 / 255 } },
  };
  return {
    name: `glyph CNN (3× conv-relu-pool + fc, cls + box heads), 1×32×32 uint8, batch ${CNN_BATCH}, AdamW`, batch: CNN_BATCH, pyKind: 'cnn',
    options: () => {
      const spec = glyphModel({ size: 32, classes: 12 });
      return {
        model: spec.model, loss: spec.loss, optimizer: new AdamW({ lr: 1e-3 }),
        inputs: { image: { shape: [1, 32, 32] }, label: { shape: [], dtype: 'int64' }, box: { shape: [4] } }, data,
      };
    },
  };
}

function indexStream(batch: number): () => Int32Array {
  const rng = new Rng(3);
  return () => Int32Array.from({ length: batch }, () => rng.nextU32() % N);
}

function gpuMemoryMiB(): number | undefined {
  try {
    const out = execFileSync('nvidia-smi', ['--query-gpu=memory.used', '--format=csv,noheader,nounits'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    return Number(out.trim().split('\n')[0]);
  } catch { return undefined; }
}

interface Measured { msPerStep: number; msHostFed: number; stall: string; stateMiB: number; mem: string; offGpu: string }

/** Nodes of the engine's sessions placed on the CPU EP (ORT's placement log, in a child process). */
function nodesOffGpu(e: Engine): string {
  const parts = e.sessionModels().map((m) => {
    const p = placementOf(m.model, m.options);
    const total = Object.values(p.counts).reduce((a, b) => a + b, 0);
    return `${m.name}: ${p.cpuNodes.length} of ${total}${p.cpuNodes.length ? ` (${p.cpuNodes.slice(0, 5).join(', ')}${p.cpuNodes.length > 5 ? ', …' : ''})` : ''}`;
  });
  return parts.join('; ');
}

/** The checkpoint stall: getState() (everything downloaded before the loop goes on) vs snapshotState() + the steps during its background download. */
async function checkpointStall(e: Engine, next: () => Int32Array, msPerStep: number): Promise<{ text: string; bytes: number }> {
  const t0 = performance.now();
  const st = await e.getState();
  const blocking = performance.now() - t0;
  const bytes = [...st.values()].reduce((a, t) => a + t.data.byteLength, 0);
  const stalls: number[] = [], extra: number[] = [], totals: number[] = [];
  for (let k = 0; k < 3; k++) {
    const s0 = performance.now();
    const snap = await e.snapshotState();
    stalls.push(performance.now() - s0);
    let done = false;
    const arrived = snap.tensors.then(() => { done = true; });
    let steps = 0;
    const d0 = performance.now();
    while (!done && steps < 1000) { await e.stepIndices(next()); steps++; await new Promise((r) => setImmediate(r)); }
    await arrived;
    totals.push(performance.now() - d0);
    extra.push(steps ? (performance.now() - d0) / steps - msPerStep : 0);
  }
  const med = (a: number[]) => a.sort((x, y) => x - y)[1];
  return {
    bytes,
    text: `getState() ${blocking.toFixed(1)} ms blocking; snapshotState() stall ${med(stalls).toFixed(2)} ms per checkpoint, then the download (${med(totals).toFixed(0)} ms, in ${DOWNLOAD_CHUNK_BYTES / 2 ** 20} MiB chunks) adds ~${Math.max(0, med(extra)).toFixed(1)} ms to each step while it runs`,
  };
}

async function measure(c: Case, device: 'cpu' | 'webgpu', steps: number, memSteps: number): Promise<Measured> {
  const gpu0 = gpuMemoryMiB(), rss0 = process.memoryUsage().rss;
  const e = await Engine.create({ ...c.options(), batchSize: c.batch, device, seed: 0, log: () => {} });
  const next = indexStream(c.batch);
  const warm = device === 'cpu' ? 1 : soft ? 2 : 10;
  for (let i = 0; i < warm; i++) await e.stepIndices(next());
  let best = Infinity;
  for (let r = 0; r < (device === 'cpu' || soft ? 1 : 3); r++) {
    const t0 = performance.now();
    for (let i = 0; i < steps; i++) await e.stepIndices(next());
    best = Math.min(best, (performance.now() - t0) / steps);
  }
  // The same steps fed host batches (step()): the difference is the per-step data transfer.
  const opts = e.options;
  let msHostFed = Infinity;
  if (opts.data) {
    const batches = Array.from({ length: Math.min(steps, 8) }, () => hostBatch(opts.data!, opts.inputs, next()));
    await e.step(batches[0]);
    const t0 = performance.now();
    for (let i = 0; i < steps; i++) await e.step(batches[i % batches.length]);
    msHostFed = (performance.now() - t0) / steps;
  }
  const stall = await checkpointStall(e, next, best);
  // Memory over the run: tensors the engine holds, driver memory and RSS before/after memSteps steps.
  const live0 = e.liveTensors(), gpu1 = gpuMemoryMiB(), rss1 = process.memoryUsage().rss;
  for (let i = 0; i < memSteps; i++) await e.stepIndices(next());
  const live1 = e.liveTensors(), gpu2 = gpuMemoryMiB(), rss2 = process.memoryUsage().rss;
  const mib = (n: number) => (n / 2 ** 20).toFixed(0);
  const mem = [
    `live tensors ${live0.state}+${live0.data} → ${live1.state}+${live1.data} over ${memSteps} steps${live0.state === live1.state && live0.data === live1.data ? ' (flat)' : ' (NOT FLAT)'}`,
    gpu0 !== undefined && gpu2 !== undefined ? `GPU memory.used ${gpu0} (before) → ${gpu1} (after warm-up and checkpoints) → ${gpu2} MiB (end; nvidia-smi)` : `GPU memory: nvidia-smi not available${soft && device === 'webgpu' ? ' (the software adapter\'s buffers are host memory: see RSS)' : ''}`,
    `RSS ${mib(rss0)} → ${mib(rss1)} → ${mib(rss2)} MiB`,
  ].join('; ');
  const offGpu = device === 'webgpu' ? nodesOffGpu(e) : '';
  await e.release();
  return { msPerStep: best, msHostFed, stall: stall.text, stateMiB: stall.bytes / 2 ** 20, mem, offGpu };
}

function pytorchCheck(): string | undefined {
  const r = spawnSync('python3', [REF, 'check'], { encoding: 'utf8' });
  if (r.error) return `python3 not runnable (${r.error.message})`;
  if (r.status === 0) return undefined;
  try { return JSON.parse(r.stdout.trim().split('\n').pop()!).missing; } catch { return (r.stderr || r.stdout).trim().split('\n').pop() || `exit ${r.status}`; }
}

function pytorch(kind: string, batch: number, mode: 'fp32' | 'tf32'): number | string {
  const r = spawnSync('python3', [REF, kind, String(batch), String(STEPS), mode], { encoding: 'utf8', timeout: 600_000 });
  if (r.status !== 0) return `failed: ${(r.stderr || r.stdout).trim().split('\n').pop()}`;
  return JSON.parse(r.stdout.trim().split('\n').pop()!).ms_per_step as number;
}

/** CPU: feeding host batches (TensorDataset, the trainer's path) vs resident vs streamed stepIndices. */
async function cpuPlacement(): Promise<void> {
  const n = 60000, rng = new Rng(4);
  const pixels = Uint8Array.from({ length: n * 784 }, () => rng.nextU32() & 255);
  const labels = BigInt64Array.from({ length: n }, () => BigInt(rng.nextU32() % 10));
  const ds = new TensorDataset({ x: { dtype: 'uint8', shape: [784], data: pixels, transform: { dtype: 'float32', scale: 1 / 255 } }, y: { dtype: 'int64', shape: [], data: labels } });
  const data: DeviceDataOptions = { tensors: { x: { dtype: 'uint8', shape: [n, 784], data: pixels } as Tensor, y: { dtype: 'int64', shape: [n], data: labels } }, transform: { x: { scale: 1 / 255 } } };
  const make = (placement?: 'resident' | 'streamed') => Engine.create({
    model: new Sequential(new Linear(784, 256), new ReLU(), new Linear(256, 10)), loss: crossEntropy(), optimizer: new AdamW({ lr: 1e-3 }),
    batchSize: 128, inputs: { x: { shape: [784] }, y: { shape: [], dtype: 'int64' } }, threads: 2, seed: 0, data: placement ? { ...data, placement } : undefined,
  });
  const engines = { 'host batches (TensorDataset.getBatch + step)': await make(), 'resident (stepIndices, Gather+Cast in graph)': await make('resident'), 'streamed (stepIndices, uint8 rows fed)': await make('streamed') };
  const runs = Object.entries(engines).map(([label, e]) => {
    const r = new Rng(5);
    const idx = () => Int32Array.from({ length: 128 }, () => r.nextU32() % n);
    const one = label.startsWith('host') ? () => e.step(ds.getBatch(idx())) : () => e.stepIndices(idx());
    return { label, one, best: Infinity };
  });
  for (const x of runs) for (let i = 0; i < 30; i++) await x.one();
  const steps = env('PLACEMENT_STEPS', 200);
  for (let round = 0; round < 3; round++) for (const x of runs) {
    const t0 = performance.now();
    for (let i = 0; i < steps; i++) await x.one();
    x.best = Math.min(x.best, (performance.now() - t0) / steps);
  }
  console.log('\nCPU data placement — 784-256-10 MLP, batch 128, 60000×784 uint8 dataset, 2 threads (best of 3 rounds):');
  const ref = runs[0].best;
  for (const x of runs) console.log(`  ${x.label.padEnd(48)} ${x.best.toFixed(3)} ms/step  (${(ref / x.best).toFixed(2)}× host batches)`);
  for (const e of Object.values(engines)) await e.release();
}

/** Fixed cost of one engine step (a 8-4-2 MLP, batch 8): graph launch + metric read-back. */
async function overhead(device: 'cpu' | 'webgpu'): Promise<number> {
  const e = await Engine.create({ model: new Sequential(new Linear(8, 4), new ReLU(), new Linear(4, 2)), loss: crossEntropy(), optimizer: new AdamW({ lr: 1e-3 }), batchSize: 8, inputs: { x: { shape: [8] }, y: { shape: [], dtype: 'int64' } }, device, threads: 1, seed: 0 });
  const b = { x: { dtype: 'float32' as const, shape: [8, 8], data: new Float32Array(64).fill(0.1) }, y: { dtype: 'int64' as const, shape: [8], data: new BigInt64Array(8) } };
  for (let i = 0; i < 20; i++) await e.step(b);
  const t0 = performance.now();
  for (let i = 0; i < 200; i++) await e.step(b);
  const ms = (performance.now() - t0) / 200;
  await e.release();
  return ms;
}

async function main(): Promise<void> {
  const noAdapter = await probeWebGpu();
  sizeFor(await webGpuAdapterKind());
  if (noAdapter) console.log(`no WebGPU adapter: ${webGpuMissing(noAdapter)}`);
  else if (soft) console.log('WebGPU: SOFTWARE adapter (the CPU emulates the GPU, e.g. Mesa lavapipe): sizes reduced, timings mean nothing; placement, checkpoint-stall behaviour and memory flatness are what this run checks');
  else console.log('WebGPU: hardware adapter');
  const noTorch = pytorchCheck();
  if (noTorch) console.log(`no PyTorch/CUDA: ${noTorch} — no PyTorch reference in this run`);
  if (!existsSync(REF)) console.log(`(${REF} not found: run from the project root)`);
  const cases = [mlpCase(), cnnCase()].filter((c) => !process.env.ONLY || c.pyKind === process.env.ONLY);
  for (const c of cases) {
    console.log(`\n== ${c.name}`);
    const rows: [string, number | string][] = [];
    if (!noTorch) {
      rows.push([`PyTorch fp32 CUDA, TF32 off`, pytorch(c.pyKind, c.batch, 'fp32')]);
      rows.push([`PyTorch fp32 CUDA, TF32 on`, pytorch(c.pyKind, c.batch, 'tf32')]);
    }
    for (const device of [...(noAdapter ? [] : ['webgpu' as const]), 'cpu' as const]) {
      const m = await measure(c, device, device === 'cpu' ? CPU_STEPS : STEPS, device === 'cpu' ? Math.min(MEM_STEPS, 5) : MEM_STEPS);
      rows.push([`drivetrain ${device}`, m.msPerStep]);
      const tflops = c.gflop ? `, ${(c.gflop / m.msPerStep).toFixed(2)} TFLOP/s` : '';
      console.log(`  drivetrain ${device}: ${m.msPerStep.toFixed(2)} ms/step resident data${tflops}; ${m.msHostFed.toFixed(2)} ms/step fed host batches (difference ${(m.msHostFed - m.msPerStep).toFixed(2)} ms/step: the per-step data transfer on WebGPU)`);
      console.log(`    checkpoint of ${m.stateMiB.toFixed(1)} MiB: ${m.stall}`);
      console.log(`    memory: ${m.mem}`);
      if (m.offGpu) console.log(`    nodes placed off the GPU: ${m.offGpu}`);
    }
    if (c.gflop) for (const [label, v] of rows) if (typeof v === 'number' && label.startsWith('PyTorch')) console.log(`  ${label}: ${(c.gflop / v).toFixed(2)} TFLOP/s`);
    const fp32 = rows.find(([k]) => k.includes('TF32 off'))?.[1];
    const tf32 = rows.find(([k]) => k.includes('TF32 on'))?.[1];
    for (const [label, v] of rows) {
      if (typeof v === 'string') { console.log(`  ${label.padEnd(32)} ${v}`); continue; }
      const ratio = (ref: unknown, what: string) => (typeof ref === 'number' ? `  ${(ref / v).toFixed(3)}× ${what}` : '');
      console.log(`  ${label.padEnd(32)} ${(1000 / v).toFixed(2).padStart(9)} steps/s ${v.toFixed(2).padStart(9)} ms/step${ratio(fp32, 'PyTorch fp32')}${ratio(tf32, 'PyTorch TF32')}`);
    }
    const gpu = rows.find(([k]) => k === 'drivetrain webgpu')?.[1];
    if (typeof gpu === 'number' && typeof fp32 === 'number') console.log(`  target ≥ 0.5× PyTorch fp32 on WebGPU: ${fp32 / gpu >= 0.5 ? 'met' : 'NOT met'} (${(fp32 / gpu).toFixed(3)}×)`);
    else console.log('  target ≥ 0.5× PyTorch fp32 on WebGPU: not measurable in this run (needs a WebGPU adapter and PyTorch with CUDA)');
  }
  for (const device of [...(noAdapter ? [] : ['webgpu' as const]), 'cpu' as const]) {
    console.log(`\nper-step fixed cost on ${device} (8-4-2 MLP, batch 8, AdamW: graph launch + loss read-back): ${(await overhead(device)).toFixed(3)} ms/step`);
  }
  if (!process.env.SKIP_PLACEMENT) await cpuPlacement();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
