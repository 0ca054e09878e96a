// Checks before the first step: monitors must be metrics the run produces (spellings of one
// metric are accepted and renamed), and a resumed checkpoint must know the same classes.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseTrainState } from '../checkpoint/state.js';
import { Subset } from '../data/dataset.js';
import { parseTrainConfig } from './config.js';
import type { TrainEvent } from './events.js';
import { checkMonitors, checkResumeClasses, epochMetricNames, resolveMonitor } from './preflight.js';
import { buildDatasets } from './datasets.js';
import { train } from './run.js';
import { Emitter } from './events.js';
import type { LoopCheckpoints } from './ports.js';
import { Trainer } from './trainer.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dt-preflight-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const detector = epochMetricNames({ train: ['loss', 'cls_loss', 'box_loss', 'acc', 'box_iou'], eval: ['loss', 'cls_loss', 'box_loss', 'acc', 'box_iou'] }, true);

describe('monitors', () => {
  it('the epoch metric names: train_loss, the step metrics, val_ + the eval metrics when there is validation', () => {
    expect(detector).toEqual(['train_loss', 'cls_loss', 'box_loss', 'acc', 'box_iou', 'val_loss', 'val_cls_loss', 'val_box_loss', 'val_acc', 'val_box_iou']);
    expect(epochMetricNames({ train: ['loss', 'accuracy'], eval: ['loss', 'accuracy'] }, false)).toEqual(['train_loss', 'accuracy']);
  });

  it('accepts spellings of a produced metric and names it as produced; anything else lists the metrics there are', () => {
    expect(resolveMonitor('checkpoint.monitor', 'val_accuracy', detector)).toBe('val_acc');
    expect(resolveMonitor('checkpoint.monitor', 'train_acc', detector)).toBe('acc');
    expect(resolveMonitor('earlyStopping.monitor', 'loss', detector)).toBe('train_loss');
    expect(resolveMonitor('x', 'val_acc', ['val_accuracy', 'train_loss'])).toBe('val_accuracy');
    expect(() => resolveMonitor('checkpoint.monitor', 'val_iou', detector)).toThrow(
      'checkpoint.monitor: "val_iou" is not a metric this run produces. It produces: train_loss, cls_loss, box_loss, acc, box_iou, val_loss, val_cls_loss, val_box_loss, val_acc, val_box_iou. Set checkpoint.monitor to one of them.');
    expect(() => resolveMonitor('earlyStopping.monitor', 'val_iou', detector)).toThrow(/Set earlyStopping\.monitor \(--early-stop-monitor\) to one of them\.$/);
    expect(() => resolveMonitor('earlyStopping.monitor', 'val_acc', ['train_loss', 'acc'])).toThrow(/There is no validation in this run/);
  });

  it('rewrites the config with the produced names and says so; the default val_loss without validation keeps no best', () => {
    const said: string[] = [];
    const cfg = parseTrainConfig({ epochs: 1, lr: 0.1, checkpoint: { monitor: 'val_accuracy', mode: 'max' }, earlyStopping: { monitor: 'train_loss', patience: 2 }, schedule: { type: 'plateau', monitor: 'val_loss' } });
    const out = checkMonitors(cfg, detector, (m) => said.push(m));
    expect([out.checkpoint.monitor, out.earlyStopping?.monitor, out.schedule]).toEqual(['val_acc', 'train_loss', expect.objectContaining({ monitor: 'val_loss' })]);
    expect(said).toEqual(['checkpoint.monitor "val_accuracy" is "val_acc" in this run; using "val_acc"']);
    const plain = parseTrainConfig({ epochs: 1, lr: 0.1 });
    expect(checkMonitors(plain, detector)).toBe(plain);
    expect(checkMonitors(plain, ['train_loss', 'acc'], (m) => said.push(m)).checkpoint.monitor).toBeNull();
    expect(said.at(-1)).toMatch(/^No validation in this run: no best checkpoint is kept/);
  });
});

