// Benchmark: the glyph CNN train step on the CPU EP (glyphModel from src/train/models.ts, 1×32×32,
// AdamW, 2 threads; batch 256, and 32 as in runbooks/glyphs.json) against Debian's PyTorch
// (python3-torch for /usr/bin/python3; its convolutions run on oneDNN) measured in the same run:
// rounds alternate drivetrain / PyTorch and each side keeps its best, so both see the same load
// (the load average is printed: on a shared machine absolute times move, the ratio less so).
// Prints the ratio and onnxruntime's per-op profile of one extra, profiled round.
// Run: node --import tsx bench/cnn-cpu.ts   (env: THREADS, BATCHES=256,32, STEPS per round, ROUNDS, PYTHON)
// More models: add an entry to CASES with a matching PyTorch script in bench/pytorch/ (a
// resnet-style case belongs here once the model registry has ResNets, issue 12).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { glyphDataset } from '../src/data/index.js';
import { Engine, formatProfile } from '../src/engine/index.js';
import type { EngineBatch } from '../src/engine/index.js';
import { AdamW } from '../src/optim/index.js';
import { glyphModel, type ModelSpec } from '../src/train/models.js';

const THREADS = Number(process.env.THREADS ?? 2);
const BATCHES = (process.env.BATCHES ?? '256,32').split(',').map(Number);
const STEPS = Number(process.env.STEPS ?? 10);
const ROUNDS = Number(process.env.ROUNDS ?? 5);
const PYTHON = process.env.PYTHON ?? '/usr/bin/python3'; // Debian's python3-torch is for the system python

interface Case {
  name: string;
  spec: () => ModelSpec;
  size: number;
  classes: number;
  /** bench/pytorch script and its argv after threads/batch. */
  torch: { script: string; args: (string | number)[] };
}
const CASES: Case[] = [
  {
    name: 'glyph CNN (3× conv-relu-maxpool + fc, cls + box heads), 1×32×32',
    spec: () => glyphModel({ size: 32, classes: 12 }),
    size: 32, classes: 12,
    torch: { script: 'glyph_cnn.py', args: [32, 16, 12] },
  },
];

async function makeEngine(c: Case, batch: number, profile?: string): Promise<{ engine: Engine; batches: EngineBatch[] }> {
  const spec = c.spec();
  const ds = glyphDataset({ n: batch * 4, seed: 1, size: c.size });
  const batches: EngineBatch[] = [];
  for (let k = 0; k < 4; k++) {
    const b = await ds.getBatch(Array.from({ length: batch }, (_, i) => k * batch + i));
    batches.push({ [spec.input]: b.image, label: b.label, box: b.box });
  }
  const inputs = Object.fromEntries(Object.entries(batches[0]).map(([k, t]) => [k, { shape: t.shape.slice(1), dtype: t.dtype }]));
  const engine = await Engine.create({
    model: spec.model, loss: spec.loss, optimizer: new AdamW({ lr: 1e-3, weightDecay: 1e-2 }), batchSize: batch,
    inputs, threads: THREADS, seed: 0, profile, log: () => {},
  });
  return { engine, batches };
}

async function timeSteps(e: Engine, batches: EngineBatch[], n: number): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await e.step(batches[i % batches.length]);
  return (performance.now() - t0) / n;
}

/** A long-lived PyTorch process answering "run N" with ms/step, so rounds can interleave. */
async function startTorch(c: Case, batch: number, env: Record<string, string>) {
  const script = fileURLToPath(new URL(`./pytorch/${c.torch.script}`, import.meta.url));
  const p = spawn(PYTHON, [script, String(THREADS), String(batch), ...c.torch.args.map(String)], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let err = '';
  p.stderr.on('data', (d) => (err += d));
  const lines = createInterface({ input: p.stdout })[Symbol.asyncIterator]();
  const next = async (): Promise<Record<string, unknown>> => {
    const r = await lines.next();
    if (r.done) throw new Error(`${PYTHON} ${script} exited: ${err.trim().split('\n').pop() ?? 'no output'}`);
    return JSON.parse(r.value);
  };
  const hello = await next();
  return {
    version: String(hello.torch),
    best: Infinity,
    async run(n: number): Promise<number> {
      p.stdin.write(`run ${n}\n`);
      return Number((await next()).ms_per_step);
    },
    quit: () => { p.stdin.end('quit\n'); },
  };
}

const load = () => loadavg().map((v) => v.toFixed(1)).join(' ');

// PyTorch's OpenMP threads spin while they wait (drivetrain's do not: FACTS.md); on a busy
// machine that costs it several times its quiet speed, so it also runs with passive waiting and
// the faster of the two is the reference.
const TORCH_MODES: [string, Record<string, string>][] = [['default OpenMP waits', {}], ['OMP_WAIT_POLICY=PASSIVE', { OMP_WAIT_POLICY: 'PASSIVE' }]];

async function benchCase(c: Case, batch: number): Promise<void> {
  console.log(`\n${c.name}, batch ${batch}, AdamW, ${THREADS} threads (load average ${load()} on ${cpus().length} cores)`);
  const torch: (Awaited<ReturnType<typeof startTorch>> & { mode: string })[] = [];
  try {
    for (const [mode, env] of TORCH_MODES) torch.push({ ...(await startTorch(c, batch, env)), mode });
  } catch (e) {
    console.log(`  PyTorch reference missing (${(e as Error).message}); install it with \`make bench-setup\` (Debian python3-torch). drivetrain alone:`);
  }
  const { engine, batches } = await makeEngine(c, batch);
  await timeSteps(engine, batches, 3); // warm-up
  let best = Infinity;
  for (let r = 0; r < ROUNDS; r++) {
    best = Math.min(best, await timeSteps(engine, batches, STEPS));
    for (const t of torch) t.best = Math.min(t.best, await t.run(STEPS));
  }
  await engine.release();
  for (const t of torch) t.quit();
  console.log(`  drivetrain (onnxruntime CPU EP)  ${best.toFixed(1)} ms/step  (best of ${ROUNDS}×${STEPS} steps)`);
  for (const t of torch) console.log(`  PyTorch ${t.version} CPU (Debian), ${t.mode}  ${t.best.toFixed(1)} ms/step  (same rounds, interleaved)`);
  if (torch.length) {
    const ref = Math.min(...torch.map((t) => t.best));
    console.log(`  ratio: drivetrain runs at ${(ref / best).toFixed(2)}× the faster PyTorch's speed (>1 is faster; load average now ${load()})`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'drivetrain-profile-'));
  try {
    const p = await makeEngine(c, batch, dir);
    await timeSteps(p.engine, p.batches, STEPS + 1);
    const [prof] = p.engine.endProfiling();
    await p.engine.release();
    console.log(`  onnxruntime profile of ${STEPS} more steps (kernel time by op; profiling adds overhead):`);
    console.log(formatProfile(prof.summary, 14).replace(/^/gm, '  '));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

for (const c of CASES) for (const b of BATCHES) await benchCase(c, b);
