// Builds the engine's graphs from model + loss + optimizer for one fixed batch size:
// - train step: forward + loss + backward + optimizer update in ONE graph. Inputs: batch tensors,
//   every state tensor (`param.…`, `opt.<slot>.…`, `opt.step`, `buffer.…`, `rng.…`), `lr.<group>`,
//   and the optimizer's per-step scalars `hp.<group>.<name>` (computed on the host in float64).
//   Outputs: metrics (`loss`, …) and `<state>_new` for each state it changes.
// - eval: forward (eval mode) + loss metrics; predict: forward only.
import { gradients } from '../autodiff/backward.js';
import type { Loss } from '../nn/loss.js';
import type { ForwardContext, Module, NamedDecl } from '../nn/module.js';
import { selectNames } from '../nn/select.js';
import { Graph } from '../onnx/graph.js';
import type { Node } from '../onnx/graph.js';
import { emitOptimizerUpdate, planOptimizer } from '../optim/apply.js';
import type { OptimizerPlan } from '../optim/apply.js';
import type { Optimizer, ParamGroup } from '../optim/optimizer.js';
import { clipGradNorm, gradNorm } from '../optim/optimizer.js';
import type { DType, NamedTensor } from '../tensor.js';
import type { StateDecl } from './state.js';
import { poolBeforeRelu } from './forward-rewrites.js';

export interface InputSpec {
  /** Per-sample shape (without the batch dimension). */
  shape: number[];
  dtype?: DType;
}

export type ModelOutputs = string | Record<string, string>;
/** The engine's model: one input (string) or several (record by input name) → one or several outputs. */
export type AnyModule = Module<any, any>;

export interface GraphSpec {
  model: AnyModule;
  loss: Loss;
  optimizer: Optimizer;
  inputs: Record<string, InputSpec>;
  /** Parameters not trained (glob or prefix patterns), e.g. `backbone.*`. */
  frozen?: string | string[];
  groups?: ParamGroup[];
  /** Clip gradients to this global L2 norm. */
  clipGradNorm?: number;
  /** Emit `grad_norm` (pre-clip) as a metric (default: when clipping). */
  gradNormMetric?: boolean;
  /**
   * Module paths (prefixes such as a frozen group `backbone`) whose BatchNorm layers normalise with
   * their running statistics and keep them in the train step, as PyTorch's `backbone.eval()`.
   */
  heldBatchNorm?: string[];
  /**
   * Batch inputs fed to the model (default: every input the loss does not read). May overlap the
   * loss targets (an autoencoder reads `x` and reconstructs it); other declared inputs are ignored.
   */
  modelInputs?: string[];
}

export interface StatePlan {
  decls: StateDecl[];
  params: NamedDecl[];
  buffers: NamedDecl[];
  rngs: NamedDecl[];
  trainable: string[];
  optimizer: OptimizerPlan;
  modelInputs: string[];
  targetInputs: string[];
  /** Graph inputs of the train/eval graphs: model inputs ∪ targets, in declaration order. */
  batchInputs: string[];
}

const NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function planState(spec: GraphSpec): StatePlan {
  const params = spec.model.parameters();
  const buffers = spec.model.buffers();
  const rngs = spec.model.rngStates();
  const names = params.map((p) => p.name);
  if (new Set(names).size !== names.length) throw new Error('two parameters share a name; give sibling modules distinct names');
  for (const p of params) if (p.dtype !== 'float32') throw new Error(`${p.module.label()}: parameter ${p.name} is ${p.dtype}; the engine trains float32 parameters`);
  const frozen = spec.frozen ? new Set(selectNames(spec.frozen, names, 'frozen pattern')) : new Set<string>();
  const trainable = names.filter((n) => !frozen.has(n));
  if (!trainable.length) throw new Error('every parameter is frozen: nothing to train');
  const optimizer = planOptimizer(spec.optimizer, params.filter((p) => !frozen.has(p.name)), spec.groups);
  const inputNames = Object.keys(spec.inputs);
  if (!inputNames.length) throw new Error('inputs: declare at least one batch input, e.g. { x: { shape: [784] }, y: { shape: [], dtype: "int64" } }');
  for (const n of inputNames) if (!NAME_RE.test(n)) throw new Error(`input name "${n}" must be an identifier (letters, digits, _)`);
  for (const t of spec.loss.targets) if (!spec.inputs[t]) throw new Error(`the loss reads batch input "${t}" but inputs declares only ${inputNames.join(', ')}`);
  const targetInputs = inputNames.filter((n) => spec.loss.targets.includes(n));
  for (const n of spec.modelInputs ?? []) if (!spec.inputs[n]) throw new Error(`modelInputs: "${n}" is not declared in inputs (${inputNames.join(', ')})`);
  const modelInputs = spec.modelInputs ? inputNames.filter((n) => spec.modelInputs!.includes(n)) : inputNames.filter((n) => !targetInputs.includes(n));
  if (!modelInputs.length) throw new Error('every input is a loss target: the model has no input (name them with modelInputs)');
  const batchInputs = inputNames.filter((n) => modelInputs.includes(n) || targetInputs.includes(n));
  const decls: StateDecl[] = [
    ...params.map((p) => ({ name: `param.${p.name}`, role: 'param' as const, dtype: p.dtype, shape: p.shape })),
    ...optimizer.slots.map((s) => ({ name: s.name, role: 'opt' as const, dtype: s.dtype, shape: s.shape })),
    { name: 'opt.step', role: 'opt', dtype: 'float32', shape: [] },
    ...buffers.map((b) => ({ name: `buffer.${b.name}`, role: 'buffer' as const, dtype: b.dtype, shape: b.shape })),
    ...rngs.map((r) => ({ name: `rng.${r.name}`, role: 'rng' as const, dtype: r.dtype, shape: r.shape })),
  ];
  return { decls, params, buffers, rngs, trainable, optimizer, modelInputs, targetInputs, batchInputs };
}

class Ctx implements ForwardContext {
  readonly bufferUpdates = new Map<string, string>();
  readonly rngUpdates = new Map<string, string>();
  constructor(readonly training: boolean, private readonly held: readonly string[] = []) {}
  holdsBatchNorm(path: string) { return this.held.some((p) => path === p || path.startsWith(`${p}.`)); }
  param(n: string) { return `param.${n}`; }
  buffer(n: string) { return `buffer.${n}`; }
  updateBuffer(n: string, v: string) {
    if (!this.training) throw new Error(`buffer ${n} updated in eval mode`);
    this.bufferUpdates.set(n, v);
  }
  rng(n: string) {
    if (!this.training) throw new Error(`RNG state ${n} requested in eval mode`);
    return `rng.${n}`;
  }
  updateRng(n: string, v: string) { this.rngUpdates.set(n, v); }
}

/** Makes the graph value of batch input `name` (default: a graph input [b, ...shape]); see device-data.ts. */
export type BatchSource = (g: Graph, name: string, batchSize: number) => string;

function addBatchInputs(g: Graph, spec: GraphSpec, names: string[], batchSize: number, source?: BatchSource): Record<string, string> {
  const out: Record<string, string> = {};
  for (const n of names) {
    const s = spec.inputs[n];
    out[n] = source ? source(g, n, batchSize) : g.input(n, s.dtype ?? 'float32', [batchSize, ...s.shape]);
  }
  return out;
}

function runModel(g: Graph, spec: GraphSpec, plan: StatePlan, batch: Record<string, string>, ctx: ForwardContext): ModelOutputs {
  const x = plan.modelInputs.length === 1 ? batch[plan.modelInputs[0]] : Object.fromEntries(plan.modelInputs.map((n) => [n, batch[n]]));
  const out = spec.model.forward(g, x, ctx) as ModelOutputs;
  if (typeof out !== 'string' && (typeof out !== 'object' || out === null)) throw new Error(`${spec.model.label()}.forward must return a graph value or a record of them`);
  return out;
}

