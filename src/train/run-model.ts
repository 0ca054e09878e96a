// What a run records about its model in every checkpoint (state.json extra.model: the train
// config, the user modules' paths, class names, input and target columns, preprocessing), and
// opening a run's checkpoint for inference from that record alone: the model is rebuilt, its
// weights loaded strictly, into an InferenceEngine (no optimizer, no training graph).
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { loadCheckpoint, loadCheckpointState } from '../checkpoint/dir.js';
import { MANIFEST_FILE } from '../checkpoint/manifest.js';
import { CHECKPOINTS_DIR, readRunMetadata } from '../checkpoint/metadata.js';
import { describeContents, selectResume } from '../checkpoint/resume.js';
import type { CheckpointManager } from '../checkpoint/manager.js';
import type { DeviceRequest } from '../engine/backend.js';
import { InferenceEngine } from '../engine/inference.js';
import type { Batch } from '../data/dataset.js';
import type { DType, TensorMap } from '../tensor.js';
import { TrainConfigSchema, type RunIdentity, type TrainConfig } from './config.js';
import type { Preprocess } from './data-source.js';
import type { ModelSpec } from './detector.js';
import { modelContext, resolveModel } from './models.js';
import type { LoopCheckpoints } from './ports.js';
import { isModuleRef, parseModuleRef } from './user-module.js';

const Column = z.object({ name: z.string(), shape: z.array(z.number().int().nonnegative()), dtype: z.string() });
export const RunModelInfoSchema = z.object({
  version: z.literal(1),
  config: z.unknown(),
  /** Absolute paths of user modules named by config.model / config.data.name (null: built-in). */
  modelFile: z.string().nullable(),
  dataFile: z.string().nullable(),
  classNames: z.array(z.string()),
  task: z.enum(['detection', 'classification']).nullable(),
  input: Column,
  targets: z.array(Column),
  preprocess: z.object({ channels: z.number(), height: z.number(), width: z.number(), resize: z.enum(['stretch', 'letterbox']), scale: z.number(), mean: z.array(z.number()), std: z.array(z.number()) }).nullable(),
  /** The model was passed to train() in code (TrainOptions.model), not named by config.model. */
  custom: z.boolean().default(false),
});
export type RunModelInfo = z.infer<typeof RunModelInfoSchema>;

const absRef = (ref: string): string | null => (isModuleRef(ref) ? parseModuleRef(ref).file + (ref.includes('#') ? ref.slice(ref.lastIndexOf('#')) : '') : null);

/** The record of a run about to train `spec` on data whose first batch is `sample`. */
export function runModelInfo(cfg: TrainConfig, spec: ModelSpec, sample: Batch, classNames: string[], preprocess: Preprocess | null, custom = false): RunModelInfo {
  const col = (name: string) => ({ name, shape: sample[name].shape.slice(1), dtype: sample[name].dtype });
  return {
    version: 1, config: cfg, modelFile: absRef(cfg.model), dataFile: absRef(cfg.data.name), classNames, task: spec.task ?? null,
    input: col(spec.input), targets: spec.loss.targets.filter((t) => sample[t]).map(col), preprocess, custom,
  };
}

/** The model's parameter shapes and the data as loaded, hashed with the config (configHash). */
export function runIdentity(spec: ModelSpec, data: { train: { length: number }; val?: { length: number }; classNames: string[]; image?: { channels: number } }): RunIdentity {
  const params = Object.fromEntries(spec.model.parameters().map((p) => [p.name, p.shape]));
  const samples = data.train.length + (data.val?.length ?? 0);
  return { params, data: { classes: data.classNames, samples, ...(data.image ? { channels: data.image.channels } : {}) } };
}

/** The manager as the loop sees it, adding `info` to every checkpoint's state (extra.model). */
export function withRunInfo(m: CheckpointManager, info: RunModelInfo): LoopCheckpoints {
  return {
    save: (kind, tensors, state, opts) => m.save(kind, tensors, { ...state, extra: { ...state.extra, model: info } }, opts),
    shouldSave: (e) => m.shouldSave(e),
    flush: () => m.flush(),
    get signalReceived() { return m.signalReceived; },
    runDir: m.runDir,
  };
}

/** A run's best checkpoint (by its monitor) if it has one, else its newest valid one. */
export async function bestOrNewest(runDir: string): Promise<string> {
  const meta = await readRunMetadata(runDir).catch(() => null);
  const rec = meta?.best ? meta.checkpoints.find((c) => c.name === meta.best!.name) : undefined;
  if (rec && fs.existsSync(path.join(runDir, rec.path, MANIFEST_FILE))) return path.join(runDir, rec.path);
  return newest(runDir);
}

