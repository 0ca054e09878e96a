// The training loop as an object: epochs × steps over a resumable sampler, per-epoch validation,
// schedules, early stopping, checkpoints at step boundaries, hooks that may ask to save or stop.
// Everything that decides the trajectory (engine tensors incl. optimizer and RNG, sampler
// position, schedule, early-stop counters, the running epoch sums) is in the checkpoint, so a
// resumed run is bitwise the uninterrupted one. Every way a run ends is a `Stop` that goes
// through finish() (flush, `done` event, summary). Files and stores are never touched here: the
// checkpoint manager writes. Views of the dataset the engine holds (engine.data) are fed by row
// index, others by getBatch.
import type { Dataset } from '../data/dataset.js';
import { StateMismatchError } from '../engine/state.js';
import { ResumableSampler, sequentialBatches } from '../data/sampler.js';
import type { CheckpointKind } from '../checkpoint/manifest.js';
import { isImprovement, type SaveDecision } from '../checkpoint/policy.js';
import type { TrainState, TrainStateInput } from '../checkpoint/state.js';
import type { RunIdentity, TrainConfig } from './config.js';
import { configHash } from './config.js';
import { preflight } from './preflight.js';
import { initialEarlyStop, updateEarlyStop, type EarlyStopState } from './early-stop.js';
import type { DoneReason, Emitter, Metrics } from './events.js';
import type { LoopCheckpoints, LoopEngine, ResumePoint } from './ports.js';
import { rowMapper } from './resident-data.js';
import { anotherModelError, emptyEpochSums, readResumeFields, resumeExtra, stateHistory, withNaN, type EpochSums } from './resume-state.js';
import { initialScheduleState, scheduleFactor, ScheduleStateSchema, updatePlateau, type ScheduleState } from './schedule.js';

export interface StepRecord { epoch: number; globalStep: number; metrics: Metrics }

/** What a hook may ask of the trainer; both take effect at the next step boundary. */
export interface TrainerControl {
  /** Save a checkpoint there (kind `manual`, unless a save policy saves it anyway). */
  requestSave(): void;
  /** Save, flush and end the run there with reason `interrupted` (resumable, like Ctrl-C). */
  requestStop(message?: string): void;
}

/** Callbacks (Lightning style). A hook that throws ends the run with that error. */
export interface TrainerHooks {
  /** Once, before the first step of a fresh or resumed run: throw here to refuse to train. */
  onStart?(rec: StepRecord, t: TrainerControl): void | Promise<void>;
  /** After each optimiser step (e.g. the metrics log). */
  onStep?(rec: StepRecord, t: TrainerControl): void | Promise<void>;
  /** After each epoch's validation, before its checkpoint is decided. */
  onEpochEnd?(rec: StepRecord, t: TrainerControl): void | Promise<void>;
}

export interface TrainerOptions {
  config: TrainConfig;
  engine: LoopEngine;
  train: Dataset;
  val?: Dataset;
  checkpoints: LoopCheckpoints;
  events: Emitter;
  /** Parameter group names of the model (for the per-group learning rates). */
  groups: string[];
  hooks?: TrainerHooks[];
  /** Checked between steps: when aborted, the trainer saves, flushes and returns `interrupted`. */
  stop?: AbortSignal;
  stage?: string;
  /** The checkpoint to continue from (selected by the caller), or null for a fresh start. */
  resume: ResumePoint | null;
  /** The model's parameters and the data as loaded: hashed with the config (see configHash). */
  identity?: RunIdentity;
}

export interface TrainerSummary {
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

/** How a run ends; `save` is the checkpoint kind a stop between steps saves as. */
interface Stop { reason: DoneReason; message: string; save?: CheckpointKind; error?: boolean }

type HistoryRecord = TrainState['metrics'][number] & { values: Metrics };

/** Learning rate per group: `lrGroups[g]` or `lr`, times the schedule factor. */
export function groupLrs(cfg: TrainConfig, groups: string[], factor: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const g of groups) out[g] = (cfg.lrGroups[g] ?? cfg.lr) * factor;
  return out;
}

