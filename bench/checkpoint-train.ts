// Checkpoint latency inside the real training loop (not a test): trains glyph-tiny with a wide
// hidden layer (a few MB to ~100 MB of state incl. Adam moments) and reports, per recovery save,
// how many training steps and ms pass between the `saved` and `durable` checkpoint events, next
// to the median step time measured in the same run; `--writer inline` is the pre-worker path.
// Usage: node --import tsx bench/checkpoint-train.ts [--hidden 2048] [--steps 120] [--save-steps 5] [--writer worker|inline]
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { train } from '../src/train/index.js';
import { glyphTinyModel } from '../src/train/models.js';

const { values: a } = parseArgs({ options: { hidden: { type: 'string', default: '2048' }, steps: { type: 'string', default: '120' }, 'save-steps': { type: 'string', default: '5' }, writer: { type: 'string', default: 'worker' } } });
const writer = a.writer === 'inline' ? 'inline' : 'worker';
const hidden = Number(a.hidden);
const work = await mkdtemp(path.join(tmpdir(), 'ckpt-train-'));
const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)] ?? NaN;
const stepTimes: number[] = [];
const saved = new Map<number, { t: number; step: number }>();
const lag: { steps: number; ms: number }[] = [];
const waits: number[] = [];
let step = 0;
let lastStepAt = 0;
const batch = 8;
await train(
  { model: 'glyph-tiny', data: { n: Number(a.steps) * batch, seed: 5, valFraction: 0 }, batchSize: batch, threads: 1, seed: 3, epochs: 1, lr: 0.01, out: path.join(work, 'run'), checkpoint: { saveSteps: Number(a['save-steps']), saveLast: false } },
  {
    model: glyphTinyModel({ classes: 12, options: { hidden } }),
    checkpointDeps: { writer },
    onEvent: (e) => {
      const now = performance.now();
      if (e.type === 'step') {
        if (lastStepAt) stepTimes.push(now - lastStepAt);
        lastStepAt = now;
        step = e.globalStep;
      }
      if (e.type === 'checkpoint' && e.phase === 'saved') {
        saved.set(e.globalStep, { t: now, step });
        waits.push(e.waitedMs ?? 0);
      }
      if (e.type === 'checkpoint' && e.phase === 'durable') {
        const s = saved.get(e.globalStep);
        if (s) lag.push({ steps: step - s.step, ms: now - s.t });
      }
    },
  },
);
const stateMb = ((1024 * hidden + hidden + hidden * 13 + 13) * 4 * 3) / 1e6; // params + Adam m, v (approx.)
const ms = lag.map((l) => l.ms);
console.log(`checkpoint in the training loop (${writer} writer): ~${stateMb.toFixed(1)} MB state, ${step} steps, median step ${median(stepTimes).toFixed(1)} ms, ${lag.length} saves (first save includes any writer start-up)`);
console.log(`  saved -> durable: median ${median(lag.map((l) => l.steps))} steps / ${median(ms).toFixed(0)} ms; max ${Math.max(...lag.map((l) => l.steps))} steps / ${Math.max(...ms).toFixed(0)} ms; first ${lag[0]?.steps} steps / ${lag[0]?.ms.toFixed(0)} ms`);
const blocked = waits.filter((w) => w > 0.5).length;
console.log(`  wait for the previous save before a new one: median ${median(waits).toFixed(1)} ms, max ${Math.max(...waits).toFixed(1)} ms, ${blocked} of ${waits.length} saves waited > 0.5 ms (median step ${median(stepTimes).toFixed(1)} ms in the same run)`);
await rm(work, { recursive: true, force: true });