describe('a resumed checkpoint and the data', () => {
  const state = (classNames: string[]) => parseTrainState({ epoch: 1, stepInEpoch: 0, globalStep: 4, extra: { model: { classNames } } });
  it('must have the same class list (names and order); the error names both lists and the fix', () => {
    expect(() => checkResumeClasses('run/ck', state(['cat', 'dog']), ['cat', 'dog'])).not.toThrow();
    expect(() => checkResumeClasses('run/ck', parseTrainState({ epoch: 0, stepInEpoch: 0, globalStep: 0 }), ['a'])).not.toThrow(); // written before models were recorded
    expect(() => checkResumeClasses('run/ck', state(['cat', 'dog']), ['dog', 'cat'])).toThrow(
      "cannot resume run/ck: it was trained on the classes [cat, dog] (2), but the data now has [dog, cat] (2); labels would change meaning. Train into a new run folder (--out DIR; runbooks --run NAME, notebooks RUN) or start over (resume: 'none'), or give the old class list (data.classes) to keep training this run.");
  });
});

describe('the Trainer checks before its first step', () => {
  it('a Trainer built by hand checks its monitors against the engine\'s metric names too', () => {
    const engine = { metricNames: { train: ['loss'], eval: ['loss'] }, step: () => ({ loss: 1 }), evaluate: () => ({ loss: 1 }), getState: () => new Map(), setState: () => undefined };
    const config = parseTrainConfig({ epochs: 1, lr: 0.1, checkpoint: { monitor: 'val_acc' } });
    const make = () => new Trainer({ config, engine, train: { length: 4, getBatch: () => ({}) }, val: { length: 2, getBatch: () => ({}) }, checkpoints: {} as LoopCheckpoints, events: new Emitter(), groups: ['all'], resume: null });
    expect(make).toThrow('checkpoint.monitor: "val_acc" is not a metric this run produces. It produces: train_loss, val_loss. Set checkpoint.monitor to one of them.');
  });
});

describe('train() checks before its first step', () => {
  const base = { model: 'glyph-tiny', data: { n: 64, seed: 1, valFraction: 0.25 }, batchSize: 16, epochs: 1, lr: 0.05, threads: 1 };
  it('keeps the best by val_accuracy (as val_acc), and refuses an unknown early-stopping monitor before any step', async () => {
    const s = await train({ ...base, out: path.join(tmp, 'a'), checkpoint: { monitor: 'val_accuracy', mode: 'max' } });
    expect(s.best?.metric).toBe('val_acc');
    expect(s.config.checkpoint.monitor).toBe('val_acc');
    const events: TrainEvent[] = [];
    await expect(train({ ...base, out: path.join(tmp, 'b'), earlyStopping: { monitor: 'val_iou', patience: 2 } }, { onEvent: (e) => events.push(e) }))
      .rejects.toThrow(/^earlyStopping\.monitor: "val_iou" is not a metric this run produces\. It produces: train_loss, cls_loss, acc, box_loss, box_iou, val_loss,/);
    expect(events.filter((e) => e.type === 'step')).toEqual([]);
    expect(fs.existsSync(path.join(tmp, 'b'))).toBe(false); // refused before the run folder was made
  });

  it('refuses to resume a run on data with another class list; other data resumes with a config-hash warning', async () => {
    const out = path.join(tmp, 'c');
    await train({ ...base, out });
    const d = buildDatasets(parseTrainConfig({ ...base, out }));
    const renamed = [...d.classNames.slice(1), d.classNames[0]];
    await expect(train({ ...base, out, epochs: 2 }, { datasets: { ...d, classNames: renamed } })).rejects.toThrow(/^cannot resume .*c\/checkpoints\/.*: it was trained on the classes \[line, .*\] \(12\), but the data now has \[.*, line\] \(12\)/);
    const logs = (events: TrainEvent[]) => events.flatMap((e) => (e.type === 'log' ? [e.message] : []));
    const same: TrainEvent[] = [], fewer: TrainEvent[] = [];
    expect((await train({ ...base, out, epochs: 2 }, { datasets: d, onEvent: (e) => same.push(e) })).epoch).toBe(2); // the same classes resume
    expect(logs(same).filter((m) => /different config/.test(m))).toEqual([]);
    // the config hash covers the data as loaded: one validation sample fewer is another run
    const val = new Subset(d.val!, Uint32Array.from({ length: d.val!.length - 1 }, (_, i) => i));
    await train({ ...base, out, epochs: 3 }, { datasets: { ...d, val }, onEvent: (e) => fewer.push(e) });
    expect(logs(fewer)).toContainEqual(expect.stringMatching(/^Warning: .* was written with a different config \(hash \w+, now \w+\); continuing from it$/));
  });
});