export class Trainer implements TrainerControl {
  private readonly cfg: TrainConfig;
  private readonly sampler: ResumableSampler;
  private readonly stepsPerEpoch: number;
  private readonly hash: string;
  private readonly trainRows: ((idx: ArrayLike<number>) => Int32Array) | null;
  private readonly hooks: TrainerHooks[];
  private epoch = 0;
  private stepInEpoch = 0;
  private globalStep = 0;
  private history: HistoryRecord[] = [];
  private best: TrainState['best'] = null;
  private early: EarlyStopState | null;
  private sched: ScheduleState = initialScheduleState();
  private epochSums: EpochSums = emptyEpochSums();
  private finished: DoneReason | null = null;
  private resumedFrom: string | null = null;
  /** Set when the resumed checkpoint was written on another device (e.g. webgpu → cpu). */
  private moved: { from: string; to: string } | undefined;
  private saveAsked = false;
  private stopAsked: string | null = null;
  private epochStart = 0;

  constructor(private readonly o: TrainerOptions) {
    this.cfg = preflight(o.config, o.engine, o.val, (m) => this.log(m)); // train() has done this already: no-op there
    this.sampler = new ResumableSampler({ length: o.train.length, batchSize: this.cfg.batchSize, seed: this.cfg.seed });
    this.stepsPerEpoch = this.sampler.batchesPerEpoch;
    this.hash = configHash(this.cfg, o.identity);
    this.trainRows = o.engine.stepIndices ? rowMapper(o.train, o.engine.data) : null;
    this.hooks = o.hooks ?? [];
    this.early = this.cfg.earlyStopping ? initialEarlyStop(this.cfg.earlyStopping.monitor) : null;
  }

  requestSave(): void {
    this.saveAsked = true;
  }

  requestStop(message = ''): void {
    this.stopAsked = message;
  }

  /** Trains until the run completes, stops early or is stopped; never leaves a save in flight. */
  async run(): Promise<TrainerSummary> {
    if (this.o.resume) await this.restore(this.o.resume);
    return this.finish(this.alreadyDone() ?? (await this.train()));
  }

  private async restore(r: ResumePoint): Promise<void> {
    const s = r.state;
    const fields = readResumeFields(s, r.dir);
    try {
      await this.o.engine.setState(r.tensors);
    } catch (e) {
      throw e instanceof StateMismatchError ? anotherModelError(r.dir, s, this.cfg, e) : e;
    }
    if (s.configHash && s.configHash !== this.hash) {
      this.log(`Warning: ${r.dir} was written with a different config (hash ${s.configHash}, now ${this.hash}); continuing from it`);
    }
    ({ epoch: this.epoch, stepInEpoch: this.stepInEpoch, globalStep: this.globalStep } = s);
    // the whole history comes from the run's metrics log; checkpoints hold only its ends (old ones all of it)
    this.history = (r.history && r.history.length >= s.metrics.length ? r.history : s.metrics).map(withNaN);
    this.best = s.best;
    if (this.early && s.earlyStop && s.earlyStop.monitor === this.early.monitor) {
      this.early = { ...s.earlyStop, bestEpoch: fields.earlyStopBestEpoch };
    }
    const sched = ScheduleStateSchema.safeParse(s.schedule);
    if (sched.success) this.sched = sched.data;
    this.epochSums = fields.epochSums;
    // a completed run continues when the config now asks for more epochs (early stops stay stopped)
    this.finished = fields.finished === 'completed' && this.epoch < this.cfg.epochs ? null : fields.finished;
    this.resumedFrom = r.dir;
    const device = this.o.engine.device;
    if (fields.device && device && fields.device !== device) this.moved = { from: fields.device, to: device };
  }

  private alreadyDone(): Stop | null {
    if (!this.finished && this.epoch < this.cfg.epochs) return null;
    const why = this.finished === 'earlyStop' ? 'stopped early' : 'finished';
    const who = this.o.stage ? `Stage ${this.o.stage}` : 'This run';
    return { reason: 'alreadyDone', message: `${who} already ${why} (epoch ${this.epoch}, global step ${this.globalStep}); nothing to do. Use a new --out or resume: 'none' to train again.` };
  }

