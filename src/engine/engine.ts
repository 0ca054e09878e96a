// The training engine: runs the train-step / eval graphs with onnxruntime-node (their sessions,
// built once per batch size, in sessions.ts) and keeps the named state between steps (in a
// StateStore on the chosen device).
import * as ort from 'onnxruntime-node';
import { writeFile } from 'node:fs/promises';
import { encodeModel } from '../onnx/model.js';
import { fromOrt, toOrt } from '../onnx/session.js';
import type { NamedTensor, Tensor, TensorMap } from '../tensor.js';
import { CpuBackend, narrowInt64, selectBackend } from './backend.js';
import type { Backend, Device, DeviceRequest, SessionTuning } from './backend.js';
import { buildEvalGraph, planState } from './graphs.js';
import type { GraphSpec, StatePlan } from './graphs.js';
import { loadEngineWeights } from './interop.js';
import type { LoadWeightsOptions, LoadWeightsReport } from './interop.js';
import { DOWNLOAD_CHUNK_BYTES, initialState, StateStore } from './state.js';
import type { StateSnapshot } from './state.js';
import type { SetStateOptions } from './state.js';
import { DeviceData, toIndexArray } from './device-data.js';
import { hostScalarValues } from '../optim/apply.js';
import { checkBatch } from './batch.js';
import { EngineSessions, type Compiled, type SessionKind } from './sessions.js';
import type { SessionProfile } from './profile.js';
import type { DataPlacement, DeviceDataOptions } from './device-data.js';

/** Batch tensors by input name, each [b, ...per-sample shape] with b ≤ batchSize. */
export type EngineBatch = Record<string, Tensor>;
export type EngineMetrics = Record<string, number>;

export interface EngineOptions extends GraphSpec {
  /** Batch size of the main sessions; smaller (last) batches get their own cached sessions. */
  batchSize: number;
  /** Default 'cpu'. 'auto' picks WebGPU when an adapter exists, else CPU, and prints which. */
  device?: DeviceRequest;
  /** Intra-op threads for the CPU EP (default: ORT's choice, one per core). */
  threads?: number;
  graphOptimizationLevel?: SessionTuning['graphOptimizationLevel'];
  /** WebGPU: fail instead of placing any node on the CPU EP (see SessionTuning.noCpuFallback). */
  noCpuFallback?: boolean;
  /** Seed for parameter initialisation and RNG states (default 0). */
  seed?: number;
  /** Where 'auto' reports its choice (default console.log). */
  log?: (msg: string) => void;
  /** Advanced: a custom state placement (overrides `device`), e.g. to instrument transfers. */
  backend?: Backend;
  /**
   * The whole dataset, kept on the device when it fits `budgetBytes` (one upload, each step
   * uploads only its index vector: {@link Engine.stepIndices}); see device-data.ts.
   */
  data?: DeviceDataOptions;
  /**
   * Folder for onnxruntime's profiler (default: the DRIVETRAIN_PROFILE environment variable):
   * each session writes its trace there; release() prints the slowest ops per step.
   */
  profile?: string;
}

/** Thrown by step() when the loss is NaN or ±Inf; the state is left as it was before the step. */
export class NonFiniteLossError extends Error {
  constructor(readonly metrics: EngineMetrics, readonly step: number) {
    super(`loss is ${metrics.loss} at step ${step} (metrics ${JSON.stringify(metrics)}); the step was not applied — lower the learning rate, clip gradients or check the data`);
  }
}

export class Engine {
  private readonly sessions: EngineSessions;
  private lrs: Record<string, number>;
  /** `lr.<group>` feeds, rebuilt after setLr(). */
  private lrFeeds?: Record<string, ort.Tensor>;
  private busy = false;
  private steps = 0;
  private data?: DeviceData;
  /** The download of the last snapshotState(), while it runs. */
  private downloading?: Promise<unknown>;

  private constructor(
    readonly options: EngineOptions,
    readonly plan: StatePlan,
    private readonly backend: Backend,
    private readonly store: StateStore,
  ) {
    this.lrs = Object.fromEntries(plan.optimizer.groups.map((g) => [g.name, g.hp.lr]));
    const tuning: SessionTuning = { threads: options.threads, graphOptimizationLevel: options.graphOptimizationLevel, noCpuFallback: options.noCpuFallback };
    this.sessions = new EngineSessions(options, plan, backend, options.batchSize, tuning, options.profile);
  }