async function newest(runDir: string): Promise<string> {
  const c = await selectResume(runDir, { warn: () => {} });
  if (!c) throw new Error(`${runDir} has no valid checkpoint; ${await describeContents(fs.existsSync(path.join(runDir, CHECKPOINTS_DIR)) ? path.join(runDir, CHECKPOINTS_DIR) : runDir)}`);
  return c.dir;
}

/**
 * The checkpoint directory `target` + `which` name: `target` a checkpoint folder (used as is) or a
 * run folder; `which` 'best' (default: best, else newest), 'last' (the newest valid one), a
 * checkpoint name in the run (e.g. last-000000120) or a path.
 */
export async function resolveCheckpoint(target: string, which = 'best'): Promise<string> {
  if (fs.existsSync(path.join(target, MANIFEST_FILE))) return target;
  if (!fs.existsSync(target)) throw new Error(`${target} does not exist; give a run folder (e.g. runs/glyphs/stage3-finetune) or a checkpoint folder`);
  if (!fs.existsSync(path.join(target, CHECKPOINTS_DIR))) throw new Error(`${target} is not a run folder (no ${CHECKPOINTS_DIR}/) nor a checkpoint (no ${MANIFEST_FILE}); ${await describeContents(target)}`);
  if (which === 'best') return bestOrNewest(target);
  if (which === 'last' || which === 'latest' || which === 'newest') return newest(target);
  for (const dir of [path.join(target, CHECKPOINTS_DIR, which), which]) if (fs.existsSync(path.join(dir, MANIFEST_FILE))) return dir;
  throw new Error(`--checkpoint ${which}: not a checkpoint of ${target} (use best, last or a name); ${await describeContents(path.join(target, CHECKPOINTS_DIR))}`);
}

export interface RunModel {
  /** The checkpoint folder. */
  dir: string;
  globalStep: number;
  info: RunModelInfo;
  config: TrainConfig;
  spec: ModelSpec;
  engine: InferenceEngine;
  /** The checkpoint's param.* / buffer.* tensors. */
  weights: TensorMap;
}

function parseInfo(dir: string, extra: Record<string, unknown>): { info: RunModelInfo; config: TrainConfig } {
  const raw = extra.model;
  if (raw === undefined) throw new Error(`checkpoint ${dir} does not record its model (it was written before drivetrain recorded models, or not by train()); retrain, or rebuild the model in code and use InferenceEngine`);
  const parsed = RunModelInfoSchema.safeParse(raw);
  if (!parsed.success) throw new Error(`checkpoint ${dir}: the model record in state.json is not valid: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return { info: parsed.data, config: TrainConfigSchema.parse(parsed.data.config) };
}

/** The model record of a run's checkpoint (verified state.json only, no tensors read). */
export async function readRunInfo(target: string, checkpoint?: string): Promise<{ dir: string; globalStep: number; info: RunModelInfo; config: TrainConfig }> {
  const dir = await resolveCheckpoint(target, checkpoint);
  const state = await loadCheckpointState(dir);
  return { dir, globalStep: state.globalStep, ...parseInfo(dir, state.extra) };
}

/** Opens a run's checkpoint for inference (see resolveCheckpoint for `target` and `checkpoint`). */
export async function openRunModel(target: string, opts: { checkpoint?: string; device?: DeviceRequest; threads?: number; model?: ModelSpec } = {}): Promise<RunModel> {
  const dir = await resolveCheckpoint(target, opts.checkpoint);
  const ck = await loadCheckpoint(dir);
  const { info, config } = parseInfo(dir, ck.state.extra);
  if (info.custom && !opts.model) throw new Error(`checkpoint ${dir} was trained with a model passed in code (train(config, { model })); pass the same model spec ({ model }) to open it, or name the model in the config (a built-in or "./file.ts#export")`);
  const ctx = modelContext({ classes: info.classNames, inputShape: info.input.shape, task: info.task ?? undefined, options: config.modelOptions });
  const spec = opts.model ?? await resolveModel(info.modelFile ?? config.model, ctx);
  const inputs: Record<string, { shape: number[]; dtype: DType }> = {};
  for (const c of [info.input, ...info.targets]) inputs[c.name] = { shape: c.shape, dtype: c.dtype as DType };
  const engine = await InferenceEngine.create({ model: spec.model, loss: spec.loss, inputs, modelInputs: [spec.input], device: opts.device, threads: opts.threads });
  const weights: TensorMap = new Map([...ck.tensors].filter(([k]) => /^(param|buffer)\./.test(k)));
  try {
    await engine.setState(weights, { strict: true });
  } catch (e) {
    await engine.release();
    throw new Error(`checkpoint ${dir}: the model rebuilt from ${info.modelFile ?? config.model} does not match the saved weights (${(e as Error).message}); was the model or its options changed since training?`);
  }
  return { dir, globalStep: ck.state.globalStep, info, config, spec, engine, weights };
}
