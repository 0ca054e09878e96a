// The training loop: epochs × steps over a resumable sampler, per-epoch validation, schedules,
// early stopping, checkpoints at step boundaries, graceful stop on a signal. Everything that
// decides the trajectory (engine tensors incl. optimizer and RNG, sampler position, schedule,
// early-stop counters, the running epoch sums) is in the checkpoint, so a resumed run is bitwise
// the uninterrupted one. Files and stores are never touched here: the checkpoint manager writes.
// Views of the dataset the engine holds (engine.data) are fed by row index, others by getBatch.
import type { Dataset } from '../data/dataset.js';
import { ResumableSampler, sequentialBatches } from '../data/sampler.js';
import type { TrainState, TrainStateInput } from '../checkpoint/state.js';
import type { TrainConfig } from './config.js';
import { configHash } from './config.js';
import { initialEarlyStop, updateEarlyStop, type EarlyStopState } from './early-stop.js';
import type { DoneReason, Emitter, Metrics } from './events.js';
import type { CheckpointKind } from '../checkpoint/manifest.js';
import type { SaveDecision } from '../checkpoint/policy.js';
import type { LoopCheckpoints, LoopEngine, ResumePoint } from './ports.js';
import { initialScheduleState, scheduleFactor, updatePlateau, type ScheduleState } from './schedule.js';
import { rowMapper } from './resident-data.js';

export interface LoopHooks {
  /** After each optimiser step (e.g. the metrics log). */
  onStep?(rec: { epoch: number; globalStep: number; metrics: Metrics }): void;
  /** After each epoch's validation, before checkpoints. */
  onEpochEnd?(rec: { epoch: number; globalStep: number; metrics: Metrics }): void;
}

export interface LoopOptions {
  config: TrainConfig;
  engine: LoopEngine;
  train: Dataset;
  val?: Dataset;
  checkpoints: LoopCheckpoints;
  events: Emitter;
  /** Parameter group names of the model (for the per-group learning rates). */
  groups: string[];
  hooks?: LoopHooks;
  /** Checked between steps: when aborted, the loop saves, flushes and returns `interrupted`. */
  stop?: AbortSignal;
  stage?: string;
  /** The checkpoint to continue from (selected by the caller), or null for a fresh start. */
  resume: ResumePoint | null;
}

export interface LoopSummary {
  reason: DoneReason;
  epoch: number;
  globalStep: number;
  /** Per-epoch metrics history. */
  history: { epoch: number; values: Metrics }[];
  best: TrainState['best'];
  /** Last epoch's metrics. */
  last: Metrics | null;
  resumedFrom: string | null;
  message: string;
}

interface Acc { sums: Record<string, number>; count: number }

/** Learning rate per group: `lrGroups[g]` or `lr`, times the schedule factor. */
export function groupLrs(cfg: TrainConfig, groups: string[], factor: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const g of groups) out[g] = (cfg.lrGroups[g] ?? cfg.lr) * factor;
  return out;
}