  static async create(opts: EngineOptions): Promise<Engine> {
    if (!Number.isInteger(opts.batchSize) || opts.batchSize < 1) throw new Error(`batchSize must be a positive integer, got ${opts.batchSize}`);
    if (opts.threads !== undefined && !(Number.isInteger(opts.threads) && opts.threads >= 1)) throw new Error(`threads must be a positive integer, got ${opts.threads}`);
    const plan = planState(opts);
    const backend = opts.backend ?? (await selectBackend(opts.device ?? 'cpu', opts.log));
    if (opts.device !== 'auto' || backend.device === 'cpu' || opts.backend) return Engine.start(opts, plan, backend);
    try {
      return await Engine.start(opts, plan, backend);
    } catch (e) {
      // 'auto' never fails on a device problem: the CPU takes over and the reason is printed.
      const msg = String((e as Error)?.message ?? e).split('\n').map((l) => l.trim()).filter(Boolean).slice(-1)[0];
      (opts.log ?? console.log)(`drivetrain: device auto → cpu (WebGPU failed while setting up the engine: ${msg})`);
      return Engine.start(opts, plan, new CpuBackend());
    }
  }

  private static async start(opts: EngineOptions, plan: StatePlan, backend: Backend): Promise<Engine> {
    const store = new StateStore(backend, plan.decls);
    const engine = new Engine(opts, plan, backend, store);
    try {
      await store.set(initialState(plan, opts.seed ?? 0));
      if (opts.data) engine.data = await DeviceData.create(opts.data, opts.inputs, plan.batchInputs, backend, opts.log);
      await engine.compile('train', opts.batchSize, !!engine.data); // fail early on graph errors (step() compiles its own lazily)
    } catch (e) {
      await engine.release(); // the state (and dataset) may already be on the GPU
      throw e;
    }
    return engine;
  }

  get device(): Device {
    return this.backend.device;
  }
  /** WebGPU: 'hardware' or 'software' (a CPU-emulated adapter such as lavapipe); undefined on the CPU. */
  get adapter(): Backend['adapter'] {
    return this.backend.adapter;
  }
  get batchSize(): number {
    return this.options.batchSize;
  }
  /** Optimizer steps taken (mirrors `opt.step`). */
  get stepCount(): number {
    return this.steps;
  }
  /** Parameter groups: name → trainable parameter names. */
  get groups(): Record<string, string[]> {
    return Object.fromEntries(this.plan.optimizer.groups.map((g) => [g.name, [...g.params]]));
  }

  /** Metric names of step() (`loss`, the loss's metrics, `grad_norm` when emitted) and of evaluate() (the loss's only). */
  get metricNames(): { train: string[]; eval: string[] } {
    const train = this.sessions.metricsOf('train') ?? [];
    const o = this.options, gradNorm = o.clipGradNorm !== undefined ? o.gradNormMetric ?? true : !!o.gradNormMetric;
    return { train: [...train], eval: train.filter((n: string) => !(gradNorm && n === 'grad_norm')) };
  }

  /** Where the dataset given as `data` lives ('resident' or 'streamed'); undefined without `data`. */
  get dataPlacement(): DataPlacement | undefined {
    return this.data?.placement;
  }

  /** Device tensors the engine holds (state + resident dataset); constant across steps. */
  liveTensors(): { state: number; data: number } {
    return { state: this.store.size, data: this.data?.liveTensors ?? 0 };
  }

  private compile(kind: SessionKind, b: number, indexed = false): Promise<Compiled> {
    return this.sessions.get(kind, b, indexed ? this.data : undefined);
  }

  /**
   * Builds the train, eval and predict sessions of the main batch size now (those fed by index
   * too when the engine holds the dataset) instead of at first use: fails early on a device
   * problem, and lets tests and benchmarks check placement without running anything.
   */
  async prepare(): Promise<void> {
    for (const indexed of this.data ? [false, true] : [false]) {
      await this.compile('train', this.batchSize, indexed);
      await this.compile('eval', this.batchSize, indexed);
    }
    await this.compile('predict', this.batchSize);
  }

  /** The models of the sessions built so far (`train:32`, `eval@idx:32`, …), as lowered for the device. */
  sessionModels(): { name: string; model: Uint8Array; options: ort.InferenceSession.SessionOptions }[] {
    return this.sessions.models();
  }

  private checkBatch(batch: EngineBatch, names: readonly string[]): number {
    return checkBatch(batch, names, this.options.inputs, this.batchSize);
  }

  private lrInputs(): Record<string, ort.Tensor> {
    return (this.lrFeeds ??= Object.fromEntries(Object.entries(this.lrs).map(([g, lr]) => [`lr.${g}`, new ort.Tensor('float32', Float32Array.of(lr), [])])));
  }

