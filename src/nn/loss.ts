// Losses and metrics as graph builders, each a scalar `loss` plus extra scalar metrics. Formulas
// and reductions follow torch.nn.functional (mean reduction).
import { DataType, ONNX_DTYPE } from '../onnx/dtypes.js';
import type { Graph } from '../onnx/graph.js';
import { numel } from '../tensor.js';

/** What a loss sees: the model's output(s) and the batch's target values (graph value names). */
export interface LossInputs {
  g: Graph;
  outputs: string | Record<string, string>;
  batch: Record<string, string>;
}

export interface LossResult {
  loss: string;
  /** Extra scalar metrics (accuracy, parts), by metric name. */
  metrics: Record<string, string>;
}

export interface Loss {
  /** Batch inputs this loss reads (the engine does not feed them to the model). */
  readonly targets: string[];
  build(inp: LossInputs): LossResult;
}

function pickOutput(outputs: string | Record<string, string>, key: string | undefined, who: string): string {
  if (typeof outputs === 'string') {
    if (key) throw new Error(`${who}: output "${key}" requested but the model returns a single tensor`);
    return outputs;
  }
  if (!key) throw new Error(`${who}: the model returns outputs {${Object.keys(outputs)}}; pass { output: '<name>' }`);
  const v = outputs[key];
  if (!v) throw new Error(`${who}: model has no output "${key}" (it has ${Object.keys(outputs).join(', ')})`);
  return v;
}

function target(batch: Record<string, string>, name: string, who: string): string {
  const v = batch[name];
  if (!v) throw new Error(`${who}: batch has no input "${name}" (declare it in the engine's inputs spec)`);
  return v;
}

const scalar = (g: Graph, x: string) => g.op('ReduceSum', [x], { keepdims: 0 }, { scope: 'loss' });

/** Mean of all elements of `x`, or Σ(x·w)/max(Σw, 1) with weights `w` (broadcast to x). */
function weightedMean(g: Graph, x: string, w?: string): string {
  const dt = g.dtype(x);
  if (!w) return g.op('Mul', [scalar(g, x), g.constant(1 / numel(g.shape(x)), dt)], {}, { scope: 'loss' });
  const total = scalar(g, g.op('Mul', [x, w], {}, { scope: 'loss' }));
  const count = scalar(g, g.op('Expand', [w, g.ints(g.shape(x))], {}, { scope: 'loss' }));
  return g.op('Div', [total, g.op('Max', [count, g.constant(1, dt)], {}, { scope: 'loss' })], {}, { scope: 'loss' });
}

export interface CrossEntropyOptions {
  /** Batch input with class indices [N] (int64). Default 'y'. */
  target?: string;
  /** Model output key for multi-output models. */
  output?: string;
  labelSmoothing?: number;
  /** Samples with this target are excluded (loss is the mean over the others; 0 when all are ignored). */
  ignoreIndex?: number;
  /** Emit an `accuracy` metric (default true). */
  accuracy?: boolean;
  /** How the target's log-probability is picked: GatherElements (default) or a OneHot product (for benchmarks). */
  pick?: 'gather' | 'onehot';
}

/**
 * Cross-entropy on logits [N, C] and class indices [N]:
 * loss = (1-ε)·mean_i(-log p[i, y_i]) + ε·mean_i(-Σ_c log p[i, c] / C), p = softmax.
 * The picked log-probability is a GatherElements, not a OneHot product (no N×C one-hot tensor).
 */
