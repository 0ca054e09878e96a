// train(config): builds data, model, engine, checkpoint manager (and backup) from a config, runs
// the loop, and closes everything. The CLI, runbooks and notebook helpers all come through here.
import path from 'node:path';
import { CheckpointManager, type OpenDeps } from '../checkpoint/manager.js';
import { loadCheckpoint } from '../checkpoint/dir.js';
import { readRunMetadata } from '../checkpoint/metadata.js';
import { resolveResume } from '../checkpoint/resume.js';
import type { CheckpointOptionsInput } from '../checkpoint/policy.js';
import { readSafetensors } from '../checkpoint/safetensors.js';
import { trainValSplit, type Dataset } from '../data/dataset.js';
import { glyphDataset, GLYPH_CLASSES } from '../data/glyphs.js';
import { mnistDatasets } from '../data/mnist-digits.js';
import type { TensorMap } from '../tensor.js';
import { parseTrainConfig, type TrainConfig, type TrainConfigInput } from './config.js';
import { createEngine } from './engine-adapter.js';
import { tensorRows } from './resident-data.js';
import { Emitter, type EventListener } from './events.js';
import { MetricsLog } from './metrics-log.js';
import { createModel, type ModelSpec } from './models.js';
import { terminalRenderer } from './progress.js';
import { runLoop, type LoopSummary } from './trainer.js';
import { startRunBackup, type BackupOption, type RunBackup } from './backup-link.js';

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
  /** Use these datasets instead of the config's `data`. */
  datasets?: { train: Dataset; val?: Dataset };
  /** Use this model instead of the config's `model`. */
  model?: ModelSpec;
  /** Stage label (runbooks). */
  stage?: string;
  /** Passed to CheckpointManager.open (file-system fault injection in tests). */
  checkpointDeps?: OpenDeps;
}

export interface TrainSummary extends LoopSummary {
  runDir: string;
  config: TrainConfig;
}

/** Builds the configured datasets: glyphs (generated from data.seed) or MNIST, split train/val. */
export function buildDatasets(cfg: TrainConfig): { train: Dataset; val?: Dataset; classes: number } {
  const d = cfg.data;
  if (d.name === 'mnist') {
    const nVal = Math.round(d.n * d.valFraction);
    const m = mnistDatasets(d.n - nVal, Math.max(nVal, 1));
    return { train: m.train, val: nVal > 0 ? m.test : undefined, classes: 10 };
  }
  const all = glyphDataset({ n: d.n, seed: d.seed, size: d.size, noise: d.noise as [number, number], clutter: d.clutter });
  const { train, val } = trainValSplit(all, d.valFraction, d.seed);
  return { train, val: val.length ? val : undefined, classes: GLYPH_CLASSES.length };
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

/** The best checkpoint directory of a run (by its checkpoint policy's monitor), or null. */
export async function bestCheckpoint(runDir: string): Promise<string | null> {
  const meta = await readRunMetadata(runDir).catch(() => null);
  if (!meta?.best) return null;
  const rec = meta.checkpoints.find((c) => c.name === meta.best!.name);
  return rec ? path.join(runDir, rec.path) : null;
}

/** Weights (param.* and buffer.*) from a checkpoint dir, a run dir (its best) or a .safetensors file. */
export async function loadWeights(from: string, groups: string[] | null = null): Promise<TensorMap> {
  let tensors: TensorMap;
  if (from.endsWith('.safetensors')) tensors = (await readSafetensors(from)).tensors;
  else {
    const best = await bestCheckpoint(from);
    tensors = (await loadCheckpoint(best ?? from)).tensors;
  }
  const out: TensorMap = new Map();
  const wanted = (k: string) => !groups || groups.some((g) => k.startsWith(`param.${g}.`) || k.startsWith(`buffer.${g}.`));
  for (const [k, t] of tensors) if ((k.startsWith('param.') || k.startsWith('buffer.')) && wanted(k)) out.set(k, t);
  if (out.size === 0) throw new Error(`initFrom ${from}: no param.* tensors${groups ? ` of groups ${groups.join(', ')}` : ''} found`);
  return out;
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
  const cfg = parseTrainConfig(config);
  const events = new Emitter(opts.render ? terminalRenderer() : undefined, opts.onEvent);
  const warn = (m: string) => events.emit({ type: 'log', message: m });
  const data = opts.datasets ? { ...opts.datasets, classes: 0 } : buildDatasets(cfg);
  const spec = opts.model ?? createModel(cfg.model, { size: cfg.data.size, classes: data.classes || GLYPH_CLASSES.length });
  const sample = await data.train.getBatch([0]);
  const engine = await createEngine(spec, cfg, sample, tensorRows(data.train)?.base); // in-memory data: held by the engine
  let manager: CheckpointManager;
  try {
    manager = await CheckpointManager.open(cfg.out, checkpointOptions(cfg), { warn, experiment: opts.stage, ...opts.checkpointDeps });
  } catch (e) {
    await engine.dispose();
    throw e;
  }
  let uninstall: (() => void) | null = null;
  let backup: RunBackup | null = null;
  const log = new MetricsLog(manager.runDir);
  try {
    manager.checkFits(engine.engine.plan.decls); // a disk cap below one checkpoint: refused before training
    uninstall = opts.handleSignals ? handleSignals(manager, events) : null;
    backup = opts.backup ? await startRunBackup(opts.backup, manager, events) : null;
    const choice = await resolveResume(manager.runDir, cfg.resume, { warn });
    const resume = choice ? await loadCheckpoint(choice.dir) : null;
    if (!resume && cfg.initFrom) {
      await engine.setState(await loadWeights(cfg.initFrom, cfg.initGroups), { weightsOnly: true, strict: !cfg.initGroups });
      events.emit({ type: 'log', message: `Initialised ${cfg.initGroups ? cfg.initGroups.join(' + ') : 'all'} weights from ${cfg.initFrom} (fresh optimizer)` });
    }
    log.truncateAfter(resume?.state.globalStep ?? 0);
    const s = await runLoop({
      config: cfg, engine, train: data.train, val: data.val, checkpoints: manager, events, groups: engine.groups,
      stop: opts.signal, stage: opts.stage, resume: resume ? { dir: resume.dir, tensors: resume.tensors, state: resume.state } : null,
      hooks: {
        onStep: (r) => log.append({ type: 'step', epoch: r.epoch, globalStep: r.globalStep, time: new Date().toISOString(), ...r.metrics }),
        onEpochEnd: (r) => log.append({ type: 'epoch', epoch: r.epoch, globalStep: r.globalStep, time: new Date().toISOString(), ...r.metrics }),
      },
    });
    await backup?.flush();
    return { ...s, runDir: manager.runDir, config: cfg };
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