  /** `hp.<group>.<name>` feeds of the step being taken (t = steps + 1), computed in float64. */
  private hostScalarInputs(): Record<string, ort.Tensor> {
    const v = hostScalarValues(this.options.optimizer, this.plan.optimizer, this.lrs, this.steps + 1);
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, new ort.Tensor('float32', Float32Array.of(x), [])]));
  }

  private enter(what: string): void {
    if (this.busy) throw new Error(`${what}() called while another engine call is running; await each call before the next`);
    this.busy = true;
  }

  private async run(c: Compiled, batch: EngineBatch | Int32Array, withLr: boolean): Promise<Record<string, ort.Tensor>> {
    const feeds: Record<string, ort.Tensor> = batch instanceof Int32Array ? this.data!.feeds(batch) : {};
    if (!(batch instanceof Int32Array)) {
      for (const n of c.inputs) feeds[n] = toOrt(c.int32Inputs.has(n) && batch[n].dtype === 'int64' ? narrowInt64(batch[n], `batch input "${n}"`) : batch[n]);
    }
    this.store.feed(c.state, feeds);
    if (withLr) Object.assign(feeds, this.lrInputs(), this.hostScalarInputs());
    return c.session.run(feeds);
  }

  private static readMetrics(c: Compiled, out: Record<string, ort.Tensor>): EngineMetrics {
    const m: EngineMetrics = {};
    for (const n of c.metrics) m[n] = Number((out[n].data as Float32Array)[0]);
    return m;
  }

  /** One optimizer step. Throws NonFiniteLossError (state untouched) when the loss is NaN/Inf. */
  async step(batch: EngineBatch): Promise<EngineMetrics> {
    return this.trainStep(batch);
  }

  /**
   * One optimizer step on rows `indices` of the dataset given as `data` (gathered on the device
   * when resident). Same result as step() on those rows (see hostBatch in device-data.ts).
   */
  async stepIndices(indices: Int32Array | BigInt64Array | ArrayLike<number>): Promise<EngineMetrics> {
    return this.trainStep(this.indexBatch(indices, 'stepIndices'));
  }

  /** evaluate() on rows `indices` of the dataset given as `data`. */
  async evaluateIndices(indices: Int32Array | BigInt64Array | ArrayLike<number>): Promise<EngineMetrics> {
    const idx = this.indexBatch(indices, 'evaluateIndices');
    this.enter('evaluate');
    try {
      const c = await this.compile('eval', idx.length, true);
      return Engine.readMetrics(c, await this.run(c, idx, false));
    } finally {
      this.busy = false;
    }
  }

  private indexBatch(indices: Int32Array | BigInt64Array | ArrayLike<number>, what: string): Int32Array {
    if (!this.data) throw new Error(`${what}() needs the dataset: create the engine with data: { tensors: { … } }`);
    const idx = toIndexArray(indices, this.data.rows, what);
    if (idx.length < 1) throw new Error(`${what}: no indices`);
    if (idx.length > this.batchSize) throw new Error(`${what}: ${idx.length} indices exceed the engine's batchSize ${this.batchSize}`);
    return idx;
  }

  private async trainStep(batch: EngineBatch | Int32Array): Promise<EngineMetrics> {
    this.enter('step');
    try {
      const c = batch instanceof Int32Array ? await this.compile('train', batch.length, true) : await this.compile('train', this.checkBatch(batch, this.plan.batchInputs));
      const out = await this.run(c, batch, true);
      const metrics = Engine.readMetrics(c, out);
      if (!Number.isFinite(metrics.loss)) {
        this.store.discard(c.updated, out);
        throw new NonFiniteLossError(metrics, this.steps + 1);
      }
      this.store.commit(c.updated, out);
      this.steps++;
      return metrics;
    } finally {
      this.busy = false;
    }
  }

  /** Loss and metrics in eval mode (BatchNorm on running statistics, no dropout); no state changes. */
  async evaluate(batch: EngineBatch): Promise<EngineMetrics> {
    this.enter('evaluate');
    try {
      const c = await this.compile('eval', this.checkBatch(batch, this.plan.batchInputs));
      return Engine.readMetrics(c, await this.run(c, batch, false));
    } finally {
      this.busy = false;
    }
  }

  /** Model outputs in eval mode: `output` (single-output model) or `output_<key>`. */
  async predict(batch: EngineBatch): Promise<Record<string, Tensor>> {
    this.enter('predict');
    try {
      const c = await this.compile('predict', this.checkBatch(batch, this.plan.modelInputs));
      const out = await this.run(c, batch, false);
      const res: Record<string, Tensor> = {};
      for (const n of c.outputs) res[n] = fromOrt(out[n]);
      return res;
    } finally {
      this.busy = false;
    }
  }

  /** Every state tensor as host copies (the only place state leaves the device). */
  async getState(): Promise<TensorMap> {
    return this.store.snapshot();
  }

  /**
   * The state of this moment for a checkpoint, without waiting for its download. On WebGPU the
   * state's device buffers are held (no copy: a step never writes its inputs, it makes new
   * outputs; the replaced buffers are freed once downloaded) and copied to the host in chunks of
   * ~8 MiB between the following steps, so the loop continues at once. A new snapshot first waits
   * for the previous download if it is still running — the only time a save waits. CPU: the
   * copies are made now (a memcpy).
   */
  async snapshotState(): Promise<StateSnapshot> {
    if (this.downloading) await this.downloading.catch(() => undefined);
    const names = this.store.names();
    if (this.backend.device === 'cpu') return { tensors: Promise.resolve(await this.store.snapshot(names)), step: this.steps };
    const between = () => new Promise<void>((r) => setImmediate(r));
    const tensors = this.store.snapshot(names, { bytes: DOWNLOAD_CHUNK_BYTES, between });
    const done = tensors.then(() => undefined, () => undefined).finally(() => {
      if (this.downloading === done) this.downloading = undefined;
    });
    this.downloading = done;
    return { tensors, step: this.steps };
  }

  /**
   * Replaces state tensors by name. strict (default true): missing or unexpected names fail;
   * weightsOnly: only `param.*` / `buffer.*` are taken (fine-tuning from a checkpoint).
   */
  async setState(tensors: TensorMap | Iterable<NamedTensor>, opts: SetStateOptions = {}) {
    const list = tensors instanceof Map ? [...tensors.values()] : [...tensors];
    const r = await this.store.set(list, opts);
    const step = list.find((t) => t.name === 'opt.step');
    if (step && r.loaded.includes('opt.step')) this.steps = Math.round(Number(step.data[0]));
    return r;
  }

  /** Sets learning rates: one number for every group, or by group name. Takes effect next step. */
  setLr(lr: number | Record<string, number>): void {
    const next = { ...this.lrs };
    if (typeof lr === 'number') for (const k of Object.keys(next)) next[k] = lr;
    else for (const [k, v] of Object.entries(lr)) {
      if (!(k in next)) throw new Error(`setLr: no parameter group "${k}" (groups: ${Object.keys(next).join(', ')})`);
      next[k] = v;
    }
    for (const [k, v] of Object.entries(next)) if (!(Number.isFinite(v) && v >= 0)) throw new Error(`setLr: lr for "${k}" must be a finite number >= 0, got ${v}`);
    if (Object.keys(next).every((k) => next[k] === this.lrs[k])) return; // the trainer sets the lr before every step
    this.lrs = next;
    this.lrFeeds = undefined;
  }

  getLr(): Record<string, number> {
    return { ...this.lrs };
  }

  /**
   * Inference ONNX model: eval-mode forward with the current weights as initializers, inputs
   * named as in the inputs spec with a fixed batch size, outputs `output` / `output_<key>`.
   */
  async exportInference(opts: { batchSize?: number; path?: string } = {}): Promise<Uint8Array> {
    const state = await this.store.snapshot(this.plan.decls.filter((d) => d.role === 'param' || d.role === 'buffer').map((d) => d.name));
    const e = buildEvalGraph(this.options, this.plan, opts.batchSize ?? this.batchSize, { withLoss: false, initializers: state });
    const bytes = encodeModel(e.graph, { docString: `drivetrain inference export after ${this.steps} steps` });
    if (opts.path) await writeFile(opts.path, bytes);
    return bytes;
  }

  /** Initialises parameters/buffers by name from a .onnx / .safetensors file or tensors (see interop.ts). */
  loadWeights(source: string | TensorMap, opts: LoadWeightsOptions = {}): Promise<LoadWeightsReport> {
    return loadEngineWeights(this, source, opts);
  }

  /**
   * Ends profiling of every open session (each then runs on unprofiled) and returns the profiles
   * of all sessions so far; empty unless `profile` / DRIVETRAIN_PROFILE is set.
   */
  endProfiling(): SessionProfile[] {
    return this.sessions.endProfiling();
  }

  async release(): Promise<void> {
    if (this.downloading) await this.downloading;
    await this.sessions.release(this.options.log ?? console.log);
    this.store.dispose();
    this.data?.dispose();
    await this.backend.release();
  }
}