function addMetricOutputs(g: Graph, loss: string, metrics: Record<string, string>): string[] {
  const names = ['loss', ...Object.keys(metrics)];
  for (const n of names) if (!NAME_RE.test(n)) throw new Error(`metric name "${n}" must be an identifier`);
  g.output(loss, 'loss');
  for (const [k, v] of Object.entries(metrics)) {
    if (g.shape(v).length !== 0) throw new Error(`metric "${k}" must be a scalar, got [${g.shape(v)}]`);
    g.output(v, k);
  }
  return names;
}

/**
 * Renames a value to its graph-output name instead of copying it through the Identity that
 * Graph.output() adds (each Identity copies a whole parameter-sized tensor every step).
 */
export function elideOutputIdentities(g: Graph): number {
  const outputs = new Set(g.outputs);
  const protectedValues = new Set([...g.inputs, ...g.initializers.keys(), ...g.outputs]);
  const renamed = new Map<string, string>();
  const keep = g.nodes.filter((n) => {
    if (n.op !== 'Identity' || !outputs.has(n.outputs[0])) return true;
    const v = n.inputs[0];
    if (protectedValues.has(v) || renamed.has(v)) return true;
    renamed.set(v, n.outputs[0]);
    return false;
  });
  if (!renamed.size) return 0;
  for (const n of keep) {
    n.inputs = n.inputs.map((i) => renamed.get(i) ?? i);
    n.outputs = n.outputs.map((o) => renamed.get(o) ?? o);
  }
  g.nodes.splice(0, g.nodes.length, ...keep);
  return renamed.size;
}

/** Ops whose outputs after the first are optional. */
const OPTIONAL_OUTPUTS = new Set(['MaxPool', 'LayerNormalization']);

/**
 * Drops nodes whose outputs reach no graph output, and the initializers only they read:
 * onnxruntime runs every node it is given (e.g. the keep-mask dropout() returns for tests would
 * cost an x-sized Where every step). Graph inputs stay, so feeds do not change.
 */
export function pruneDeadNodes(g: Graph): number {
  const live = new Set(g.outputs);
  const keep: Node[] = [];
  for (let k = g.nodes.length - 1; k >= 0; k--) {
    const n = g.nodes[k];
    if (!n.outputs.some((o) => live.has(o))) continue;
    keep.push(n);
    for (const i of n.inputs) if (i) live.add(i);
  }
  const removed = g.nodes.length - keep.length;
  if (removed) g.nodes.splice(0, g.nodes.length, ...keep.reverse());
  // Optional trailing outputs nothing reads are not computed (e.g. the Indices of a frozen MaxPool).
  for (const n of g.nodes) {
    if (!OPTIONAL_OUTPUTS.has(n.op)) continue;
    while (n.outputs.length > 1 && !live.has(n.outputs[n.outputs.length - 1])) n.outputs.pop();
  }
  for (const name of [...g.initializers.keys()]) if (!live.has(name)) g.initializers.delete(name);
  return removed;
}

export interface TrainGraph {
  graph: Graph;
  metrics: string[];
  /** State names this step changes (each has an output `<name>_new`). */
  updated: string[];
}

