// train(config): builds data, model, engine, checkpoint manager (and backup) from a config, runs
// the trainer, and closes everything. The CLI, runbooks and notebook helpers all come through here.
import path from 'node:path';
import { CheckpointManager, type OpenDeps } from '../checkpoint/manager.js';
import { loadCheckpoint } from '../checkpoint/dir.js';
import { readRunMetadata } from '../checkpoint/metadata.js';
import { resolveResume } from '../checkpoint/resume.js';
import { CheckpointOptionsSchema, type CheckpointOptionsInput } from '../checkpoint/policy.js';
import type { KeepPolicy } from '../backup/publish.js';
import type { Batch, Dataset } from '../data/dataset.js';
import { pthMessage } from '../engine/interop.js';
import { parseTrainConfig, type TrainConfig, type TrainConfigInput } from './config.js';
import { checkModelFits, contextFromData, givenDatasets, loadDatasets, residentBase } from './datasets.js';
import { createEngine } from './engine-adapter.js';
import { Emitter, type EventListener } from './events.js';
import { initWeights } from './init-weights.js';
import { MetricsLog } from './metrics-log.js';
import { checkResumeClasses, heldBatchNormNote, preflight } from './preflight.js';
import { resolveModel, type ModelSpec } from './models.js';
import { runIdentity, runModelInfo, withRunInfo } from './run-model.js';
import { terminalRenderer } from './progress.js';
import { Trainer, type TrainerHooks, type TrainerSummary } from './trainer.js';
import { prepareRunBackup, type BackupOption, type BackupOutcome, type RunBackup } from './backup-link.js';
import { estimateFromDecls } from '../checkpoint/capacity.js';

export interface TrainOptions {
  /** Receives every progress event (step, epoch, checkpoint, backup, resume, earlyStop, done, error). */
  onEvent?: EventListener;
  /** Print progress to the terminal (default false; the CLI turns it on). */
  render?: boolean;
  /** Stop gracefully (save, flush, return `interrupted`) when aborted. */
  signal?: AbortSignal;
  /** Catch SIGINT/SIGTERM: finish the step, save, flush, return (default false; the CLI turns it on). */
  handleSignals?: boolean;
  /** Background backup of the run's checkpoints to a store (a folder path, or a Store). */
  backup?: BackupOption;
  /** Use these datasets instead of the config's `data`; classNames default to those of the configured dataset (data.name). */
  datasets?: { train: Dataset; val?: Dataset; classNames?: string[] };
  /** Use this model instead of the config's `model`. */
  model?: ModelSpec;
  /** Stage label (runbooks). */
  stage?: string;
  /** Passed to CheckpointManager.open (file-system fault injection in tests). */
  checkpointDeps?: OpenDeps;
  /** Callbacks that see every step and epoch and may ask to save or stop (see TrainerHooks). */
  hooks?: TrainerHooks[];
}

export interface TrainSummary extends TrainerSummary {
  runDir: string;
  config: TrainConfig;
  /** Class names in label order (from the dataset). */
  classes: string[];
  /** How the run's backups ended (when backing up): `ok` false lists what is not on the store and the command that finishes it. */
  backup?: BackupOutcome;
}

export function checkpointOptions(cfg: TrainConfig): CheckpointOptionsInput {
  const ck = cfg.checkpoint;
  return {
    save: {
      everyEpoch: ck.saveLast,
      everySteps: ck.saveSteps ?? undefined,
      everySeconds: ck.saveIntervalS ?? undefined,
      permanentEveryEpochs: ck.permanentEvery ?? undefined,
      onDemand: true,
      onSignal: true,
    },
    keep: { lastN: ck.keepLast, recoveryN: 1, best: ck.monitor ? { monitor: ck.monitor, mode: ck.mode, minDelta: ck.minDelta } : undefined },
    diskCapBytes: ck.diskCapBytes ?? undefined,
  };
}

/** The store-side keep policy of a run: its checkpoint keep options (a recorded best rule when the config names none, as the manager does). */
async function backupKeep(cfg: TrainConfig): Promise<KeepPolicy> {
  const keep = CheckpointOptionsSchema.parse(checkpointOptions(cfg)).keep;
  const meta = keep.best ? null : await readRunMetadata(cfg.out).catch(() => null);
  if (meta?.best) keep.best = { monitor: meta.best.metric, mode: meta.best.mode, minDelta: meta.best.minDelta };
  return keep;
}

/** The best checkpoint directory of a run (by its checkpoint policy's monitor), or null. */
export async function bestCheckpoint(runDir: string): Promise<string | null> {
  const meta = await readRunMetadata(runDir).catch(() => null);
  if (!meta?.best) return null;
  const rec = meta.checkpoints.find((c) => c.name === meta.best!.name);
  return rec ? path.join(runDir, rec.path) : null;
}

