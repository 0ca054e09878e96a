// Inference without an optimizer: a model's eval-mode forward (BatchNorm on running statistics, no
// dropout) with its weights as initializers, run by onnxruntime. predict() gives the outputs,
// evaluate() the loss metrics (when a loss is given), exportOnnx() writes the model for other
// runtimes: with a dynamic batch dimension when the graph does not depend on the batch size (built
// at two sizes and compared), else at a fixed one.
import * as ort from 'onnxruntime-node';
import { writeFile } from 'node:fs/promises';
import type { Loss } from '../nn/loss.js';
import type { ForwardContext } from '../nn/module.js';
import { rngFor } from '../nn/module.js';
import { Graph } from '../onnx/graph.js';
import { encodeModel } from '../onnx/model.js';
import { fromOrt, toOrt } from '../onnx/session.js';
import type { NamedTensor, Tensor, TensorMap } from '../tensor.js';
import { numel } from '../tensor.js';
import { selectBackend, type Backend, type DeviceRequest } from './backend.js';
import { pruneDeadNodes, type AnyModule, type InputSpec } from './graphs.js';
import { loadEngineWeights, type LoadWeightsOptions, type LoadWeightsReport } from './interop.js';
import type { SetStateOptions, StateDecl } from './state.js';

export interface InferenceOptions {
  model: AnyModule;
  /** Per-sample shapes of the model inputs and, for evaluate(), the loss targets. */
  inputs: Record<string, InputSpec>;
  /** Needed only by evaluate(). */
  loss?: Loss;
  /** Inputs fed to the model (default: every input the loss does not read). */
  modelInputs?: string[];
  device?: DeviceRequest;
  threads?: number;
  /** Seed of the initial weights (before loading any). */
  seed?: number;
  log?: (msg: string) => void;
}

export interface OnnxExport {
  bytes: Uint8Array;
  /** True when the batch dimension is symbolic ("batch"); false: fixed at `batchSize`. */
  dynamicBatch: boolean;
  batchSize: number;
  inputs: string[];
  outputs: string[];
}

const evalContext: ForwardContext = {
  training: false,
  param: (n) => `param.${n}`,
  buffer: (n) => `buffer.${n}`,
  updateBuffer: (n) => { throw new Error(`buffer ${n} updated in eval mode`); },
  rng: (n) => { throw new Error(`RNG state ${n} requested in eval mode`); },
  updateRng: (n) => { throw new Error(`RNG state ${n} updated in eval mode`); },
};

export class InferenceEngine {
  readonly plan: { readonly decls: readonly StateDecl[] };
  readonly modelInputs: string[];
  private weights = new Map<string, NamedTensor>();
  private readonly sessions = new Map<string, { session: ort.InferenceSession; outputs: string[] }>();
  private batchFree?: boolean;

  private constructor(readonly options: InferenceOptions, private readonly backend: Backend) {
    const decls: StateDecl[] = [
      ...options.model.parameters().map((p) => ({ name: `param.${p.name}`, role: 'param' as const, dtype: p.dtype, shape: [...p.shape] })),
      ...options.model.buffers().map((b) => ({ name: `buffer.${b.name}`, role: 'buffer' as const, dtype: b.dtype, shape: [...b.shape] })),
    ];
    this.plan = { decls };
    const targets = options.loss?.targets ?? [];
    const names = Object.keys(options.inputs);
    this.modelInputs = options.modelInputs ?? names.filter((n) => !targets.includes(n));
    if (!this.modelInputs.length) throw new Error(`inference: no model input among ${names.join(', ')}`);
    for (const n of [...this.modelInputs, ...targets]) if (!options.inputs[n]) throw new Error(`inference: input "${n}" is not declared (inputs: ${names.join(', ')})`);
    const seed = options.seed ?? 0;
    for (const [role, list] of [['param', options.model.parameters()], ['buffer', options.model.buffers()]] as const) {
      for (const d of list) {
        const name = `${role}.${d.name}`;
        this.weights.set(name, { name, dtype: d.dtype, shape: [...d.shape], data: d.init(d.shape, rngFor(seed, name)) });
      }
    }
  }

  static async create(opts: InferenceOptions): Promise<InferenceEngine> {
    return new InferenceEngine(opts, await selectBackend(opts.device ?? 'cpu', opts.log));
  }