  private async train(): Promise<Stop> {
    await this.callHooks('onStart', { epoch: this.epoch, globalStep: this.globalStep, metrics: {} });
    const { cfg, o } = this;
    o.events.emit({ type: 'start', runDir: cfg.out, epochs: cfg.epochs, stepsPerEpoch: this.stepsPerEpoch, startEpoch: this.epoch, stage: o.stage });
    if (this.resumedFrom) o.events.emit({ type: 'resume', epoch: this.epoch, stepInEpoch: this.stepInEpoch, globalStep: this.globalStep, checkpoint: this.resumedFrom, ...(this.moved ? { moved: this.moved } : {}) });
    for (;;) {
      const stop = await this.runEpoch();
      if (stop) return stop;
    }
  }

  /** The rest of the current epoch; a Stop, or null to go on with the next epoch. */
  private async runEpoch(): Promise<Stop | null> {
    this.epochStart = Date.now();
    this.sampler.setState({ epoch: this.epoch, position: this.stepInEpoch * this.cfg.batchSize });
    for (let idx = this.sampler.next(); idx; idx = this.sampler.next()) {
      const r = await this.step(idx);
      if (r.kind === 'stop') return r.stop;
      if (this.stepInEpoch >= this.stepsPerEpoch) break; // the epoch end decides saves and stops
      const stop = await this.betweenSteps(r.metrics);
      if (stop) return stop;
    }
    return this.endEpoch();
  }

  /** One optimiser step and its events; a NaN or infinite metric stops the run (nothing saved). */
  private async step(idx: Uint32Array): Promise<{ kind: 'step'; metrics: Metrics } | { kind: 'stop'; stop: Stop }> {
    const { cfg, o } = this;
    const lr = groupLrs(cfg, o.groups, scheduleFactor(cfg.schedule, { globalStep: this.globalStep, epoch: this.epoch, totalSteps: this.stepsPerEpoch * cfg.epochs }, this.sched));
    const m = this.trainRows ? await o.engine.stepIndices!(this.trainRows(idx), { lr }) : await o.engine.step(await o.train.getBatch(idx, { epoch: this.epoch, seed: cfg.seed }), { lr });
    const bad = Object.entries(m).find(([, v]) => !Number.isFinite(v));
    if (bad) {
      const message = `${bad[0]} became ${bad[1]} at epoch ${this.epoch + 1}, step ${this.stepInEpoch + 1} (global step ${this.globalStep + 1}). Training stopped; the last good checkpoint is kept. Lower the learning rate or check the data, then resume.`;
      return { kind: 'stop', stop: { reason: 'nonFinite', message, error: true } };
    }
    for (const [k, v] of Object.entries(m)) this.epochSums.sums[k] = (this.epochSums.sums[k] ?? 0) + v;
    this.epochSums.count++;
    this.stepInEpoch++;
    this.globalStep++;
    await this.callHooks('onStep', { epoch: this.epoch, globalStep: this.globalStep, metrics: m });
    o.events.emit({ type: 'step', epoch: this.epoch, epochs: cfg.epochs, stepInEpoch: this.stepInEpoch, stepsPerEpoch: this.stepsPerEpoch, globalStep: this.globalStep, metrics: m, lr });
    await new Promise((r) => setImmediate(r)); // let signals and background writes run
    return { kind: 'step', metrics: m };
  }

  /** A boundary inside an epoch: save when a policy, a hook or a stop asks; stop when asked. */
  private async betweenSteps(metrics: Metrics): Promise<Stop | null> {
    const d = this.o.checkpoints.shouldSave({ epoch: this.epoch, stepInEpoch: this.stepInEpoch, globalStep: this.globalStep, metrics, epochEnd: false });
    const stop = this.stopRequested(false);
    if (d || stop || this.saveAsked) await this.save(d ?? stop?.save ?? 'manual', metrics, null, this.epoch);
    return stop;
  }