/** First SIGINT/SIGTERM: stop after this step (save, flush); a second one quits at once. */
function handleSignals(manager: CheckpointManager, events: Emitter): () => void {
  const off = manager.installSignalHandlers(['SIGINT', 'SIGTERM']);
  let count = 0;
  const onSig = (sig: NodeJS.Signals) => {
    count++;
    if (count === 1) events.emit({ type: 'log', message: `${sig}: stopping after this step and saving (send it again to quit without saving)` });
    else {
      process.stderr.write(`${sig} again: quitting now; resume continues from the last durable checkpoint\n`);
      process.exit(130);
    }
  };
  process.on('SIGINT', onSig);
  process.on('SIGTERM', onSig);
  return () => {
    off();
    process.off('SIGINT', onSig);
    process.off('SIGTERM', onSig);
  };
}

export async function train(config: TrainConfigInput | TrainConfig, opts: TrainOptions = {}): Promise<TrainSummary> {
  let cfg = parseTrainConfig(config);
  if (cfg.initFrom && /\.(pth|pt|bin|ckpt|tar)$/i.test(cfg.initFrom)) throw new Error(`initFrom: ${pthMessage(cfg.initFrom)}`); // before any data is built
  const events = new Emitter(opts.render ? terminalRenderer() : undefined, opts.onEvent);
  const warn = (m: string) => events.emit({ type: 'log', message: m });
  // the backup target is checked and the backup thread starts beside the data and engine set-up
  const early = opts.backup ? prepareRunBackup(opts.backup, path.resolve(cfg.out), await backupKeep(cfg), events) : null;
  early?.catch(() => undefined); // awaited below
  const discard = async () => { await (await early?.catch(() => null))?.discard(); };
  let engine: Awaited<ReturnType<typeof createEngine>>;
  let data: Awaited<ReturnType<typeof loadDatasets>>, sample: Batch, spec: ModelSpec;
  try {
    data = opts.datasets ? givenDatasets(opts.datasets, cfg) : await loadDatasets(cfg, warn);
    sample = await data.train.getBatch([0]);
    spec = opts.model ?? await resolveModel(cfg.model, contextFromData(cfg, data.classNames, sample));
    checkModelFits(spec, sample, cfg, data.image);
    engine = await createEngine(spec, cfg, sample, residentBase(data.train, warn)); // in-memory data: held by the engine
  } catch (e) {
    await discard();
    throw e;
  }
  let manager: CheckpointManager;
  try {
    cfg = preflight(cfg, engine, data.val, warn); // monitors by the names the run produces, before the manager keeps a best by them
    const held = heldBatchNormNote(cfg, spec.model);
    if (held) warn(held);
    manager = await CheckpointManager.open(cfg.out, checkpointOptions(cfg), { warn, experiment: opts.stage, ...opts.checkpointDeps });
  } catch (e) {
    await discard();
    await engine.dispose();
    throw e;
  }
  let uninstall: (() => void) | null = null;
  let backup: RunBackup | null = null;
  const log = new MetricsLog(manager.runDir);
  try {
    manager.checkFits(engine.engine.plan.decls); // a disk cap below one checkpoint: refused before training
    uninstall = opts.handleSignals ? handleSignals(manager, events) : null;
    // the store should hold the kept checkpoints: the newest lastN, a best, a recovery one
    const expectBytes = estimateFromDecls(engine.engine.plan.decls) * (cfg.checkpoint.keepLast + 2);
    backup = early ? await (await early).attach(manager, expectBytes) : null;
    const choice = await resolveResume(manager.runDir, cfg.resume, { warn });
    const resume = choice ? await loadCheckpoint(choice.dir) : null;
    if (resume) checkResumeClasses(resume.dir, resume.state, data.classNames);
    if (!resume && cfg.initFrom) events.emit({ type: 'log', message: await initWeights(engine.engine, { initFrom: cfg.initFrom, initGroups: cfg.initGroups, initMap: cfg.initMap }) });
    log.truncateAfter(resume?.state.globalStep ?? 0);
    const history = resume ? log.epochs() : undefined; // state.json keeps only the ends of it
    const metricsLog: TrainerHooks = {
      onStep: (r) => log.append({ type: 'step', epoch: r.epoch, globalStep: r.globalStep, time: new Date().toISOString(), ...r.metrics }),
      onEpochEnd: (r) => log.append({ type: 'epoch', epoch: r.epoch, globalStep: r.globalStep, time: new Date().toISOString(), ...r.metrics }),
    };
    const s = await new Trainer({
      config: cfg, engine, train: data.train, val: data.val, events, groups: engine.groups,
      checkpoints: withRunInfo(manager, runModelInfo(cfg, spec, sample, data.classNames, data.preprocess, opts.model !== undefined)),
      identity: runIdentity(spec, data), stop: opts.signal, stage: opts.stage, resume: resume ? { dir: resume.dir, tensors: resume.tensors, state: resume.state, history } : null,
      hooks: [metricsLog, ...(opts.hooks ?? [])],
    }).run();
    const backedUp = backup ? await backup.finish() : undefined; // bounded; says what is not backed up
    return { ...s, runDir: manager.runDir, config: cfg, classes: data.classNames, ...(backedUp ? { backup: backedUp } : {}) };
  } catch (e) {
    events.emit({ type: 'error', message: (e as Error).message }); // for notebook displays; the terminal renderer leaves thrown errors to the caller
    throw e;
  } finally {
    uninstall?.();
    await backup?.stop().catch((e: Error) => warn(`backup: ${e.message}`));
    await manager.close();
    await engine.dispose();
  }
}
