import { describe, expect, it } from 'vitest';
import { scheduleFactor, updatePlateau, initialScheduleState, ScheduleSchema } from './schedule.js';
import { updateEarlyStop, initialEarlyStop, EarlyStopSchema } from './early-stop.js';
import { formatEpochLine, Emitter, type TrainEvent } from './events.js';
import { terminalRenderer } from './progress.js';

describe('schedules', () => {
  const pos = (globalStep: number, epoch = 0, totalSteps = 100) => ({ globalStep, epoch, totalSteps });
  const s0 = initialScheduleState();
  it('constant with linear warm-up', () => {
    const c = ScheduleSchema.parse({ type: 'constant', warmupSteps: 4 });
    expect([0, 1, 2, 3, 4, 50].map((g) => scheduleFactor(c, pos(g), s0))).toEqual([0.25, 0.5, 0.75, 1, 1, 1]);
  });
  it('step decays by gamma every stepEpochs', () => {
    const c = ScheduleSchema.parse({ type: 'step', stepEpochs: 2, gamma: 0.5 });
    expect([0, 1, 2, 3, 4].map((e) => scheduleFactor(c, pos(0, e), s0))).toEqual([1, 1, 0.5, 0.5, 0.25]);
  });
  it('cosine goes from 1 to minFactor', () => {
    const c = ScheduleSchema.parse({ type: 'cosine', minFactor: 0.1 });
    expect(scheduleFactor(c, pos(0), s0)).toBeCloseTo(1);
    expect(scheduleFactor(c, pos(50), s0)).toBeCloseTo(0.55);
    expect(scheduleFactor(c, pos(100), s0)).toBeCloseTo(0.1);
  });
  it('reduce-on-plateau follows PyTorch: reduce after patience+1 bad epochs', () => {
    const c = ScheduleSchema.parse({ type: 'plateau', monitor: 'val_loss', patience: 1, factor: 0.5 });
    let s = s0;
    const seq = [1.0, 0.9, 0.95, 0.95, 0.95, 0.8];
    const factors = seq.map((v) => (s = updatePlateau(c, s, { val_loss: v })).factor);
    expect(factors).toEqual([1, 1, 1, 0.5, 0.5, 0.5]);
    expect(scheduleFactor(c, pos(0), s)).toBe(0.5);
    expect(() => updatePlateau(c, s, { loss: 1 })).toThrow(/val_loss/);
  });
  it('rejects unknown schedule types', () => {
    expect(ScheduleSchema.safeParse({ type: 'exp' }).success).toBe(false);
  });
});

describe('early stopping', () => {
  it('stops after patience epochs without an improvement beyond minDelta', () => {
    const c = EarlyStopSchema.parse({ monitor: 'train_loss', minDelta: 0.01, patience: 2 });
    let s = initialEarlyStop('train_loss');
    const out = [1, 0.95, 0.945, 0.944, 0.9].map((v, e) => (s = updateEarlyStop(c, s, e, { train_loss: v })));
    expect(out.map((x) => [x.badEpochs, x.stopped])).toEqual([[0, false], [0, false], [1, false], [2, true], [0, false]]);
    expect(out[3].best).toBe(0.95);
    expect(out[3].bestEpoch).toBe(1);
  });
  it('max mode and non-finite values', () => {
    const c = EarlyStopSchema.parse({ monitor: 'val_acc', mode: 'max', patience: 1 });
    let s = updateEarlyStop(c, initialEarlyStop('val_acc'), 0, { val_acc: 0.5 });
    s = updateEarlyStop(c, s, 1, { val_acc: NaN });
    expect(s.stopped).toBe(true);
    expect(() => updateEarlyStop(c, s, 2, { acc: 1 })).toThrow(/"val_acc", which this run does not produce \(have: acc\)/);
  });
});

describe('progress output', () => {
  it('formats the familiar epoch line and checkpoint lines; "Saved" only once durable', () => {
    const e = { type: 'epoch', epoch: 0, epochs: 15, seconds: 205.31, metrics: { train_loss: 2.12344, cls_loss: 1.23449, box_loss: 0.88889, acc: 0.45671 } } as const;
    expect(formatEpochLine(e)).toBe('Epoch 1/15: train_loss=2.1234 cls_loss=1.2345 box_loss=0.8889 acc=0.4567 time=205.3s');
    let text = '';
    const stream = { isTTY: false, write: (s: string) => { text += s; return true; } } as unknown as NodeJS.WriteStream;
    const em = new Emitter(terminalRenderer({ stream }), () => { throw new Error('bad listener'); });
    const events: TrainEvent[] = [
      { type: 'resume', epoch: 2, stepInEpoch: 7, globalStep: 47, checkpoint: 'x' },
      e,
      { type: 'checkpoint', kind: 'last', epoch: 0, globalStep: 20, path: 'p', phase: 'saved' }, // queued: not printed
      { type: 'checkpoint', kind: 'last', epoch: 0, globalStep: 20, path: 'p/last-000000020', phase: 'durable' },
      { type: 'backup', ok: true, message: 'Backed up step 20 (1.0 MB new, 0.0 MB reused)' },
    ];
    const errs: string[] = [];
    const orig = console.error;
    console.error = (m: string) => errs.push(m);
    try { for (const ev of events) em.emit(ev); } finally { console.error = orig; }
    expect(text).toBe([
      'Resuming from epoch 3, step 7 (global step 47)',
      'Epoch 1/15: train_loss=2.1234 cls_loss=1.2345 box_loss=0.8889 acc=0.4567 time=205.3s',
      'Saved last (epoch 1)',
      '✓ Backed up step 20 (1.0 MB new, 0.0 MB reused)',
      '',
    ].join('\n'));
    expect(errs.length).toBe(5);
  });
});