  /** Parameters and buffers (host tensors, `param.*` / `buffer.*`). */
  getState(): TensorMap {
    return new Map(this.weights);
  }

  /** Replaces weights by name. strict (default true): every name must exist; shapes and dtypes must match. */
  async setState(tensors: TensorMap | Iterable<NamedTensor>, opts: SetStateOptions = {}): Promise<{ loaded: string[] }> {
    const list = tensors instanceof Map ? [...tensors.values()] : [...tensors];
    const decls = new Map(this.plan.decls.map((d) => [d.name, d]));
    const loaded: string[] = [];
    const next = new Map(this.weights);
    for (const t of list) {
      const d = decls.get(t.name);
      if (!d) {
        if (opts.strict ?? true) throw new Error(`inference setState: the model has no "${t.name}"`);
        continue;
      }
      if (t.dtype !== d.dtype || t.shape.length !== d.shape.length || t.shape.some((x, i) => x !== d.shape[i])) {
        throw new Error(`inference setState: ${t.name} is ${t.dtype} [${t.shape}], the model has ${d.dtype} [${d.shape}]`);
      }
      next.set(t.name, { ...t, shape: [...t.shape] });
      loaded.push(t.name);
    }
    if ((opts.strict ?? true) && !opts.weightsOnly) {
      const missing = this.plan.decls.filter((d) => !loaded.includes(d.name)).map((d) => d.name);
      if (missing.length) throw new Error(`inference setState: no value for ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? `, … (${missing.length})` : ''}`);
    }
    this.weights = next;
    await this.dropSessions();
    return { loaded };
  }

  /** Initialises weights from a .onnx / .safetensors file or tensors by name (see interop.ts). */
  loadWeights(source: string | TensorMap, opts: LoadWeightsOptions = {}): Promise<LoadWeightsReport> {
    return loadEngineWeights(this, source, opts);
  }

  private graph(batchSize: number, withLoss: boolean): { g: Graph; metrics: string[]; outputs: string[] } {
    const o = this.options;
    const g = new Graph(withLoss ? 'eval' : 'inference');
    const names = withLoss ? [...this.modelInputs, ...o.loss!.targets.filter((t) => !this.modelInputs.includes(t))] : this.modelInputs;
    const batch: Record<string, string> = {};
    for (const n of names) batch[n] = g.input(n, o.inputs[n].dtype ?? 'float32', [batchSize, ...o.inputs[n].shape]);
    for (const d of this.plan.decls) g.initializer({ ...this.weights.get(d.name)!, name: d.name });
    const x = this.modelInputs.length === 1 ? batch[this.modelInputs[0]] : Object.fromEntries(this.modelInputs.map((n) => [n, batch[n]]));
    const out = o.model.forward(g, x, evalContext) as string | Record<string, string>;
    const metrics: string[] = [], outputs: string[] = [];
    if (withLoss) {
      const r = o.loss!.build({ g, outputs: out, batch });
      metrics.push(g.output(r.loss, 'loss'));
      for (const [k, v] of Object.entries(r.metrics)) metrics.push(g.output(v, k));
    } else if (typeof out === 'string') outputs.push(g.output(out, 'output'));
    else for (const [k, v] of Object.entries(out)) outputs.push(g.output(v, `output_${k}`));
    pruneDeadNodes(g);
    return { g, metrics, outputs };
  }

  /** Whether the forward graph is the same at every batch size (no batch-sized constants). */
  isBatchIndependent(): boolean {
    if (this.batchFree === undefined) this.batchFree = signature(this.graph(1, false).g) === signature(this.graph(2, false).g);
    return this.batchFree;
  }

  private async session(kind: 'predict' | 'eval', b: number): Promise<{ session: ort.InferenceSession; outputs: string[] }> {
    const dynamic = kind === 'predict' && this.isBatchIndependent();
    const key = dynamic ? 'predict:*' : `${kind}:${b}`;
    const hit = this.sessions.get(key);
    if (hit) return hit;
    if (kind === 'eval' && !this.options.loss) throw new Error('evaluate() needs a loss: create the inference engine with { loss }');
    const { g, metrics, outputs } = this.graph(dynamic ? 1 : b, kind === 'eval');
    const outs = kind === 'eval' ? metrics : outputs;
    const bytes = encodeModel(g, dynamic ? { batchDim: 'batch' } : {});
    const session = await ort.InferenceSession.create(bytes, this.backend.sessionOptions(outs, new Set(), { threads: this.options.threads }));
    const c = { session, outputs: outs };
    this.sessions.set(key, c);
    return c;
  }

