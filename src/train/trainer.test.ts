// The Trainer with a scripted engine and an in-memory checkpoint port (no ONNX, no files): hooks
// that ask to save or stop, a refusing onStart, and the resume fields read through their schema.
import { describe, expect, it } from 'vitest';
import type { CheckpointKind } from '../checkpoint/manifest.js';
import type { SaveDecision } from '../checkpoint/policy.js';
import { parseTrainState, type TrainStateInput } from '../checkpoint/state.js';
import type { Dataset } from '../data/dataset.js';
import { tensor } from '../tensor.js';
import { parseTrainConfig } from './config.js';
import { Emitter, type TrainEvent } from './events.js';
import type { LoopCheckpoints, LoopEngine } from './ports.js';
import { Trainer, type TrainerHooks } from './trainer.js';

const data: Dataset = { length: 8, getBatch: (idx) => ({ x: tensor('x', 'float32', [idx.length]) }) };

function rig(hooks: TrainerHooks[], opts: { epochs?: number; resume?: TrainStateInput; history?: TrainStateInput['metrics'] } = {}) {
  let steps = 0;
  const engine: LoopEngine = {
    step: () => ({ loss: 1 / ++steps }),
    evaluate: () => ({ loss: 0 }),
    getState: () => new Map([['param.w', tensor('param.w', 'float32', [1])]]),
    setState: () => undefined,
  };
  const saves: { kind: string; globalStep: number; state: TrainStateInput }[] = [];
  let flushes = 0;
  const checkpoints: LoopCheckpoints = {
    runDir: 'run',
    signalReceived: false,
    shouldSave: () => null,
    save(d: CheckpointKind | SaveDecision, _t: unknown, state: TrainStateInput) {
      const kind = typeof d === 'string' ? d : d.kind;
      saves.push({ kind, globalStep: state.globalStep, state });
      return { kind, globalStep: state.globalStep, durable: new Promise(() => {}) };
    },
    flush: async () => { flushes++; },
  } as unknown as LoopCheckpoints;
  const events: TrainEvent[] = [];
  const config = parseTrainConfig({ epochs: opts.epochs ?? 2, lr: 0.1, batchSize: 2, validate: false, checkpoint: { monitor: null } });
  const resume = opts.resume ? { dir: 'run/ck', tensors: new Map(), state: parseTrainState(opts.resume), history: opts.history && parseTrainState({ ...opts.resume, metrics: opts.history }).metrics } : null;
  const trainer = new Trainer({ config, engine, train: data, checkpoints, events: new Emitter((e) => events.push(e)), groups: ['all'], hooks, resume });
  return { trainer, saves, events, flushes: () => flushes, steps: () => steps };
}

describe('Trainer hooks', () => {
  it('a hook may ask for a save (taken at that step boundary) and for a stop (saved, flushed, resumable)', async () => {
    const r = rig([{
      onStep: (s, t) => {
        if (s.globalStep === 1) t.requestSave();
        if (s.globalStep === 6) t.requestStop('time budget used up');
      },
    }]);
    const s = await r.trainer.run();
    expect([s.reason, s.message, s.globalStep]).toEqual(['interrupted', 'time budget used up', 6]);
    expect(r.saves.map((x) => [x.kind, x.globalStep])).toEqual([['manual', 1], ['manual', 6]]); // no save policy here: the epoch end at step 4 saves nothing
    expect(r.saves[1].state.extra).toEqual({ epochSums: { sums: { loss: 1 / 5 + 1 / 6 }, count: 2 }, finished: null, earlyStopBestEpoch: null, device: null });
    expect(r.flushes()).toBe(3); // before each of the 2 saves (one save in flight at most), and at the end
    expect(r.events.at(-1)).toMatchObject({ type: 'done', reason: 'interrupted', globalStep: 6 });
  });

  it('an onStart hook that throws refuses the run before its first step', async () => {
    const r = rig([{ onStart: () => { throw new Error('monitor "val_iou" is not a metric of this model'); } }]);
    await expect(r.trainer.run()).rejects.toThrow(/val_iou/);
    expect([r.steps(), r.saves.length]).toEqual([0, 0]);
  });
});

