// train(config): builds data, model, engine, checkpoint manager (and backup) from a config, runs
// the trainer, and closes everything. The CLI, runbooks and notebook helpers all come through here.
import path from 'node:path';
import { CheckpointManager, type OpenDeps } from '../checkpoint/manager.js';
import { loadCheckpoint } from '../checkpoint/dir.js';
import { readRunMetadata } from '../checkpoint/metadata.js';
import { resolveResume } from '../checkpoint/resume.js';
import type { CheckpointOptionsInput } from '../checkpoint/policy.js';
import { readSafetensors } from '../checkpoint/safetensors.js';
import { trainValSplit, type Batch, type Dataset, type TensorDataset } from '../data/dataset.js';
import { augmentActive } from '../data/augment.js';
import { diskDatasets, trainView } from '../data/disk-datasets.js';
import { glyphDataset, GLYPH_CLASSES } from '../data/glyphs.js';
import type { ImageData } from '../data/image-dataset.js';
import { mnistDatasets } from '../data/mnist-digits.js';
import { DataError } from '../data/errors.js';
import { DEFAULT_BUDGET_BYTES } from '../engine/device-data.js';
import type { TensorMap } from '../tensor.js';
import { ConfigError, parseTrainConfig, type TrainConfig, type TrainConfigInput } from './config.js';
import { createEngine } from './engine-adapter.js';
import { tensorRows } from './resident-data.js';
import { Emitter, type EventListener } from './events.js';
import { MetricsLog } from './metrics-log.js';
import { createModel, type ModelShape, type ModelSpec } from './models.js';
import { terminalRenderer } from './progress.js';
import { Trainer, type TrainerHooks, type TrainerSummary } from './trainer.js';
import { DeviceUnavailableError } from '../engine/backend.js';
import { DeviceError } from '../errors.js';
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
  /** Use these datasets instead of the config's `data` (`classes`: their class names, for the model's head). */
  datasets?: { train: Dataset; val?: Dataset; classes?: string[] };
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
}

export interface BuiltDatasets {
  train: Dataset;
  val?: Dataset;
  /** Class names in label order; the model's head gets one output per class. */
  classes: string[];
  /** A dataset from disk: its layout, identity and decode cache. */
  image?: ImageData;
}

/**
 * The configured datasets: images from disk (data.path), glyphs (generated from data.seed) or
 * MNIST, split train/val; the training view augmented when data.augment asks for it.
 */
