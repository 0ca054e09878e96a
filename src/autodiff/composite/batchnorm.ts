// Training-mode batch normalisation built from differentiable standard ops (ReduceMean, Sub, Mul,
// Sqrt, Div, Add, Reshape), so its gradient comes from those ops' rules and the whole step stays
// one standard-op graph. ONNX's BatchNormalization(training_mode=1) is not used: onnxruntime's
// CPU EP has no gradient for it and its momentum is the reverse of PyTorch's.
import type { Graph } from '../../onnx/graph.js';
import { numel } from '../../tensor.js';

export interface BatchNormOptions {
  /** PyTorch convention: running = (1 − momentum)·running + momentum·batch. Default 0.1. */
  momentum?: number;
  /** Added to the variance before the square root. Default 1e-5. */
  eps?: number;
  /** Name prefix for the emitted nodes (the module path, e.g. `backbone.bn1`). */
  scope?: string;
}

export interface BatchNormTrainingResult {
  /** Normalised output, same shape as x. */
  y: string;
  /** Updated running mean, shape [C]. */
  newRunningMean: string;
  /** Updated running variance (unbiased batch variance, as PyTorch), shape [C]. */
  newRunningVar: string;
}

/**
 * y = (x − mean_b) / sqrt(var_b + eps) · gamma + beta over axes (0, 2, 3, …) of x [N, C, …], with
 * the biased batch variance var_b; running statistics use the unbiased variance var_b·n/(n−1),
 * n = N·(spatial size). `gamma`/`beta` may be undefined (affine=False). Running statistics are
 * outputs only, so no gradient flows into them.
 */
export function batchNormTraining(
  g: Graph,
  x: string,
  gamma: string | undefined,
  beta: string | undefined,
  runningMean: string,
  runningVar: string,
  opts: BatchNormOptions = {},
): BatchNormTrainingResult {
  const scope = opts.scope ?? 'batchnorm';
  const momentum = opts.momentum ?? 0.1, eps = opts.eps ?? 1e-5;
  const xs = g.shape(x), dt = g.dtype(x);
  if (xs.length < 2) throw new Error(`${scope}: batch norm needs input [N, C, …], got [${xs}]`);
  const C = xs[1];
  for (const [label, v] of [['gamma', gamma], ['beta', beta], ['running mean', runningMean], ['running var', runningVar]] as const) {
    if (v !== undefined && (g.shape(v).length !== 1 || g.shape(v)[0] !== C)) {
      throw new Error(`${scope}: ${label} has shape [${g.shape(v)}] but input [${xs}] has ${C} channels (expected [${C}])`);
    }
  }
  const n = numel(xs) / C;
  if (n < 2) throw new Error(`${scope}: batch norm in training needs more than one value per channel, input is [${xs}]`);
  const axes = [0, ...xs.slice(2).map((_, i) => i + 2)];
  const chan = [1, C, ...xs.slice(2).map(() => 1)];
  const op = (type: string, inputs: string[], attrs = {}) => g.op(type, inputs, attrs, { scope });
  const c = (v: number) => g.constant(v, dt);

  const mean = op('ReduceMean', [x], { axes, keepdims: 1 });
  const xc = op('Sub', [x, mean]);
  const variance = op('ReduceMean', [op('Mul', [xc, xc])], { axes, keepdims: 1 });
  let y = op('Div', [xc, op('Sqrt', [op('Add', [variance, c(eps)])])]);
  if (gamma) y = op('Mul', [y, op('Reshape', [gamma, g.ints(chan)])]);
  if (beta) y = op('Add', [y, op('Reshape', [beta, g.ints(chan)])]);

  const flat = (v: string) => op('Reshape', [v, g.ints([C])]);
  const blend = (running: string, batch: string, factor: number) =>
    op('Add', [op('Mul', [running, c(1 - momentum)]), op('Mul', [flat(batch), c(momentum * factor)])]);
  return { y, newRunningMean: blend(runningMean, mean, 1), newRunningVar: blend(runningVar, variance, n / (n - 1)) };
}