export function crossEntropy(opts: CrossEntropyOptions = {}): Loss {
  const t = opts.target ?? 'y';
  const eps = opts.labelSmoothing ?? 0;
  if (eps < 0 || eps > 1) throw new Error(`crossEntropy: labelSmoothing must be in [0, 1], got ${eps}`);
  return {
    targets: [t],
    build({ g, outputs, batch }) {
      const who = 'crossEntropy';
      const logits = pickOutput(outputs, opts.output, who);
      let y = target(batch, t, who);
      const [n, c] = g.shape(logits);
      if (g.shape(logits).length !== 2) throw new Error(`${who}: logits must be [N, C], got [${g.shape(logits)}]`);
      if (g.shape(y).length !== 1 || g.shape(y)[0] !== n) throw new Error(`${who}: target "${t}" must be [${n}] class indices, got [${g.shape(y)}]`);
      if (g.dtype(y) !== 'int64') y = g.op('Cast', [y], { to: DataType.INT64 }, { scope: 'loss' });
      const dt = g.dtype(logits);
      let mask: string | undefined;
      if (opts.ignoreIndex !== undefined) {
        const ignored = g.op('Equal', [y, g.constant(opts.ignoreIndex, 'int64')], {}, { scope: 'loss' });
        y = g.op('Where', [ignored, g.constant(0, 'int64'), y], {}, { scope: 'loss' });
        mask = g.op('Reshape', [g.op('Cast', [g.op('Not', [ignored], {}, { scope: 'loss' })], { to: ONNX_DTYPE[dt] }, { scope: 'loss' }), g.ints([n, 1])], {}, { scope: 'loss' });
      }
      const logp = g.op('LogSoftmax', [logits], { axis: 1 }, { scope: 'loss' });
      const picked = opts.pick === 'onehot'
        ? g.op('ReduceSum', [g.op('Mul', [logp, g.op('OneHot', [y, g.constant(c, 'int64', []), g.constant([0, 1], dt)], { axis: 1 }, { scope: 'loss' })], {}, { scope: 'loss' }), g.ints([1])], { keepdims: 1 }, { scope: 'loss' })
        : g.op('GatherElements', [logp, g.op('Reshape', [y, g.ints([n, 1])], {}, { scope: 'loss' })], { axis: 1 }, { scope: 'loss' });
      let nll = g.op('Neg', [weightedMean(g, picked, mask)], {}, { scope: 'loss' });
      if (eps > 0) {
        const rowSum = g.op('ReduceSum', [logp, g.ints([1])], { keepdims: 1 }, { scope: 'loss' });
        const smooth = g.op('Mul', [weightedMean(g, rowSum, mask), g.constant(-eps / c, dt)], {}, { scope: 'loss' });
        nll = g.op('Add', [g.op('Mul', [nll, g.constant(1 - eps, dt)], {}, { scope: 'loss' }), smooth], {}, { scope: 'loss' });
      }
      const metrics: Record<string, string> = {};
      if (opts.accuracy ?? true) {
        const pred = g.op('ArgMax', [logits], { axis: 1, keepdims: 1 }, { scope: 'metric' });
        const hit = g.op('Cast', [g.op('Equal', [pred, g.op('Reshape', [y, g.ints([n, 1])], {}, { scope: 'metric' })], {}, { scope: 'metric' })], { to: ONNX_DTYPE[dt] }, { scope: 'metric' });
        metrics.accuracy = weightedMean(g, hit, mask);
      }
      return { loss: nll, metrics };
    },
  };
}

export interface RegressionOptions {
  target?: string;
  output?: string;
  /** Batch input of weights broadcastable to the prediction (e.g. positive-anchor mask [N, A, 1]); mean = Σ(l·w)/max(Σw, 1). */
  weight?: string;
}

/** Elementwise loss term(prediction, target) of equal shapes (target cast to the prediction's dtype), weighted mean. */
function elementwiseLoss(name: string, opts: RegressionOptions, term: (g: Graph, p: string, y: string) => string, what = 'prediction'): Loss {
  const t = opts.target ?? 'y';
  return {
    targets: opts.weight ? [t, opts.weight] : [t],
    build({ g, outputs, batch }) {
      const p = pickOutput(outputs, opts.output, name);
      let y = target(batch, t, name);
      const ps = g.shape(p), ys = g.shape(y);
      if (ps.length !== ys.length || ps.some((d, i) => d !== ys[i])) throw new Error(`${name}: ${what} [${ps}] and target "${t}" [${ys}] differ in shape`);
      if (g.dtype(y) !== g.dtype(p)) y = g.op('Cast', [y], { to: ONNX_DTYPE[g.dtype(p)] }, { scope: 'loss' });
      const w = opts.weight ? target(batch, opts.weight, name) : undefined;
      return { loss: weightedMean(g, term(g, p, y), w), metrics: {} };
    },
  };
}

