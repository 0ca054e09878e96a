// Benchmark: 784-256-10 MLP, batch 128, AdamW, 2 threads — ms/step and steps/s for drivetrain's
// train-step graph on the ORT CPU EP, with variants (Gemm vs MatMul+Add, GatherElements vs OneHot
// cross-entropy, ORT graph optimisation levels), as ratios against the stated PyTorch-with-MKL figure
// (FACTS.md); Debian's PyTorch is measured too but uses a generic BLAS (see below).
// Run: node --import tsx bench/engine-mlp.ts
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Engine } from '../src/engine/index.js';
import type { EngineOptions } from '../src/engine/index.js';
import { crossEntropy, Linear, ReLU, Sequential } from '../src/nn/index.js';
import { AdamW } from '../src/optim/index.js';
import { prototypeSet, slice } from '../test/support/synthetic.js';

const THREADS = Number(process.env.THREADS ?? 2);
const STEPS = Number(process.env.STEPS ?? 300);
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const B = 128;
const set = prototypeSet(2048, 784, 10, 1, 2.0);
const batches = Array.from({ length: 16 }, (_, i) => slice(set, i * B, B));

interface Variant { name: string; gemm: boolean; pick: 'gather' | 'onehot'; level: EngineOptions['graphOptimizationLevel'] }
const all: Variant[] = [
  { name: 'Gemm+bias, GatherElements CE, opt=all (default)', gemm: true, pick: 'gather', level: 'all' },
  { name: 'Gemm+bias, OneHot CE, opt=all', gemm: true, pick: 'onehot', level: 'all' },
  { name: 'MatMul+Add, GatherElements CE, opt=all', gemm: false, pick: 'gather', level: 'all' },
  { name: 'Gemm+bias, GatherElements CE, opt=extended', gemm: true, pick: 'gather', level: 'extended' },
  { name: 'Gemm+bias, GatherElements CE, opt=basic', gemm: true, pick: 'gather', level: 'basic' },
  { name: 'Gemm+bias, GatherElements CE, opt=disabled', gemm: true, pick: 'gather', level: 'disabled' },
];
const variants = process.env.QUICK ? all.slice(0, 1) : all;

async function makeEngine(v: Variant): Promise<Engine> {
  const model = new Sequential(new Linear(784, 256, { gemm: v.gemm }), new ReLU(), new Linear(256, 10, { gemm: v.gemm }));
  return Engine.create({
    model, loss: crossEntropy({ pick: v.pick }), optimizer: new AdamW({ lr: 1e-3 }), batchSize: B,
    inputs: { x: { shape: [784] }, y: { shape: [], dtype: 'int64' } }, threads: THREADS, graphOptimizationLevel: v.level, seed: 0,
  });
}

async function timeSteps(e: Engine, n: number): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await e.step(batches[i % batches.length]);
  return (performance.now() - t0) / n;
}

// PyTorch references. Debian's python3-torch (/usr/bin/python3) runs Linear layers on a generic
// reference BLAS (FACTS.md: ~36 ms/step, ~11 ms with OpenBLAS), so it is printed but is no fair
// speed reference here; the ratio is against the stated MKL figure, labelled as stated.
const STATED = { ms: 1.5, label: 'PyTorch 2.11 CPU with MKL, 2 cores: 1.46-1.54 ms/step, STATED (FACTS.md, GPU host pinned to 2 cores; not measured in this run)' };

function debianTorch(): string {
  const script = fileURLToPath(new URL('./pytorch/mlp_adamw.py', import.meta.url));
  const r = spawnSync(process.env.PYTHON ?? '/usr/bin/python3', [script, String(THREADS), '30'], { encoding: 'utf8' });
  if (r.status !== 0) {
    const why = /No module named 'torch'/.test(r.stderr ?? '') ? 'no torch for /usr/bin/python3 (make bench-setup installs python3-torch)' : (r.error?.message ?? r.stderr?.trim().split('\n').pop() ?? 'python3 failed');
    return `Debian PyTorch not run (${why})`;
  }
  const j = JSON.parse(r.stdout.trim().split('\n').pop()!);
  return `Debian PyTorch ${j.torch} CPU (generic BLAS), measured in this run: ${j.ms_per_step.toFixed(1)} ms/step — NOT a fair reference for Linear layers (reference BLAS)`;
}

const engines = await Promise.all(variants.map(makeEngine));
for (const e of engines) await timeSteps(e, 30); // warm-up
const best = variants.map(() => Infinity);
for (let r = 0; r < ROUNDS; r++) {
  for (let k = 0; k < variants.length; k++) best[k] = Math.min(best[k], await timeSteps(engines[k], STEPS));
}
for (const e of engines) await e.release();
const ref = STATED;
console.log(`\n784-256-10 MLP, batch ${B}, AdamW, ${THREADS} threads, best of ${ROUNDS}×${STEPS} steps`);
console.log(`  reference: ${ref.label}`);
console.log(`  ${debianTorch()}`);
for (let k = 0; k < variants.length; k++) {
  const ms = best[k];
  console.log(`  ${variants[k].name.padEnd(48)} ${ms.toFixed(3)} ms/step  ${(1000 / ms).toFixed(0).padStart(5)} steps/s  ${(ref.ms / ms).toFixed(2)}× stated PyTorch+MKL`);
}