  /** Means, validation, schedule, early stopping and best; then the epoch-end checkpoint. */
  private async endEpoch(): Promise<Stop | null> {
    const { cfg, o } = this;
    const values: Metrics = {};
    for (const [k, v] of Object.entries(this.epochSums.sums)) values[k === 'loss' ? 'train_loss' : k] = v / Math.max(1, this.epochSums.count);
    if (cfg.validate && o.val && o.val.length > 0) Object.assign(values, await validate(o.engine, o.val, cfg.batchSize));
    const seconds = (Date.now() - this.epochStart) / 1000;
    const doneEpoch = this.epoch;
    this.history.push({ epoch: doneEpoch, globalStep: this.globalStep, values, time: new Date().toISOString() });
    await this.callHooks('onEpochEnd', { epoch: doneEpoch, globalStep: this.globalStep, metrics: values });
    o.events.emit({ type: 'epoch', epoch: doneEpoch, epochs: cfg.epochs, metrics: values, seconds });
    if (cfg.schedule.type === 'plateau') this.sched = updatePlateau(cfg.schedule, this.sched, values);
    if (this.early && cfg.earlyStopping) this.early = updateEarlyStop(cfg.earlyStopping, this.early, doneEpoch, values);
    const isBest = this.updateBest(values, doneEpoch);
    this.epoch++;
    this.stepInEpoch = 0;
    this.epochSums = emptyEpochSums();
    const fin: DoneReason | null = this.early?.stopped ? 'earlyStop' : this.epoch >= cfg.epochs ? 'completed' : null;
    // The manager's policies decide (last / permanent / timed / signal); an epoch that improves
    // the best, ends the run or is interrupted is saved even when they say nothing.
    const d = o.checkpoints.shouldSave({ epoch: this.epoch, stepInEpoch: 0, globalStep: this.globalStep, metrics: values, epochEnd: true });
    if (d || isBest || fin || this.stopRequested(true) || this.saveAsked || this.atMaxSteps()) await this.save(d ?? 'last', values, fin, doneEpoch);
    if (fin === 'earlyStop') {
      this.emitEarlyStop(doneEpoch);
      return this.earlyStop(doneEpoch);
    }
    return this.stopRequested(true) ?? (fin ? this.completed() : null);
  }

  private updateBest(values: Metrics, epoch: number): boolean {
    const ck = this.cfg.checkpoint;
    const v = ck.monitor === null ? undefined : values[ck.monitor];
    if (ck.monitor === null || v === undefined) return false;
    if (!isImprovement(v, this.best?.value ?? null, { monitor: ck.monitor, mode: ck.mode, minDelta: ck.minDelta })) return false;
    this.best = { metric: ck.monitor, value: v, epoch, globalStep: this.globalStep };
    return true;
  }

  private atMaxSteps(): boolean {
    return this.cfg.maxSteps !== null && this.globalStep >= this.cfg.maxSteps;
  }

  /** A stop asked from outside (signal, abort, hook) or by maxSteps; at an epoch end, maxSteps only before the last epoch. */
  private stopRequested(epochEnd: boolean): Stop | null {
    const { cfg } = this;
    if (this.o.stop?.aborted || this.o.checkpoints.signalReceived) {
      return { reason: 'interrupted', save: 'signal', message: `Interrupted: saved epoch ${this.epoch + 1}, step ${this.stepInEpoch} (global step ${this.globalStep}) to ${cfg.out}. Run the same command again to resume (resume: 'auto').` };
    }
    if (this.stopAsked !== null) {
      return { reason: 'interrupted', save: 'manual', message: this.stopAsked || `Stopped by a hook at global step ${this.globalStep}; saved to ${cfg.out}. Run again to resume.` };
    }
    if (this.atMaxSteps() && (!epochEnd || this.epoch < cfg.epochs)) {
      return { reason: 'interrupted', save: 'recovery', message: `Stopped at maxSteps=${cfg.maxSteps} (global step ${this.globalStep}).` };
    }
    return null;
  }

  private earlyStop(doneEpoch: number): Stop {
    const e = this.early!;
    return { reason: 'earlyStop', message: `Stopped early after epoch ${doneEpoch + 1}; best ${e.monitor}=${e.best?.toFixed(4)} at epoch ${(e.bestEpoch ?? 0) + 1}.` };
  }