/** A loss of the difference prediction − target. */
function regression(name: string, opts: RegressionOptions, elementwise: (g: Graph, d: string) => string): Loss {
  return elementwiseLoss(name, opts, (g, p, y) => elementwise(g, g.op('Sub', [p, y], {}, { scope: 'loss' })));
}

function abs(g: Graph, d: string): string {
  const neg = g.op('Less', [d, g.constant(0, g.dtype(d))], {}, { scope: 'loss' });
  return g.op('Where', [neg, g.op('Neg', [d], {}, { scope: 'loss' }), d], {}, { scope: 'loss' });
}

/** MSE: mean((p - y)²). */
export function mse(opts: RegressionOptions = {}): Loss {
  return regression('mse', opts, (g, d) => g.op('Mul', [d, d], {}, { scope: 'loss' }));
}

/** Huber(δ): 0.5·d² where |d| < δ, else δ·(|d| - 0.5·δ); mean. */
export function huber(opts: RegressionOptions & { delta?: number } = {}): Loss {
  const delta = opts.delta ?? 1;
  return regression('huber', opts, (g, d) => huberTerm(g, d, delta, 1));
}

/** Smooth L1(β): 0.5·d²/β where |d| < β, else |d| - 0.5·β; mean (= Huber(β)/β). */
export function smoothL1(opts: RegressionOptions & { beta?: number } = {}): Loss {
  const beta = opts.beta ?? 1;
  if (beta <= 0) throw new Error('smoothL1: beta must be > 0 (beta 0 is plain L1)');
  return regression('smoothL1', opts, (g, d) => huberTerm(g, d, beta, 1 / beta));
}

function huberTerm(g: Graph, d: string, delta: number, scale: number): string {
  const dt = g.dtype(d), s = { scope: 'loss' };
  const a = abs(g, d);
  const quad = g.op('Mul', [g.op('Mul', [d, d], {}, s), g.constant(0.5 * scale, dt)], {}, s);
  const lin = g.op('Mul', [g.op('Sub', [a, g.constant(0.5 * delta, dt)], {}, s), g.constant(delta * scale, dt)], {}, s);
  return g.op('Where', [g.op('Less', [a, g.constant(delta, dt)], {}, s), quad, lin], {}, s);
}

/** BCE with logits: mean(max(x,0) - x·y + log(1 + exp(-|x|))), the stable form PyTorch uses. */
export function bceWithLogits(opts: RegressionOptions = {}): Loss {
  return elementwiseLoss('bceWithLogits', opts, (g, x, y) => {
    const dt = g.dtype(x), s = { scope: 'loss' };
    const softplus = g.op('Log', [g.op('Add', [g.op('Exp', [g.op('Neg', [abs(g, x)], {}, s)], {}, s), g.constant(1, dt)], {}, s)], {}, s);
    return g.op('Add', [g.op('Sub', [g.op('Relu', [x], {}, s), g.op('Mul', [x, y], {}, s)], {}, s), softplus], {}, s);
  }, 'logits');
}

/**
 * Weighted sum of named losses for multi-head models: loss = Σ wₖ·lossₖ. Metrics: `<k>_loss` for
 * each part and `<k>_<metric>` for its extra metrics.
 */
export function combineLosses(parts: Record<string, { loss: Loss; weight?: number }>): Loss {
  const entries = Object.entries(parts);
  if (!entries.length) throw new Error('combineLosses: no losses given');
  return {
    targets: [...new Set(entries.flatMap(([, p]) => p.loss.targets))],
    build(inp) {
      const { g } = inp;
      const metrics: Record<string, string> = {};
      let total: string | undefined;
      for (const [k, p] of entries) {
        const r = p.loss.build(inp);
        metrics[`${k}_loss`] = r.loss;
        for (const [m, v] of Object.entries(r.metrics)) metrics[`${k}_${m}`] = v;
        const w = p.weight ?? 1;
        const term = w === 1 ? r.loss : g.op('Mul', [r.loss, g.constant(w, g.dtype(r.loss))], {}, { scope: 'loss' });
        total = total ? g.op('Add', [total, term], {}, { scope: 'loss' }) : term;
      }
      return { loss: total!, metrics };
    },
  };
}
