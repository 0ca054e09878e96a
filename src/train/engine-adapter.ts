// Builds a src/engine Engine from a ModelSpec + train config and adapts it to the loop: per-group
// learning rates set before each step, metric names mapped (cls_accuracy → acc), and NaN/Inf
// loss reported as non-finite metrics (the engine leaves its state untouched) so the loop stops.
// Given an in-memory dataset, the engine holds it whole and steps by row (see resident-data.ts).
import { Engine, NonFiniteLossError } from '../engine/engine.js';
import { AdamW } from '../optim/adamw.js';
import { SGD } from '../optim/sgd.js';
import type { Batch, TensorDataset } from '../data/dataset.js';
import type { TensorMap } from '../tensor.js';
import { ConfigError, type TrainConfig } from './config.js';
import type { Metrics } from './events.js';
import type { ModelSpec } from './models.js';
import type { LoopEngine } from './ports.js';
import { residentTensors } from './resident-data.js';

export interface TrainEngine extends LoopEngine {
  engine: Engine;
  /** Trainable parameter groups (frozen groups excluded). */
  groups: string[];
  dispose(): Promise<void>;
}

/**
 * `sample`: one batch from the dataset, for the input shapes and dtypes. `data`: the in-memory
 * dataset to hold on the engine (placement 'auto') for stepIndices / evaluateIndices.
 */
export async function createEngine(spec: ModelSpec, cfg: TrainConfig, sample: Batch, data?: TensorDataset): Promise<TrainEngine> {
  for (const f of cfg.freeze) {
    if (!spec.groups.includes(f)) throw new ConfigError(`freeze: the model has no parameter group "${f}" (groups: ${spec.groups.join(', ')})`);
  }
  const groups = spec.groups.filter((g) => !cfg.freeze.includes(g));
  for (const g of Object.keys(cfg.lrGroups)) {
    if (!spec.groups.includes(g)) throw new ConfigError(`lrGroups.${g}: the model has no parameter group "${g}" (groups: ${spec.groups.join(', ')})`);
  }
  // feed the model's input and the loss targets; other dataset columns are left out
  const used = [spec.input, ...spec.loss.targets];
  const missing = used.filter((k) => !sample[k]);
  if (missing.length) throw new ConfigError(`model: the dataset has no column ${missing.map((k) => `"${k}"`).join(', ')} (it has ${Object.keys(sample).join(', ')}); pick a model and data that match (e.g. model "mnist" with data.name "mnist")`);
  const inputs: Record<string, { shape: number[]; dtype: Batch[string]['dtype'] }> = {};
  for (const k of used) inputs[k] = { shape: sample[k].shape.slice(1), dtype: sample[k].dtype };
  const pick = (b: Batch): Batch => Object.fromEntries(used.map((k) => [k, b[k]]));
  const optimizer = cfg.optimizer === 'adamw'
    ? new AdamW({ lr: cfg.lr, betas: [cfg.momentum, 0.999], weightDecay: cfg.weightDecay }) // momentum = β1, as Ultralytics does
    : new SGD({ lr: cfg.lr, momentum: cfg.momentum, weightDecay: cfg.weightDecay });
  const engine = await Engine.create({
    model: spec.model, loss: spec.loss, optimizer, inputs, batchSize: cfg.batchSize,
    device: cfg.device, threads: cfg.threads, seed: cfg.seed,
    frozen: cfg.freeze.length ? cfg.freeze : undefined,
    heldBatchNorm: cfg.freezeBn ? cfg.freeze : undefined,
    groups: groups.map((name) => ({ name, params: name })),
    data: data ? { tensors: residentTensors(data, used) } : undefined,
  });
  const rename = (m: Metrics): Metrics => {
    const out: Metrics = {};
    for (const [k, v] of Object.entries(m)) out[spec.rename[k] ?? k] = v;
    return out;
  };
  const trainStep = async (run: () => Promise<Metrics>, lr: Record<string, number>): Promise<Metrics> => {
    engine.setLr(lr);
    try {
      return rename(await run());
    } catch (e) {
      if (e instanceof NonFiniteLossError) return rename(e.metrics);
      throw e;
    }
  };
  const names = engine.metricNames;
  return {
    engine,
    groups,
    metricNames: { train: names.train.map((k) => spec.rename[k] ?? k), eval: names.eval.map((k) => spec.rename[k] ?? k) },
    device: engine.device,
    step: (batch, hyper) => trainStep(() => engine.step(pick(batch)), hyper.lr),
    async evaluate(batch: Batch) { return rename(await engine.evaluate(pick(batch))); },
    ...(data ? {
      data,
      stepIndices: (rows: Int32Array, hyper: { lr: Record<string, number> }) => trainStep(() => engine.stepIndices(rows), hyper.lr),
      evaluateIndices: async (rows: Int32Array) => rename(await engine.evaluateIndices(rows)),
    } : {}),
    getState: () => engine.getState(),
    snapshotState: () => engine.snapshotState(),
    async setState(t: TensorMap, opts?: { weightsOnly?: boolean; strict?: boolean }) { await engine.setState(t, opts); },
    dispose: () => engine.release(),
  };
}