describe('saves', () => {
  it('at most one in flight: a save waits until the previous one is durable (Orbax), and says how long', async () => {
    let inFlight = 0;
    let maxAtSave = 0;
    const pending: Promise<unknown>[] = [];
    const r = rig([{ onStep: (_s, t) => t.requestSave() }]);
    const cp = (r.trainer as unknown as { o: { checkpoints: LoopCheckpoints } }).o.checkpoints;
    cp.save = ((d: CheckpointKind) => {
      maxAtSave = Math.max(maxAtSave, inFlight);
      inFlight++;
      const durable = new Promise((res) => setTimeout(res, 20)).then(() => { inFlight--; return { dir: 'run/x' }; });
      pending.push(durable);
      return { kind: d, globalStep: 0, durable };
    }) as unknown as LoopCheckpoints['save'];
    cp.flush = async () => { await Promise.all(pending); };
    await r.trainer.run();
    expect(pending.length).toBe(8);
    expect(maxAtSave).toBe(0);
    const saved = r.events.filter((e) => e.type === 'checkpoint' && e.phase === 'saved');
    expect(saved.slice(1).every((e) => e.type === 'checkpoint' && (e.waitedMs ?? 0) >= 10)).toBe(true);
  });
});

describe('state.json size', () => {
  it('is constant over a run: the first epoch and the last 3, not the whole history (which the summary still has)', async () => {
    const r = rig([{ onEpochEnd: (_s, t) => t.requestSave() }], { epochs: 40 });
    const s = await r.trainer.run();
    expect(s.history.length).toBe(40);
    const size = (i: number) => JSON.stringify(r.saves[i].state).length;
    const at10 = r.saves.findIndex((x) => x.globalStep === 40), at40 = r.saves.findIndex((x) => x.globalStep === 160);
    expect(r.saves[at40].state.metrics!.map((m) => m.epoch)).toEqual([0, 37, 38, 39]);
    expect(Math.abs(size(at40) - size(at10))).toBeLessThan(20); // digits of the numbers only
  });

  it('a resume takes the whole history from the metrics log, or from an old checkpoint that still has it all', async () => {
    const rec = (epoch: number) => ({ epoch, globalStep: 4 * (epoch + 1), values: { train_loss: 1 / (epoch + 1) } });
    const at = { epoch: 6, stepInEpoch: 0, globalStep: 24 };
    const old = rig([], { epochs: 8, resume: { ...at, metrics: [0, 1, 2, 3, 4, 5].map(rec) } });
    expect((await old.trainer.run()).history.map((h) => h.epoch)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    const bounded = rig([], { epochs: 8, resume: { ...at, metrics: [0, 3, 4, 5].map(rec) }, history: [0, 1, 2, 3, 4, 5].map(rec) });
    const s = await bounded.trainer.run();
    expect(s.history.map((h) => h.epoch)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(s.history[1].values).toEqual({ train_loss: 0.5 });
  });
});

describe('resume fields', () => {
  const at = (extra: Record<string, unknown>): TrainStateInput => ({ epoch: 0, stepInEpoch: 2, globalStep: 2, extra });

  it('continue the epoch sums (also from checkpoints that kept them as `acc`)', async () => {
    const r = rig([], { epochs: 1, resume: at({ acc: { sums: { loss: 10 }, count: 2 }, finished: null }) });
    const s = await r.trainer.run();
    expect([s.reason, s.globalStep, r.steps()]).toEqual(['completed', 4, 2]);
    expect(s.last).toEqual({ train_loss: (10 + 1 + 1 / 2) / 4 });
    expect(r.events.find((e) => e.type === 'resume')).toMatchObject({ epoch: 0, stepInEpoch: 2, globalStep: 2 });
  });

  it('a finished run stays finished; a malformed field names the checkpoint', async () => {
    expect((await rig([], { epochs: 1, resume: at({ finished: 'earlyStop' }) }).trainer.run()).reason).toBe('alreadyDone');
    await expect(rig([], { resume: at({ finished: 'maybe' }) }).trainer.run()).rejects.toMatchObject({ code: 'BAD_SCHEMA', message: expect.stringMatching(/^run\/ck\/state\.json: extra\.finished/) });
  });
});