  private emitEarlyStop(doneEpoch: number): void {
    const e = this.early!;
    this.o.events.emit({ type: 'earlyStop', epoch: doneEpoch, monitor: e.monitor, best: e.best, bestEpoch: e.bestEpoch, patience: this.cfg.earlyStopping!.patience });
  }

  private completed(): Stop {
    const { best, cfg } = this;
    const last = this.history[this.history.length - 1]?.values ?? {};
    const bestText = best ? ` Best ${best.metric}=${best.value.toFixed(4)} at epoch ${best.epoch + 1}.` : '';
    return { reason: 'completed', message: `Finished ${cfg.epochs} epochs (global step ${this.globalStep}).${bestText}${last.val_acc !== undefined ? ` val_acc=${last.val_acc.toFixed(4)}` : ''}` };
  }

  /** The one way out: flush every save, report, summarise. */
  private async finish(stop: Stop): Promise<TrainerSummary> {
    await this.o.checkpoints.flush();
    const { reason, message } = stop;
    if (stop.error) this.o.events.emit({ type: 'error', message });
    this.o.events.emit({ type: 'done', reason, epoch: this.epoch, globalStep: this.globalStep, message });
    const history = this.history.map((h) => ({ epoch: h.epoch, values: h.values }));
    const last = history.length ? history[history.length - 1].values : null;
    return { reason, epoch: this.epoch, globalStep: this.globalStep, history, best: this.best, last, resumedFrom: this.resumedFrom, message };
  }

  /**
   * Saves now; `shownEpoch` is the 0-based epoch the save belongs to, for messages. Orbax's rule:
   * at most one save in flight — a new save first waits until the previous one is durable, so the
   * "Saved" line (printed at `durable`) never lags the training by more than one save.
   */
  private async save(d: CheckpointKind | SaveDecision, metrics: Metrics, finished: DoneReason | null, shownEpoch: number): Promise<void> {
    this.saveAsked = false;
    const { engine, events, checkpoints } = this.o;
    const t0 = performance.now();
    await checkpoints.flush(); // throws a failed earlier write, as save() would
    const waitedMs = performance.now() - t0;
    // a GPU engine hands the tensors over while it downloads them between the next steps
    const tensors = engine.snapshotState ? (await engine.snapshotState()).tensors : await engine.getState();
    const h = checkpoints.save(d, tensors, this.state(finished), { metrics });
    const step = this.globalStep;
    events.emit({ type: 'checkpoint', kind: h.kind, epoch: shownEpoch, globalStep: step, path: checkpoints.runDir, phase: 'saved', waitedMs });
    h.durable.then(
      (ev) => events.emit({ type: 'checkpoint', kind: h.kind, epoch: shownEpoch, globalStep: step, path: ev.dir, phase: 'durable' }),
      () => { /* surfaces on the next save()/flush() */ },
    );
  }

  /** The state.json of a checkpoint taken now. */
  private state(finished: DoneReason | null): TrainStateInput {
    const { cfg, early } = this;
    return {
      epoch: this.epoch, stepInEpoch: this.stepInEpoch, globalStep: this.globalStep, metrics: stateHistory(this.history), best: this.best,
      earlyStop: early ? { monitor: early.monitor, best: early.best, badEpochs: early.badEpochs, stopped: early.stopped } : null,
      sampler: { seed: cfg.seed, epoch: this.epoch, position: this.stepInEpoch * cfg.batchSize },
      schedule: this.sched,
      configHash: this.hash,
      stage: this.o.stage,
      extra: resumeExtra({ epochSums: this.epochSums, finished, earlyStopBestEpoch: early?.bestEpoch ?? null, device: this.o.engine.device ?? null }),
    };
  }

  private async callHooks(name: keyof TrainerHooks, rec: StepRecord): Promise<void> {
    for (const h of this.hooks) {
      const r = h[name]?.(rec, this);
      if (r) await r;
    }
  }

  private log(message: string): void {
    this.o.events.emit({ type: 'log', message });
  }
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
