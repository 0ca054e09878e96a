// The live block of a training cell, fed the trainer's events through a fake tslab display: what
// a person sees in the cell (one block updated in place, one line per epoch above it) and what
// goes to the run's log file instead.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { TrainEvent } from '../train/events.js';
import { resetDisplayForTests } from './display.js';
import { blockText, unicodeBar } from './live-block.js';
import { fmtDuration, fmtRate, RateMeter } from './meter.js';
import { notebookProgress } from './progress.js';

interface Sent { data: Record<string, string>; id?: string; update: boolean }

function fakeKernel(): Sent[] {
  const sent: Sent[] = [];
  const pub = { display: { html() {}, svg() {}, text() {}, raw() {} }, newDisplay: () => pub.display };
  resetDisplayForTests({ public: pub, write: (m, update) => sent.push({ data: m.data, id: m.transient.display_id, update }) });
  return sent;
}

const dirs: string[] = [];
function runDir(): string {
  const d = mkdtempSync(path.join(os.tmpdir(), 'dt-block-'));
  dirs.push(d);
  return d;
}

afterEach(() => {
  resetDisplayForTests(undefined);
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** The events of `epochs` epochs of `steps` steps: saves at each epoch end (durable a bit later) and backups after them. */
function* stage(dir: string, epochs: number, steps: number, clock: { t: number }): Generator<TrainEvent> {
  yield { type: 'start', runDir: dir, epochs, stepsPerEpoch: steps, startEpoch: 0, stage: 'stage1-head' };
  let g = 0;
  for (let e = 0; e < epochs; e++) {
    for (let s = 1; s <= steps; s++) {
      g++;
      clock.t += 100;
      yield { type: 'step', epoch: e, epochs, stepInEpoch: s, stepsPerEpoch: steps, globalStep: g, metrics: { loss: 2 / g, cls_loss: 1.9 / g, box_loss: 0.05, acc: 0.5 }, lr: { head: 0.008 } };
    }
    yield { type: 'epoch', epoch: e, epochs, metrics: { train_loss: 2 / g, cls_loss: 1.9 / g, box_loss: 0.05, acc: 0.5, val_loss: 2.1 / g, val_acc: 0.45 }, seconds: steps / 10 };
    yield { type: 'checkpoint', kind: 'last', epoch: e, globalStep: g, path: dir, phase: 'saved' };
    yield { type: 'checkpoint', kind: 'last', epoch: e, globalStep: g, path: path.join(dir, 'checkpoints', `last-${String(g).padStart(9, '0')}`), phase: 'durable' };
    yield { type: 'backup', ok: true, message: `Backed up step ${g} (21.7 kB new, 189 kB reused)`, line: `✓ Backed up step ${g} (21.7 kB new, 189 kB reused)`, globalStep: g };
  }
}

describe('the live block of a training cell', () => {
  it('a 30-epoch stage is one block updated in place with one line per epoch; saves and backups go to the log file', () => {
    const sent = fakeKernel();
    const dir = runDir();
    const clock = { t: 0 };
    const v = notebookProgress({ stage: 'stage1-head', backupTo: '/drive', now: () => clock.t });
    let midEpoch = '';
    for (const e of stage(dir, 30, 12, clock)) {
      v.listener(e);
      if (e.type === 'step' && e.epoch === 4 && e.stepInEpoch < 12) midEpoch = sent.at(-1)!.data['text/html']!;
    }
    v.finish({ reason: 'completed', runDir: dir, epochsDone: 30, globalStep: 360, message: 'Finished 30 epochs (global step 360).' });

    expect(new Set(sent.map((s) => s.id)).size).toBe(1); // one block
    expect(sent.slice(1).every((s) => s.update)).toBe(true); // updated in place
    expect(sent.length).toBeLessThan(360 / 5 + 30 * 5); // throttled (every 500 ms, plus lasting events)
    const text = sent.at(-1)!.data['text/plain']!.split('\n');
    const epochLines = text.filter((l) => /^Epoch \d+\/30: /.test(l));
    expect(epochLines).toHaveLength(30);
    expect(text.indexOf(epochLines[29]!)).toBe(29); // the lines first, the block under them
    expect(text.filter((l) => /✓ Backed up|Saved /.test(l))).toEqual(['  backup: ✓ Backed up step 360 (21.7 kB new, 189 kB reused)']);
    expect(text.at(-1)).toBe('Finished 30 epochs (global step 360). Backed up to /drive.');
    const html = sent.at(-1)!.data['text/html']!;
    expect(html).not.toContain('<table'); // classic Notebook would right-align and centre it
    expect(html).toContain('last-000000360 (step 360, epoch 30) on disk');
    expect(html).toContain('<svg'); // the loss chart inside the block
    // Within an epoch: tqdm's fields and the epoch's own metric names (train_loss, not loss=)
    expect(midEpoch).toMatch(/\b\d+\/12 \[00:0\d&lt;00:0\d, 10\.00it\/s\]/);
    expect(midEpoch).toMatch(/train \(epoch 5\)/);
    expect(midEpoch).toContain('<span style="opacity:.65">train_loss</span>');
    expect(midEpoch).not.toContain('<span style="opacity:.65">loss</span>');
    const log = readFileSync(path.join(dir, 'train.log'), 'utf8');
    expect(log).toContain('Saved last (epoch 30)');
    expect(log).toContain('✓ Backed up step 360');
    expect(log).toContain('Epoch 30/30: train_loss=');
    expect(log).toContain('Finished 30 epochs');
  });

  it('shows the checkpoint once it is durable, not when its save starts', () => {
    const sent = fakeKernel();
    const dir = runDir();
    const v = notebookProgress({ stage: 's', backupTo: null, everyMs: 0 });
    v.listener({ type: 'start', runDir: dir, epochs: 2, stepsPerEpoch: 4, startEpoch: 0, stage: 's' });
    v.listener({ type: 'checkpoint', kind: 'recovery', epoch: 0, globalStep: 2, path: dir, phase: 'saved' });
    expect(sent.at(-1)!.data['text/plain']).not.toContain('checkpoint:');
    v.listener({ type: 'checkpoint', kind: 'recovery', epoch: 0, globalStep: 2, path: path.join(dir, 'checkpoints', 'recovery-000000002'), phase: 'durable' });
    expect(sent.at(-1)!.data['text/plain']).toContain('  checkpoint: recovery-000000002 (step 2, epoch 1) on disk');
    expect(sent.at(-1)!.data['text/plain']).toContain('  backup: off (run the mount cell to back up)');
  });

  it('after an Interrupt: "stopping" at once, then one calm message once saved and backed up', () => {
    const sent = fakeKernel();
    const dir = runDir();
    const v = notebookProgress({ stage: 'stage1-head', backupTo: '/drive', everyMs: 0 });
    v.listener({ type: 'start', runDir: dir, epochs: 8, stepsPerEpoch: 28, startEpoch: 3, stage: 'stage1-head' });
    v.listener({ type: 'step', epoch: 3, epochs: 8, stepInEpoch: 15, stepsPerEpoch: 28, globalStep: 99, metrics: { loss: 1 }, lr: {} });
    v.interrupting();
    expect(sent.at(-1)!.data['text/plain']).toContain('Interrupt received: finishing this step, then saving and backing up…');
    v.listener({ type: 'checkpoint', kind: 'signal', epoch: 3, globalStep: 99, path: path.join(dir, 'checkpoints', 'signal-000000099'), phase: 'durable' });
    v.listener({ type: 'done', reason: 'interrupted', epoch: 3, globalStep: 99, message: "Interrupted: … Run the same command again to resume (resume: 'auto')." });
    v.listener({ type: 'backup', ok: true, message: 'Backed up step 99', line: '✓ Backed up step 99', globalStep: 99 });
    const msg = v.finish({ reason: 'interrupted', runDir: dir, epochsDone: 3, globalStep: 99, message: "Interrupted: … Run the same command again to resume (resume: 'auto')." });
    expect(msg).toBe('Interrupted at epoch 4/8, step 15/28 (global step 99). Saved checkpoint signal-000000099. Backed up to /drive. Re-run this cell to continue from there.');
    const text = sent.at(-1)!.data['text/plain']!;
    expect(text.split('\n').at(-1)).toBe(msg);
    expect(text).not.toMatch(/command|resume: 'auto'/);
    expect(sent.at(-1)!.data['text/html']).toContain('>interrupted<');
  });

  it('a finished stage run again: one line, no empty "epoch 1/0" block, no command-line advice', () => {
    const sent = fakeKernel();
    const dir = runDir();
    const v = notebookProgress({ stage: 'stage0-pretrain', backupTo: '/drive' });
    const message = "Stage stage0-pretrain already finished (epoch 1, global step 28); nothing to do. Use a new --out or resume: 'none' to train again.";
    v.listener({ type: 'done', reason: 'alreadyDone', epoch: 1, globalStep: 28, message });
    v.finish({ reason: 'alreadyDone', runDir: dir, epochsDone: 1, globalStep: 28, message });
    expect(sent).toHaveLength(1);
    expect(sent[0]!.id).toBeUndefined();
    expect(sent[0]!.data['text/plain']).toBe(`✓ stage0-pretrain has already finished (1 epoch, global step 28, in ${dir}): nothing to train. To train it again, set RUN to a new name.`);
  });
});

describe('tqdm fields', () => {
  it('formats durations, rates and bars as tqdm does', () => {
    expect([fmtDuration(0), fmtDuration(65.4), fmtDuration(3723), fmtDuration(null)]).toEqual(['00:00', '01:05', '1:02:03', '?']);
    expect([fmtRate(7.4), fmtRate(0.5), fmtRate(null), fmtRate(250)]).toEqual(['7.40it/s', '2.00s/it', '?it/s', '250it/s']);
    expect(unicodeBar(0, 4)).toBe('|    |');
    expect(unicodeBar(0.5, 4)).toBe('|██  |');
    expect(unicodeBar(0.55, 4)).toBe('|██▏ |');
    expect(unicodeBar(1, 4)).toBe('|████|');
  });
  it('measures the rate over a recent window', () => {
    const m = new RateMeter(10);
    m.add(0, 0);
    expect(m.rate()).toBeNull();
    m.add(1000, 2); // a slow first step (graph set-up) …
    for (let t = 2000; t <= 30_000; t += 1000) m.add(t, 2 + ((t - 1000) / 1000) * 10);
    expect(m.rate()).toBeCloseTo(10, 5); // … is out of the window
    expect(m.eta(50)).toBeCloseTo(5, 5);
  });
  it('the text twin of a block that has not stepped yet', () => {
    const t = blockText({
      stage: 's', runDir: 'runs/s', phase: 'training', epoch: 0, epochs: 3, step: 0, steps: 10, globalStep: 0, elapsed: 0, epochElapsed: 0, rate: null,
      running: {}, last: null, lr: {}, checkpoint: null, backup: null, backupTo: '/d', logFile: null, lines: [], note: null, chart: null,
    });
    expect(t).toBe('[s] Epoch 1/3 |                    | 0/10 [00:00<?, ?it/s]\n  total: 0/30 steps [00:00<?] (training)\n  backup: to /d, nothing backed up yet');
  });
});