export async function buildDatasets(cfg: TrainConfig, log?: (message: string) => void): Promise<BuiltDatasets> {
  const d = cfg.data;
  if (augmentActive(d.augment)) log?.(`Augmenting training images (seeded by seed ${cfg.seed}, epoch and sample): ${Object.entries(d.augment).filter(([, v]) => v > 0).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  if (d.path !== undefined) {
    const r = await diskDatasets({
      path: d.path, ann: d.ann, format: d.format, size: d.size, channels: d.channels, resize: d.resize, mean: d.mean, std: d.std,
      classes: d.classes, cacheDir: d.cacheDir, valFraction: d.valFraction, seed: d.seed, augment: d.augment, log,
    });
    return { train: r.train, val: r.val, classes: r.data.classes, image: r.data };
  }
  if (d.name === 'mnist') {
    const nVal = Math.round(d.n * d.valFraction);
    const m = mnistDatasets(d.n - nVal, Math.max(nVal, 1));
    return { train: trainView(m.train, null, d.augment), val: nVal > 0 ? m.test : undefined, classes: Array.from({ length: 10 }, (_, i) => String(i)) };
  }
  const all = glyphDataset({ n: d.n, seed: d.seed, size: d.size, noise: d.noise as [number, number], clutter: d.clutter });
  const { train, val } = trainValSplit(all, d.valFraction, d.seed);
  return { train: trainView(all, train.indices, d.augment), val: val.length ? val : undefined, classes: [...GLYPH_CLASSES] };
}

/** The data's image side and channels (from a sample batch) and its number of classes. */
function modelShape(sample: Batch, classes: number, fallbackSize: number): ModelShape {
  const s = sample.image?.shape;
  return s && s.length === 4 ? { channels: s[1], size: s[2], classes } : { size: fallbackSize, classes };
}

/** A detector on a class-folder dataset (no boxes) gets a message that says what to use. */
function checkModelFits(spec: ModelSpec, sample: Batch, cfg: TrainConfig, image?: ImageData): void {
  const missing = spec.loss.targets.filter((t) => !sample[t]);
  if (!image || !missing.includes('box')) return;
  throw new DataError(`model "${cfg.model}" is a detector and needs a box per image, but ${image.identity.root} is a ${image.task} dataset without boxes: give the annotation CSV (--ann FILE with filename,class,x,y,w,h), or train the built-in classifier (--model mnist)`);
}

/**
 * The loop calls getBatch(indices) without { epoch, seed } (yet); its start and epoch events say
 * which epoch is running (a resumed run starts at the checkpoint's), so datasets that augment get
 * the context they need. Only for datasets the engine cannot hold (fed as host batches).
 */
function withEpochContext(ds: Dataset, events: Emitter, seed: number): Dataset {
  let epoch = 0;
  events.on((e) => {
    if (e.type === 'start') epoch = e.startEpoch;
    else if (e.type === 'epoch') epoch = e.epoch + 1;
  });
  return { length: ds.length, getBatch: (idx, ctx) => ds.getBatch(idx, ctx ?? { epoch, seed }) };
}

/** Host memory the engine may use to hold a dataset whole as its inputs (float32 after transforms). */
const RESIDENT_LIMIT_BYTES = DEFAULT_BUDGET_BYTES;

/**
 * The in-memory dataset the engine holds whole (stepIndices), or undefined: not a view of one, or
 * too big as float32 inputs (a 4× copy of uint8 images); those are fed batch by batch instead.
 */
export function residentBase(ds: Dataset, warn: (m: string) => void, limit = RESIDENT_LIMIT_BYTES): TensorDataset | undefined {
  const r = tensorRows(ds);
  if (!r) return undefined;
  const bytes = Object.values(r.base.columns).reduce((sum, c) => sum + c.data.length * (c.transform ? 4 : c.data.BYTES_PER_ELEMENT), 0);
  if (bytes <= limit) return r.base;
  const gib = (b: number) => `${(b / 2 ** 30).toFixed(1)} GiB`;
  warn(`The dataset takes ${gib(bytes)} as float32 inputs, over ${gib(limit)}: batches are made from the uint8 images step by step instead of holding it whole`);
  return undefined;
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
  if (out.size === 0) throw new ConfigError(`initFrom ${from}: no param.* tensors${groups ? ` of groups ${groups.join(', ')}` : ''} found`);
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
  const data: BuiltDatasets = opts.datasets ? { ...opts.datasets, classes: opts.datasets.classes ?? [...GLYPH_CLASSES] } : await buildDatasets(cfg, warn);
  const sample = await data.train.getBatch([0]);
  const spec = opts.model ?? createModel(cfg.model, modelShape(sample, data.classes.length, cfg.data.size));
  checkModelFits(spec, sample, cfg, data.image);
  const held = residentBase(data.train, warn);
  const trainSet = held ? data.train : withEpochContext(data.train, events, cfg.seed);
  const engine = await createEngine(spec, cfg, sample, held).catch((e: unknown) => { // in-memory data: held by the engine
    throw e instanceof DeviceUnavailableError ? new DeviceError(e.message, { cause: e }) : e;
  });
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
    uninstall = opts.handleSignals ? handleSignals(manager, events) : null;
    backup = opts.backup ? await startRunBackup(opts.backup, manager, events) : null;
    const choice = await resolveResume(manager.runDir, cfg.resume, { warn });
    const resume = choice ? await loadCheckpoint(choice.dir) : null;
    if (!resume && cfg.initFrom) {
      await engine.setState(await loadWeights(cfg.initFrom, cfg.initGroups), { weightsOnly: true, strict: !cfg.initGroups });
      events.emit({ type: 'log', message: `Initialised ${cfg.initGroups ? cfg.initGroups.join(' + ') : 'all'} weights from ${cfg.initFrom} (fresh optimizer)` });
    }
    log.truncateAfter(resume?.state.globalStep ?? 0);
    const metricsLog: TrainerHooks = {
      onStep: (r) => log.append({ type: 'step', epoch: r.epoch, globalStep: r.globalStep, time: new Date().toISOString(), ...r.metrics }),
      onEpochEnd: (r) => log.append({ type: 'epoch', epoch: r.epoch, globalStep: r.globalStep, time: new Date().toISOString(), ...r.metrics }),
    };
    const s = await new Trainer({
      config: cfg, engine, train: trainSet, val: data.val, checkpoints: manager, events, groups: engine.groups,
      stop: opts.signal, stage: opts.stage, resume: resume ? { dir: resume.dir, tensors: resume.tensors, state: resume.state } : null,
      hooks: [metricsLog, ...(opts.hooks ?? [])],
    }).run();
    await backup?.flush();
    return { ...s, runDir: manager.runDir, config: cfg, classes: data.classes };
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