export async function runLoop(o: LoopOptions): Promise<LoopSummary> {
  const { config: cfg, engine, checkpoints, events } = o;
  const sampler = new ResumableSampler({ length: o.train.length, batchSize: cfg.batchSize, seed: cfg.seed });
  const stepsPerEpoch = sampler.batchesPerEpoch;
  const totalSteps = stepsPerEpoch * cfg.epochs;
  const hash = configHash(cfg);
  const trainRows = engine.stepIndices ? rowMapper(o.train, engine.data) : null;

  let epoch = 0, stepInEpoch = 0, globalStep = 0;
  let history: { epoch: number; globalStep?: number; values: Metrics; time?: string }[] = [];
  let best: TrainState['best'] = null;
  let early: EarlyStopState | null = cfg.earlyStopping ? initialEarlyStop(cfg.earlyStopping.monitor) : null;
  let sched: ScheduleState = initialScheduleState();
  let acc: Acc = { sums: {}, count: 0 };
  let finished: DoneReason | null = null;
  let resumedFrom: string | null = null;
  let moved: { from: string; to: string } | undefined;

  const resumed = o.resume;
  if (resumed) {
    const s = resumed.state;
    if (s.configHash && s.configHash !== hash) {
      events.emit({ type: 'log', message: `Warning: ${resumed.dir} was written with a different config (hash ${s.configHash}, now ${hash}); continuing from it` });
    }
    await engine.setState(resumed.tensors);
    ({ epoch, stepInEpoch, globalStep } = s);
    // JSON keeps NaN/Inf metrics as null
    history = s.metrics.map((h) => ({ ...h, values: Object.fromEntries(Object.entries(h.values).map(([k, v]) => [k, v ?? NaN])) }));
    best = s.best;
    const ex = s.extra as { acc?: Acc; finished?: DoneReason | null; earlyStopBestEpoch?: number | null; schedule?: ScheduleState; device?: string | null };
    if (ex.device && engine.device && ex.device !== engine.device) moved = { from: ex.device, to: engine.device };
    if (early && s.earlyStop && s.earlyStop.monitor === early.monitor) {
      early = { ...s.earlyStop, bestEpoch: ex.earlyStopBestEpoch ?? null };
    }
    if (s.schedule && typeof s.schedule.factor === 'number') sched = s.schedule as ScheduleState;
    acc = ex.acc ?? { sums: {}, count: 0 };
    finished = ex.finished ?? null;
    // a completed run continues when the config now asks for more epochs (early stops stay stopped)
    if (finished === 'completed' && epoch < cfg.epochs) finished = null;
    resumedFrom = resumed.dir;
  }

  const summary = (reason: DoneReason, message: string): LoopSummary => {
    const last = history.length ? history[history.length - 1].values : null;
    events.emit({ type: 'done', reason, epoch, globalStep, message });
    return { reason, epoch, globalStep, history: history.map((h) => ({ epoch: h.epoch, values: h.values })), best, last, resumedFrom, message };
  };

  if (finished || epoch >= cfg.epochs) {
    const why = finished === 'earlyStop' ? 'stopped early' : 'finished';
    return summary('alreadyDone', `${o.stage ? `Stage ${o.stage}` : 'This run'} already ${why} (epoch ${epoch}, global step ${globalStep}); nothing to do. Use a new --out or resume: 'none' to train again.`);
  }

  const state = (extraFinished: DoneReason | null): TrainStateInput => ({
    epoch, stepInEpoch, globalStep, metrics: history, best,
    earlyStop: early ? { monitor: early.monitor, best: early.best, badEpochs: early.badEpochs, stopped: early.stopped } : null,
    sampler: { seed: cfg.seed, epoch, position: stepInEpoch * cfg.batchSize },
    schedule: sched as unknown as Record<string, unknown>,
    configHash: hash,
    stage: o.stage,
    extra: { acc, finished: extraFinished, earlyStopBestEpoch: early?.bestEpoch ?? null, device: engine.device ?? null },
  });
  /** Save now; `shownEpoch` is the 0-based epoch the save belongs to, for messages. */
  const save = async (d: CheckpointKind | SaveDecision, metrics: Metrics, fin: DoneReason | null, shownEpoch: number): Promise<void> => {
    const tensors = engine.snapshotState ? (await engine.snapshotState()).tensors : await engine.getState();
    const h = checkpoints.save(d, tensors, state(fin), { metrics });
    const step = globalStep;
    events.emit({ type: 'checkpoint', kind: h.kind, epoch: shownEpoch, globalStep: step, path: checkpoints.runDir, phase: 'saved' });
    h.durable.then(
      (ev) => events.emit({ type: 'checkpoint', kind: h.kind, epoch: shownEpoch, globalStep: step, path: ev.dir, phase: 'durable' }),
      () => { /* surfaces on the next save()/flush() */ },
    );
  };
  const stopRequested = (): boolean => Boolean(o.stop?.aborted) || checkpoints.signalReceived;

  events.emit({ type: 'start', runDir: cfg.out, epochs: cfg.epochs, stepsPerEpoch, startEpoch: epoch, stage: o.stage });
  if (resumedFrom) events.emit({ type: 'resume', epoch, stepInEpoch, globalStep, checkpoint: resumedFrom, ...(moved ? { moved } : {}) });
  let epochStart = Date.now();
  while (epoch < cfg.epochs) {
    sampler.setState({ epoch, position: stepInEpoch * cfg.batchSize });
    let idx: Uint32Array | null;
    while ((idx = sampler.next())) {
      const lr = groupLrs(cfg, o.groups, scheduleFactor(cfg.schedule, { globalStep, epoch, totalSteps }, sched));
      const m = trainRows ? await engine.stepIndices!(trainRows(idx), { lr }) : await engine.step(await o.train.getBatch(idx), { lr });
      const bad = Object.entries(m).find(([, v]) => !Number.isFinite(v));
      if (bad) {
        await checkpoints.flush();
        const msg = `${bad[0]} became ${bad[1]} at epoch ${epoch + 1}, step ${stepInEpoch + 1} (global step ${globalStep + 1}). Training stopped; the last good checkpoint is kept. Lower the learning rate or check the data, then resume.`;
        events.emit({ type: 'error', message: msg });
        return summary('nonFinite', msg);
      }
      for (const [k, v] of Object.entries(m)) acc.sums[k] = (acc.sums[k] ?? 0) + v;
      acc.count++;
      stepInEpoch++;
      globalStep++;
      o.hooks?.onStep?.({ epoch, globalStep, metrics: m });
      events.emit({ type: 'step', epoch, epochs: cfg.epochs, stepInEpoch, stepsPerEpoch, globalStep, metrics: m, lr });
      const atMax = cfg.maxSteps !== null && globalStep >= cfg.maxSteps;
      const endOfEpoch = stepInEpoch >= stepsPerEpoch;
      await new Promise((r) => setImmediate(r)); // let signals and background writes run
      if (endOfEpoch) break; // the epoch-end block decides saves and stops
      const d = checkpoints.shouldSave({ epoch, stepInEpoch, globalStep, metrics: m, epochEnd: false });
      const stopping = stopRequested();
      if (d || stopping || atMax) await save(d ?? (stopping ? 'signal' : 'recovery'), m, null, epoch);
      if (stopping) {
        await checkpoints.flush();
        return summary('interrupted', interruptedMessage(cfg, epoch, stepInEpoch, globalStep));
      }
      if (atMax) {
        await checkpoints.flush();
        return summary('interrupted', `Stopped at maxSteps=${cfg.maxSteps} (global step ${globalStep}).`);
      }
    }
    // epoch end: means, validation, policies, checkpoints
    const values: Metrics = {};
    for (const [k, v] of Object.entries(acc.sums)) values[k === 'loss' ? 'train_loss' : k] = v / Math.max(1, acc.count);
    if (cfg.validate && o.val && o.val.length > 0) Object.assign(values, await validate(engine, o.val, cfg.batchSize));
    const seconds = (Date.now() - epochStart) / 1000;
    history = [...history, { epoch, globalStep, values, time: new Date().toISOString() }];
    o.hooks?.onEpochEnd?.({ epoch, globalStep, metrics: values });
    events.emit({ type: 'epoch', epoch, epochs: cfg.epochs, metrics: values, seconds });
    if (cfg.schedule.type === 'plateau') sched = updatePlateau(cfg.schedule, sched, values);
    if (early && cfg.earlyStopping) early = updateEarlyStop(cfg.earlyStopping, early, epoch, values);
    const ck = cfg.checkpoint;
    let isBest = false;
    if (ck.monitor !== null && values[ck.monitor] !== undefined) {
      const v = values[ck.monitor];
      isBest = best === null || (ck.mode === 'min' ? v < best.value - ck.minDelta : v > best.value + ck.minDelta);
      if (isBest) best = { metric: ck.monitor, value: v, epoch, globalStep };
    }
    const doneEpoch = epoch;
    epoch++;
    stepInEpoch = 0;
    acc = { sums: {}, count: 0 };
    const stopNow = early?.stopped ?? false;
    const fin: DoneReason | null = stopNow ? 'earlyStop' : epoch >= cfg.epochs ? 'completed' : null;
    // The manager's policies decide (last / permanent / timed / signal); an epoch that improves
    // the best, finishes the run or is interrupted is saved even when they say nothing.
    const d = checkpoints.shouldSave({ epoch, stepInEpoch: 0, globalStep, metrics: values, epochEnd: true });
    if (d || isBest || fin || stopRequested() || atMaxSteps(cfg, globalStep)) await save(d ?? 'last', values, fin, doneEpoch);
    epochStart = Date.now();
    if (stopNow && early && cfg.earlyStopping) {
      events.emit({ type: 'earlyStop', epoch: doneEpoch, monitor: early.monitor, best: early.best, bestEpoch: early.bestEpoch, patience: cfg.earlyStopping.patience });
      await checkpoints.flush();
      return summary('earlyStop', `Stopped early after epoch ${doneEpoch + 1}; best ${early.monitor}=${early.best?.toFixed(4)} at epoch ${(early.bestEpoch ?? 0) + 1}.`);
    }
    if (stopRequested()) {
      await checkpoints.flush();
      return summary('interrupted', interruptedMessage(cfg, epoch, 0, globalStep));
    }
    if (atMaxSteps(cfg, globalStep) && epoch < cfg.epochs) {
      await checkpoints.flush();
      return summary('interrupted', `Stopped at maxSteps=${cfg.maxSteps} (global step ${globalStep}).`);
    }
  }
  await checkpoints.flush();
  const last = history[history.length - 1]?.values ?? {};
  return summary('completed', `Finished ${cfg.epochs} epochs (global step ${globalStep}).${best ? ` Best ${best.metric}=${best.value.toFixed(4)} at epoch ${best.epoch + 1}.` : ''}${last.val_acc !== undefined ? ` val_acc=${last.val_acc.toFixed(4)}` : ''}`);
}

const atMaxSteps = (cfg: TrainConfig, globalStep: number): boolean => cfg.maxSteps !== null && globalStep >= cfg.maxSteps;

function interruptedMessage(cfg: TrainConfig, epoch: number, stepInEpoch: number, globalStep: number): string {
  return `Interrupted: saved epoch ${epoch + 1}, step ${stepInEpoch} (global step ${globalStep}) to ${cfg.out}. Run the same command again to resume (resume: 'auto').`;
}

/** Sample-weighted means of the eval metrics over the whole set, prefixed `val_`. */
export async function validate(engine: LoopEngine, val: Dataset, batchSize: number): Promise<Metrics> {
  const sums: Record<string, number> = {};
  let n = 0;
  const rows = engine.evaluateIndices ? rowMapper(val, engine.data) : null;
  for (const idx of sequentialBatches(val.length, batchSize)) {
    const m = rows ? await engine.evaluateIndices!(rows(idx)) : await engine.evaluate(await val.getBatch(idx));
    for (const [k, v] of Object.entries(m)) sums[k] = (sums[k] ?? 0) + v * idx.length;
    n += idx.length;
  }
  const out: Metrics = {};
  for (const [k, v] of Object.entries(sums)) out[`val_${k}`] = v / n;
  return out;
}