  private feeds(batch: Record<string, Tensor>, names: string[]): { feeds: Record<string, ort.Tensor>; b: number } {
    const feeds: Record<string, ort.Tensor> = {};
    let b = -1;
    for (const n of names) {
      const t = batch[n];
      const spec = this.options.inputs[n];
      const want = `${spec.dtype ?? 'float32'} [b, ${spec.shape.join(', ')}]`;
      if (!t) throw new Error(`batch is missing input "${n}" (${want})`);
      if (t.dtype !== (spec.dtype ?? 'float32') || t.shape.length !== spec.shape.length + 1 || spec.shape.some((d, i) => t.shape[i + 1] !== d)) {
        throw new Error(`batch input "${n}" is ${t.dtype} [${t.shape}]; the model takes ${want}`);
      }
      if (b >= 0 && t.shape[0] !== b) throw new Error(`batch inputs disagree on the batch size: "${n}" has ${t.shape[0]}, others ${b}`);
      b = t.shape[0];
      feeds[n] = toOrt(t);
    }
    if (b < 1) throw new Error('batch is empty');
    return { feeds, b };
  }

  /** Model outputs in eval mode: `output` (one output) or `output_<key>`, each [b, …]. */
  async predict(batch: Record<string, Tensor>): Promise<Record<string, Tensor>> {
    const { feeds, b } = this.feeds(batch, this.modelInputs);
    const c = await this.session('predict', b);
    const out = await c.session.run(feeds);
    return Object.fromEntries(c.outputs.map((n) => [n, fromOrt(out[n])]));
  }

  /** Loss and metrics of a batch (inputs and loss targets) in eval mode. */
  async evaluate(batch: Record<string, Tensor>): Promise<Record<string, number>> {
    const names = [...this.modelInputs, ...(this.options.loss?.targets ?? []).filter((t) => !this.modelInputs.includes(t))];
    const { feeds, b } = this.feeds(batch, names);
    const c = await this.session('eval', b);
    const out = await c.session.run(feeds);
    return Object.fromEntries(c.outputs.map((n) => [n, Number((out[n].data as Float32Array)[0])]));
  }

  /** The inference model as ONNX bytes (weights inside; dynamic batch when possible, else `batchSize`, default 1). */
  toOnnx(opts: { batchSize?: number; metadata?: Record<string, string>; docString?: string } = {}): OnnxExport {
    const dynamic = this.isBatchIndependent();
    const b = opts.batchSize ?? 1;
    const { g, outputs } = this.graph(b, false);
    const bytes = encodeModel(g, { batchDim: dynamic ? 'batch' : undefined, metadata: opts.metadata, docString: opts.docString });
    return { bytes, dynamicBatch: dynamic, batchSize: b, inputs: [...this.modelInputs], outputs };
  }

  async exportOnnx(path: string, opts: Parameters<InferenceEngine['toOnnx']>[0] = {}): Promise<OnnxExport> {
    const r = this.toOnnx(opts);
    await writeFile(path, r.bytes);
    return r;
  }

  private async dropSessions(): Promise<void> {
    for (const c of this.sessions.values()) await c.session.release();
    this.sessions.clear();
  }

  async release(): Promise<void> {
    await this.dropSessions();
    await this.backend.release();
  }
}

/** Nodes and small constants of a graph (what would differ if the batch size were baked in). */
function signature(g: Graph): string {
  const attrs = (a: Record<string, unknown>) => JSON.stringify(a, (_k, v) => (ArrayBuffer.isView(v) ? Array.from(v as unknown as ArrayLike<number | bigint>, String) : v));
  const nodes = g.nodes.map((n) => `${n.op}(${n.inputs.join(',')})->${n.outputs.join(',')}${attrs(n.attrs)}`);
  const consts = [...g.initializers.values()].map((t) => `${t.name}[${t.shape}]${numel(t.shape) <= 64 ? Array.from(t.data as ArrayLike<number | bigint>, String).join(',') : ''}`);
  return [...nodes, ...consts].join('\n');
}
