// Normalisation layers. LayerNorm maps to LayerNormalization (opset 17); BatchNorm2d trains through
// the autodiff batch-norm composite (batch statistics, running stats as state outputs) and
// evaluates with BatchNormalization on the running statistics.
import type { Graph } from '../onnx/graph.js';
import { numel } from '../tensor.js';
import { ones, zeros } from './init.js';
import { Module } from './module.js';
import type { ForwardContext } from './module.js';
import { batchNormTraining } from '../autodiff/composite/batchnorm.js';
import { dropout, dropoutState } from '../autodiff/composite/dropout.js';

export class LayerNorm extends Module {
  readonly shape: number[];
  constructor(normalizedShape: number | number[], readonly eps = 1e-5, readonly affine = true) {
    super();
    this.shape = typeof normalizedShape === 'number' ? [normalizedShape] : normalizedShape;
    if (affine) {
      this.addParam('weight', this.shape, ones);
      this.addParam('bias', this.shape, zeros);
    }
  }
  forward(g: Graph, x: string, ctx: ForwardContext): string {
    const s = g.shape(x);
    this.expectShape('input (trailing dims)', s.slice(-this.shape.length), this.shape);
    const scope = this.scope();
    const dt = g.dtype(x);
    const scale = this.affine ? this.paramValue(ctx, 'weight') : g.constant(new Float32Array(numel(this.shape)).fill(1), dt, this.shape);
    const bias = this.affine ? this.paramValue(ctx, 'bias') : g.constant(new Float32Array(numel(this.shape)), dt, this.shape);
    return g.op('LayerNormalization', [x, scale, bias], { axis: -this.shape.length, epsilon: this.eps }, { scope });
  }
}

export interface BatchNorm2dOptions {
  eps?: number;
  /** PyTorch convention: running = (1 − momentum)·running + momentum·batch. */
  momentum?: number;
  affine?: boolean;
}

/** BatchNorm over [N, C, …]; buffers `running_mean`, `running_var` (PyTorch names). A held layer (ForwardContext.holdsBatchNorm) trains in its eval form. */
export class BatchNorm2d extends Module {
  readonly eps: number;
  readonly momentum: number;
  readonly affine: boolean;
  constructor(readonly numFeatures: number, opts: BatchNorm2dOptions = {}) {
    super();
    this.eps = opts.eps ?? 1e-5;
    this.momentum = opts.momentum ?? 0.1;
    this.affine = opts.affine ?? true;
    if (this.affine) {
      this.addParam('weight', [numFeatures], ones);
      this.addParam('bias', [numFeatures], zeros);
    }
    this.addBuffer('running_mean', [numFeatures], zeros);
    this.addBuffer('running_var', [numFeatures], ones);
  }

  forward(g: Graph, x: string, ctx: ForwardContext): string {
    const s = g.shape(x);
    if (s.length < 2 || s[1] !== this.numFeatures) this.expectShape('input', s, [-1, this.numFeatures, ...s.slice(2).map(() => -1)]);
    const scope = this.scope();
    const gamma = this.affine ? this.paramValue(ctx, 'weight') : undefined;
    const beta = this.affine ? this.paramValue(ctx, 'bias') : undefined;
    const rm = this.buf(ctx, 'running_mean'), rv = this.buf(ctx, 'running_var');
    if (ctx.training && !ctx.holdsBatchNorm?.(this.path)) {
      const r = batchNormTraining(g, x, gamma, beta, rm, rv, { momentum: this.momentum, eps: this.eps, scope });
      this.setBuf(ctx, 'running_mean', r.newRunningMean);
      this.setBuf(ctx, 'running_var', r.newRunningVar);
      return r.y;
    }
    const dt = g.dtype(x), c = this.numFeatures;
    const scale = gamma ?? g.constant(new Float32Array(c).fill(1), dt, [c]);
    const bias = beta ?? g.constant(new Float32Array(c), dt, [c]);
    return g.node('BatchNormalization', [x, scale, bias, rm, rv], { epsilon: this.eps }, { scope, outputs: 1 })[0];
  }
}

/** Dropout with its own counter-based RNG state `rng.<path>` (int64 [seed, counter]); identity in eval. */
export class Dropout extends Module {
  constructor(readonly p = 0.5) {
    super();
    if (!(p >= 0 && p < 1)) throw new Error(`Dropout: p must be in [0, 1), got ${p}`);
    this.addRng('state', [2], (_shape, rng) => dropoutState(rng.nextU32() & 0x7fffffff), 'int64');
  }
  forward(g: Graph, x: string, ctx: ForwardContext): string {
    if (!ctx.training || this.p === 0) return x;
    const r = dropout(g, x, this.p, this.rngState(ctx, 'state'), { scope: this.scope() });
    this.setRngState(ctx, 'state', r.newRngState);
    return r.y;
  }
}