export function buildTrainGraph(spec: GraphSpec, plan: StatePlan, batchSize: number, source?: BatchSource): TrainGraph {
  const g = new Graph('train_step');
  const batch = addBatchInputs(g, spec, plan.batchInputs, batchSize, source);
  for (const d of plan.decls) g.input(d.name, d.dtype, d.shape);
  for (const gr of plan.optimizer.groups) g.input(`lr.${gr.name}`, 'float32', []);
  for (const h of plan.optimizer.hostScalars) g.input(h.name, 'float32', []);
  const ctx = new Ctx(true, spec.heldBatchNorm);
  const outputs = runModel(g, spec, plan, batch, ctx);
  const { loss, metrics } = spec.loss.build({ g, outputs, batch });
  if (g.shape(loss).length !== 0) throw new Error(`the loss must be a scalar, got [${g.shape(loss)}]`);
  poolBeforeRelu(g);
  // A parameter no gradient reaches is not updated at all (PyTorch skips `grad is None`).
  let grads = gradients(g, loss, plan.trainable.map((n) => `param.${n}`), { unreached: 'omit' });
  if (!grads.size) throw new Error('the loss depends on no trainable parameter: check the model outputs the loss reads and the frozen patterns');
  const extra: Record<string, string> = { ...metrics };
  if (spec.clipGradNorm !== undefined) {
    const c = clipGradNorm(g, grads, spec.clipGradNorm);
    grads = c.grads;
    if (spec.gradNormMetric ?? true) extra.grad_norm = c.norm;
  } else if (spec.gradNormMetric) extra.grad_norm = gradNorm(g, grads);
  const metricNames = addMetricOutputs(g, loss, extra);
  const t = g.op('Add', ['opt.step', g.constant(1)], {}, { scope: 'step' });
  const upd = emitOptimizerUpdate(g, spec.optimizer, plan.optimizer, {
    param: (n) => `param.${n}`, grad: (n) => grads.get(`param.${n}`), slot: (n) => n, lr: (gr) => `lr.${gr}`, t,
  });
  upd.set('opt.step', t);
  for (const [n, v] of ctx.bufferUpdates) upd.set(`buffer.${n}`, v);
  for (const [n, v] of ctx.rngUpdates) upd.set(`rng.${n}`, v);
  for (const [n, v] of upd) g.output(v, `${n}_new`);
  elideOutputIdentities(g);
  pruneDeadNodes(g);
  return { graph: g, metrics: metricNames, updated: [...upd.keys()] };
}

export interface EvalGraph {
  graph: Graph;
  metrics: string[];
  /** Model outputs exposed by the graph (`output` or `output_<key>`). */
  outputs: string[];
  /** State names the graph reads. */
  state: string[];
  inputs: string[];
}

/**
 * Eval-mode forward. `withLoss`: targets are inputs and loss metrics are outputs; else only the
 * model outputs. `initializers`: parameters/buffers are baked in (inference export).
 */
export function buildEvalGraph(spec: GraphSpec, plan: StatePlan, batchSize: number, opts: { withLoss: boolean; initializers?: Map<string, NamedTensor>; source?: BatchSource }): EvalGraph {
  const g = new Graph(opts.withLoss ? 'eval' : 'inference');
  const names = opts.withLoss ? plan.batchInputs : plan.modelInputs;
  const batch = addBatchInputs(g, spec, names, batchSize, opts.source);
  const state = plan.decls.filter((d) => d.role === 'param' || d.role === 'buffer');
  for (const d of state) {
    const t = opts.initializers?.get(d.name);
    if (opts.initializers && !t) throw new Error(`no value for ${d.name}`);
    if (t) g.initializer({ ...t, name: d.name });
    else g.input(d.name, d.dtype, d.shape);
  }
  const ctx = new Ctx(false);
  const outputs = runModel(g, spec, plan, batch, ctx);
  let metrics: string[] = [];
  const outNames: string[] = [];
  if (opts.withLoss) {
    const r = spec.loss.build({ g, outputs, batch });
    metrics = addMetricOutputs(g, r.loss, r.metrics);
  } else if (typeof outputs === 'string') outNames.push(g.output(outputs, 'output'));
  else for (const [k, v] of Object.entries(outputs)) outNames.push(g.output(v, `output_${k}`));
  poolBeforeRelu(g);
  pruneDeadNodes(g);
  return { graph: g, metrics, outputs: outNames, state: opts.initializers ? [] : state.map((d) => d.name), inputs: names };
}
