// Data pipeline throughput for datasets from disk, against the training step on the same machine:
// decode (sharp) images/s on the first load, the decoded cache's load time, host batches with
// and without augmentation (images/s), and the glyph CNN's step time fed by the resident path
// (no augmentation: the engine gathers rows in the graph) and by augmented host batches.
// Target: data time ≤ 2 % of step time after the first epoch.
// Usage: node --import tsx bench/data.ts [--n 512] [--canvas 160] [--size 64] [--batch 32] [--steps 20] [--threads 2]
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { AugmentedDataset, STANDARD_AUGMENT } from '../src/data/augment.js';
import { loadImageDataset } from '../src/data/image-dataset.js';
import type { Batch } from '../src/data/dataset.js';
import { parseTrainConfig } from '../src/train/config.js';
import { createEngine } from '../src/train/engine-adapter.js';
import { createModel } from '../src/train/models.js';
import { writeImageSet } from '../test/support/image-data.js';

const { values: a } = parseArgs({ options: {
  n: { type: 'string', default: '512' }, canvas: { type: 'string', default: '160' }, size: { type: 'string', default: '64' },
  batch: { type: 'string', default: '32' }, steps: { type: 'string', default: '20' }, threads: { type: 'string', default: '2' },
} });
const n = Number(a.n), size = Number(a.size), B = Number(a.batch), steps = Number(a.steps), threads = Number(a.threads);
const work = await mkdtemp(path.join(tmpdir(), 'bench-data-'));
const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
const row = (k: string, v: string) => console.log(`  ${k.padEnd(52)} ${v}`);

try {
  const w = await writeImageSet(path.join(work, 'data'), { n, canvas: Number(a.canvas) });
  const opts = { path: w.dir, ann: w.ann, size, channels: 3 as const, cacheDir: path.join(work, 'cache'), mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] };
  const first = await loadImageDataset(opts);
  const again = await loadImageDataset(opts);
  const ds = first.dataset;
  const order = Array.from({ length: n }, (_, i) => (i * 7919) % n);
  const batches = Array.from({ length: Math.floor(n / B) }, (_, k) => order.slice(k * B, (k + 1) * B));

  // host batches: ms per batch, median of 3 passes over the epoch
  const timeBatches = (get: (idx: number[], epoch: number) => Batch): number => median([0, 1, 2].map((epoch) => {
    const t0 = performance.now();
    for (const idx of batches) get(idx, epoch);
    return (performance.now() - t0) / batches.length;
  }));
  const aug = new AugmentedDataset(ds, null, STANDARD_AUGMENT);
  const flipShift = new AugmentedDataset(ds, null, { hflip: 0.5, translate: 0.1 });
  const plainMs = timeBatches((idx) => ds.getBatch(idx));
  const augMs = timeBatches((idx, epoch) => aug.getBatch(idx, { epoch, seed: 1 }));
  const geoMs = timeBatches((idx, epoch) => flipShift.getBatch(idx, { epoch, seed: 1 }));

  // the training step, same machine: glyph CNN on this data, resident rows (stepIndices) and
  // augmented host batches (getBatch + step), alternated step by step so both see the same load
  const cfg = parseTrainConfig({ model: 'glyph', epochs: 1, lr: 0.01, batchSize: B, threads, data: { path: w.dir, size } });
  const spec = () => createModel('glyph', { size, channels: 3, classes: first.classes.length });
  const sample = ds.getBatch([0]);
  const resident = await createEngine(spec(), cfg, sample, ds);
  const host = await createEngine(spec(), cfg, sample);
  const lr = { lr: { backbone: 0.01, head: 0.01 } };
  const res: number[] = [], hostStep: number[] = [], making: number[] = [];
  try {
    for (let k = -3; k < steps; k++) { // 3 warm-up steps each
      const idx = batches[(k + 3) % batches.length];
      const t0 = performance.now();
      await resident.stepIndices!(Int32Array.from(idx), lr);
      const t1 = performance.now();
      const b = aug.getBatch(idx, { epoch: Math.floor((k + 3) / batches.length), seed: 1 });
      const t2 = performance.now();
      await host.step(b, lr);
      const t3 = performance.now();
      if (k >= 0) { res.push(t1 - t0); making.push(t2 - t1); hostStep.push(t3 - t2); }
    }
  } finally {
    await resident.dispose();
    await host.dispose();
  }
  const residentStep = median(res), hostOnly = median(hostStep), makeMs = median(making);
  const stepsPerEpoch = batches.length;

  console.log(`machine: ${cpus().length} cores, load average ${loadavg()[0].toFixed(1)} at the end (other processes share them; compare the ratios, measured in the same run)`);
  console.log(`bench/data: ${n} images (${a.canvas}×${Math.round(Number(a.canvas) * 0.75)}-ish PNG/JPEG, RGB + grey) → ${size}×${size}×3, batch ${B}, glyph CNN, ${threads} threads`);
  row('first load: read + decode + resize (sharp)', `${(n / first.cache.decodeSeconds).toFixed(0)} images/s (${first.cache.seconds.toFixed(2)} s in all)`);
  row('later loads: the decoded cache (incl. sha256 check)', `${(n / again.cache.seconds).toFixed(0)} images/s (${again.cache.seconds.toFixed(3)} s, hit=${again.cache.hit})`);
  row('host batch, no augmentation (normalise only)', `${plainMs.toFixed(2)} ms/batch = ${(B / plainMs * 1000).toFixed(0)} images/s`);
  row('host batch, flip + shift', `${geoMs.toFixed(2)} ms/batch = ${(B / geoMs * 1000).toFixed(0)} images/s`);
  row('host batch, flip + shift + brightness + contrast', `${augMs.toFixed(2)} ms/batch = ${(B / augMs * 1000).toFixed(0)} images/s`);
  row('train step, resident data (no augmentation)', `${residentStep.toFixed(2)} ms = ${(1000 / residentStep).toFixed(1)} steps/s`);
  row('train step on an augmented host batch', `${hostOnly.toFixed(2)} ms + ${makeMs.toFixed(2)} ms making the batch`);
  console.log('  ratios (same run):');
  row('augmented batch making / resident step (target ≤ 2 %)', `${(100 * makeMs / residentStep).toFixed(2)} %`);
  row('(augmented batch making + step) / resident step', `${((makeMs + hostOnly) / residentStep).toFixed(3)}×`);
  row('resident data per step (an index vector) / step', '≈ 0 % (no host work)');
  row('first-load decode / one epoch of resident steps', `${(first.cache.decodeSeconds / (stepsPerEpoch * residentStep / 1000)).toFixed(2)}×`);
  row('cache load / first-load decode', `${(again.cache.seconds / first.cache.decodeSeconds).toFixed(3)}×`);
} finally {
  await rm(work, { recursive: true, force: true });
}
