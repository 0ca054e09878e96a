// The loop in-process: NaN guard keeps the last good checkpoint, schedules reach the engine,
// the metrics log matches the state after a resume, permanent keeps, progress bar on a TTY.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { train } from '../src/train/run.js';
import type { TrainEvent } from '../src/train/events.js';
import { terminalRenderer } from '../src/train/progress.js';
import { MetricsLog } from '../src/train/metrics-log.js';
import { TensorDataset } from '../src/data/dataset.js';
import { glyphDataset } from '../src/data/glyphs.js';
import { finalCheckpoint } from './support/trainer-runs.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dt-loop-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const tiny = { model: 'glyph-tiny', data: { n: 320, seed: 5 }, batchSize: 8, threads: 1, seed: 3 };

describe('training loop', () => {
  it('stops on a non-finite loss with a clear message and keeps the last good checkpoint', async () => {
    const out = path.join(tmp, 'nan');
    const events: TrainEvent[] = [];
    // one corrupt sample (a NaN pixel) somewhere in the data
    const g = glyphDataset({ n: 320, seed: 5 });
    const pixels = Float32Array.from(g.columns.image.data as Uint8Array, (v) => v / 255);
    pixels[200 * 1024 + 17] = NaN;
    const train_ = new TensorDataset({ ...g.columns, image: { dtype: 'float32', shape: [1, 32, 32], data: pixels } });
    const s = await train({ ...tiny, out, epochs: 2, lr: 0.05, checkpoint: { saveSteps: 1 } }, { datasets: { train: train_ }, onEvent: (e) => events.push(e) });
    expect(s.reason).toBe('nonFinite');
    expect(s.message).toMatch(/^loss became (NaN|Infinity|-Infinity) at epoch 1, step (\d+) \(global step \2\)\. Training stopped; the last good checkpoint is kept\. Lower the learning rate/);
    expect(events.some((e) => e.type === 'error')).toBe(true);
    const last = await finalCheckpoint(out);
    expect(last.state.globalStep).toBe(s.globalStep);
    for (const [k, t] of last.tensors) if (k.startsWith('param.')) expect((t.data as Float32Array).every(Number.isFinite), k).toBe(true);
  });

  it('drives the learning rate by the schedule, logs metrics consistent with resumes, keeps permanent epochs', async () => {
    const out = path.join(tmp, 'sched');
    const cfg = { ...tiny, out, epochs: 3, lr: 0.1, lrGroups: { head: 0.2 }, schedule: { type: 'step', stepEpochs: 1, gamma: 0.5, warmupSteps: 2 }, checkpoint: { permanentEvery: 2, saveSteps: 10 } } as const;
    const lrs: Record<string, number>[] = [];
    const ac = new AbortController();
    const first = await train(cfg, { signal: ac.signal, onEvent: (e) => { if (e.type === 'step') { lrs.push(e.lr); if (e.globalStep === 50) ac.abort(); } } });
    expect(first.reason).toBe('interrupted');
    expect(lrs[0]).toEqual({ backbone: 0.05, head: 0.1 }); // warm-up 1/2
    expect(lrs[1]).toEqual({ backbone: 0.1, head: 0.2 });
    expect(lrs[40]).toEqual({ backbone: 0.05, head: 0.1 }); // epoch 2: × 0.5
    // append junk "from a lost process" past the checkpoint: the resumed run drops it
    fs.appendFileSync(path.join(out, 'metrics.jsonl'), JSON.stringify({ type: 'step', epoch: 1, globalStep: 51, loss: 123 }) + '\n');
    const rest = await train(cfg, { onEvent: (e) => { if (e.type === 'step') lrs.push(e.lr); } });
    expect(rest.reason).toBe('completed');
    expect(lrs[lrs.length - 1]).toEqual({ backbone: 0.025, head: 0.05 });
    const log = new MetricsLog(out).read();
    const steps = log.filter((r) => r.type === 'step').map((r) => r.globalStep);
    expect(steps).toEqual(Array.from({ length: 105 }, (_, i) => i + 1));
    expect(log.filter((r) => r.type === 'epoch').map((r) => r.epoch)).toEqual([0, 1, 2]);
    expect(fs.readdirSync(path.join(out, 'checkpoints'))).toContain('epoch-002');
  });

  it('a finished run says so; asking for more epochs continues it', async () => {
    const out = path.join(tmp, 'more');
    expect((await train({ ...tiny, out, epochs: 1, lr: 0.05 })).globalStep).toBe(35);
    expect((await train({ ...tiny, out, epochs: 1, lr: 0.05 })).reason).toBe('alreadyDone');
    const ev: TrainEvent[] = [];
    const s = await train({ ...tiny, out, epochs: 2, lr: 0.05 }, { onEvent: (e) => ev.push(e) });
    expect([s.reason, s.globalStep]).toEqual(['completed', 70]);
    expect(ev.find((e) => e.type === 'resume')).toMatchObject({ epoch: 1, stepInEpoch: 0, globalStep: 35 });
  });

  it('renders a progress bar on a TTY and the epoch line after it', () => {
    let text = '';
    const stream = Object.assign(Object.create(process.stdout), { isTTY: true, columns: 100, write: (s: string) => { text += s; return true; }, cursorTo: () => true, clearLine: () => true, moveCursor: () => true });
    const r = terminalRenderer({ stream, bar: true });
    for (let i = 1; i <= 3; i++) r({ type: 'step', epoch: 0, epochs: 2, stepInEpoch: i, stepsPerEpoch: 3, globalStep: i, metrics: { loss: 1 / i }, lr: {} });
    r({ type: 'epoch', epoch: 0, epochs: 2, metrics: { train_loss: 0.5 }, seconds: 1 });
    expect(text).toMatch(/Epoch 1\/2 \[.*\] 3\/3 loss=0\.3333/);
    expect(text.trimEnd().endsWith('Epoch 1/2: train_loss=0.5000 time=1.0s')).toBe(true);
  });
});
