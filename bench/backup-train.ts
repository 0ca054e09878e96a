// Backup latency inside the real training loop (not a test): the CLI's default run
// (`train --epochs 3 --lr 0.002 --data-n 1200 --save-steps 5 --gdrive-backup <dir>`) with the
// backup on its own thread vs on the main thread, alternating in the same process. Per
// checkpoint: training steps between its `durable` event (queued for backup) and its
// "✓ Backed up" event; and how many checkpoints were backed up before training ended.
// Usage: node --import tsx bench/backup-train.ts [--reps 2] [--epochs 3] [--data-n 1200] [--save-steps 5]
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { configFromFlags } from '../src/cli/train-flags.js';
import { train } from '../src/train/index.js';

const { values: a } = parseArgs({ options: {
  reps: { type: 'string', default: '2' }, epochs: { type: 'string', default: '3' }, 'data-n': { type: 'string', default: '1200' }, 'save-steps': { type: 'string', default: '5' },
} });
const work = await mkdtemp(path.join(tmpdir(), 'backup-train-'));
const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)] ?? NaN;

async function once(thread: boolean, rep: number) {
  const out = path.join(work, `run-${thread}-${rep}`);
  const durableAt = new Map<number, number>();
  const lags: number[] = [];
  let step = 0;
  let trainingDone = false;
  let during = 0;
  let after = 0;
  const t0 = performance.now();
  await train(configFromFlags({ epochs: Number(a.epochs), lr: 0.002, dataN: Number(a['data-n']), saveSteps: Number(a['save-steps']), out }), {
    backup: { to: path.join(work, `drive-${thread}-${rep}`), thread },
    onEvent: (e) => {
      if (e.type === 'step') step = e.globalStep;
      if (e.type === 'done') trainingDone = true;
      if (e.type === 'checkpoint' && e.phase === 'durable') durableAt.set(e.globalStep, step);
      if (e.type === 'backup' && e.ok && e.message.startsWith('Backed up') && e.globalStep !== undefined) {
        if (trainingDone) { after++; return; }
        during++;
        const d = durableAt.get(e.globalStep);
        if (d !== undefined) lags.push(step - d);
      }
    },
  });
  return { thread, lags, during, after, steps: step, seconds: (performance.now() - t0) / 1000 };
}

const rows: Awaited<ReturnType<typeof once>>[] = [];
for (let rep = 0; rep < Number(a.reps); rep++) for (const thread of [false, true]) rows.push(await once(thread, rep));
for (const thread of [false, true]) {
  const r = rows.filter((x) => x.thread === thread);
  const lags = r.flatMap((x) => x.lags);
  console.log(`${thread ? 'backup thread' : 'main thread  '}: ${r.map((x) => `${x.during} backed up during training + ${x.after} after (${x.steps} steps, ${x.seconds.toFixed(1)} s)`).join('; ')}; ` +
    `durable -> backed up: median ${median(lags)} steps, max ${lags.length ? Math.max(...lags) : NaN} steps (${lags.length} samples)`);
}
const medOf = (t: boolean) => median(rows.filter((x) => x.thread === t).flatMap((x) => x.lags));
console.log(`ratio main/thread of the median lag: ${(medOf(false) / Math.max(1, medOf(true))).toFixed(1)}x`);
await rm(work, { recursive: true, force: true });
