// Core layers: Linear, Conv2d, Embedding, Flatten, Sequential, activations and pooling. Weight
// layouts follow PyTorch (Linear [out, in], Conv [out, in/groups, kh, kw]) so state dicts map by name.
import type { Graph } from '../onnx/graph.js';
import { biasInit, fans, kaimingUniform, normalInit } from './init.js';
import { Module } from './module.js';
import type { ForwardContext, Initializer } from './module.js';

export interface LinearOptions {
  bias?: boolean;
  weightInit?: Initializer;
  biasInit?: Initializer;
  /** 2-D inputs: one Gemm with the bias fused (default true); false emits MatMul + Add (for benchmarks). */
  gemm?: boolean;
}

export class Linear extends Module {
  readonly bias: boolean;
  private readonly gemm: boolean;
  constructor(readonly inFeatures: number, readonly outFeatures: number, opts: LinearOptions = {}) {
    super();
    this.bias = opts.bias ?? true;
    this.gemm = opts.gemm ?? true;
    this.addParam('weight', [outFeatures, inFeatures], opts.weightInit ?? kaimingUniform());
    if (this.bias) this.addParam('bias', [outFeatures], opts.biasInit ?? biasInit(inFeatures));
  }

  forward(g: Graph, x: string, ctx: ForwardContext): string {
    const s = g.shape(x);
    this.expectShape('input', s.slice(-1), [this.inFeatures]);
    const w = this.paramValue(ctx, 'weight');
    const scope = this.scope();
    // 2-D input: one Gemm with the bias fused (ORT runs it as a single sgemm).
    if (s.length === 2 && this.gemm) return g.op('Gemm', this.bias ? [x, w, this.paramValue(ctx, 'bias')] : [x, w], { transB: 1 }, { scope });
    const y = g.op('MatMul', [x, g.op('Transpose', [w], { perm: [1, 0] }, { scope })], {}, { scope });
    return this.bias ? g.op('Add', [y, this.paramValue(ctx, 'bias')], {}, { scope }) : y;
  }
}

const pair = (v: number | [number, number]): [number, number] => (typeof v === 'number' ? [v, v] : v);

export interface Conv2dOptions {
  stride?: number | [number, number];
  padding?: number | [number, number];
  dilation?: number | [number, number];
  groups?: number;
  bias?: boolean;
  weightInit?: Initializer;
}

export class Conv2d extends Module {
  readonly kernel: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly dilation: [number, number];
  readonly groups: number;
  readonly bias: boolean;
  constructor(readonly inChannels: number, readonly outChannels: number, kernel: number | [number, number], opts: Conv2dOptions = {}) {
    super();
    this.kernel = pair(kernel);
    this.stride = pair(opts.stride ?? 1);
    this.padding = pair(opts.padding ?? 0);
    this.dilation = pair(opts.dilation ?? 1);
    this.groups = opts.groups ?? 1;
    this.bias = opts.bias ?? true;
    if (inChannels % this.groups || outChannels % this.groups) throw new Error(`Conv2d: channels ${inChannels}→${outChannels} are not divisible by groups ${this.groups}`);
    const wShape = [outChannels, inChannels / this.groups, ...this.kernel];
    this.addParam('weight', wShape, opts.weightInit ?? kaimingUniform());
    if (this.bias) this.addParam('bias', [outChannels], biasInit(fans(wShape).fanIn));
  }

  forward(g: Graph, x: string, ctx: ForwardContext): string {
    this.expectShape('input', g.shape(x), [-1, this.inChannels, -1, -1]);
    const [ph, pw] = this.padding;
    const inputs = [x, this.paramValue(ctx, 'weight'), ...(this.bias ? [this.paramValue(ctx, 'bias')] : [])];
    return g.op('Conv', inputs, {
      kernel_shape: this.kernel, strides: this.stride, pads: [ph, pw, ph, pw], dilations: this.dilation, group: this.groups,
    }, { scope: this.scope() });
  }
}

export class Embedding extends Module {
  constructor(readonly numEmbeddings: number, readonly dim: number, init: Initializer = normalInit(1)) {
    super();
    this.addParam('weight', [numEmbeddings, dim], init);
  }
  forward(g: Graph, ids: string, ctx: ForwardContext): string {
    const dt = g.dtype(ids);
    if (dt !== 'int64' && dt !== 'int32') throw new Error(`${this.label()}: indices must be int64 or int32, got ${dt}`);
    return g.op('Gather', [this.paramValue(ctx, 'weight'), ids], { axis: 0 }, { scope: this.scope() });
  }
}

/** Flattens dims from `startDim` on (PyTorch nn.Flatten default start_dim=1). */
export class Flatten extends Module {
  constructor(readonly startDim = 1) {
    super();
  }
  forward(g: Graph, x: string): string {
    return g.op('Flatten', [x], { axis: this.startDim }, { scope: this.scope() });
  }
}

export class Sequential extends Module {
  readonly layers: Module[];
  constructor(...layers: (Module | Record<string, Module>)[]) {
    super();
    this.layers = [];
    let i = 0;
    for (const l of layers) {
      if (l instanceof Module) this.layers.push(this.add(String(i++), l));
      else for (const [n, m] of Object.entries(l)) this.layers.push(this.add(n, m));
    }
  }
  forward(g: Graph, x: string, ctx: ForwardContext): string {
    return this.layers.reduce((h, l) => l.forward(g, h, ctx), x);
  }
}

/** Elementwise activation with no parameters. */
abstract class Activation extends Module {
  protected abstract op(g: Graph, x: string, scope: string): string;
  forward(g: Graph, x: string): string {
    return this.op(g, x, this.scope());
  }
}

export class ReLU extends Activation {
  protected op(g: Graph, x: string, scope: string) { return g.op('Relu', [x], {}, { scope }); }
}
export class LeakyReLU extends Activation {
  constructor(readonly negativeSlope = 0.01) { super(); }
  protected op(g: Graph, x: string, scope: string) { return g.op('LeakyRelu', [x], { alpha: this.negativeSlope }, { scope }); }
}
export class Sigmoid extends Activation {
  protected op(g: Graph, x: string, scope: string) { return g.op('Sigmoid', [x], {}, { scope }); }
}
export class Tanh extends Activation {
  protected op(g: Graph, x: string, scope: string) { return g.op('Tanh', [x], {}, { scope }); }
}
/** GELU, exact (erf) form: 0.5·x·(1 + erf(x/√2)), built from Erf/Mul/Add (Gelu is opset 20). */
export class GELU extends Activation {
  protected op(g: Graph, x: string, scope: string) {
    const dt = g.dtype(x);
    const e = g.op('Erf', [g.op('Mul', [x, g.constant(Math.SQRT1_2, dt)], {}, { scope })], {}, { scope });
    const onePlus = g.op('Add', [e, g.constant(1, dt)], {}, { scope });
    return g.op('Mul', [g.op('Mul', [x, g.constant(0.5, dt)], {}, { scope }), onePlus], {}, { scope });
  }
}

export interface Pool2dOptions {
  stride?: number | [number, number];
  padding?: number | [number, number];
}

function poolAttrs(kernel: [number, number], opts: Pool2dOptions) {
  const [ph, pw] = pair(opts.padding ?? 0);
  return { kernel_shape: kernel, strides: pair(opts.stride ?? kernel), pads: [ph, pw, ph, pw] };
}

export class MaxPool2d extends Module {
  readonly kernel: [number, number];
  constructor(kernel: number | [number, number], readonly opts: Pool2dOptions = {}) {
    super();
    this.kernel = pair(kernel);
  }
  forward(g: Graph, x: string, ctx: ForwardContext): string {
    this.expectShape('input', g.shape(x).map(() => -1), [-1, -1, -1, -1]);
    // Training also emits Indices (the MaxPool VJP scatters through them); eval/inference does not.
    return g.node('MaxPool', [x], poolAttrs(this.kernel, this.opts), { scope: this.scope(), outputs: ctx.training ? 2 : 1 })[0];
  }
}

/** Average pooling; padded cells count in the divisor, as PyTorch's count_include_pad=True default. */
export class AvgPool2d extends Module {
  readonly kernel: [number, number];
  constructor(kernel: number | [number, number], readonly opts: Pool2dOptions = {}) {
    super();
    this.kernel = pair(kernel);
  }
  forward(g: Graph, x: string): string {
    this.expectShape('input', g.shape(x).map(() => -1), [-1, -1, -1, -1]);
    return g.op('AveragePool', [x], { ...poolAttrs(this.kernel, this.opts), count_include_pad: 1 }, { scope: this.scope() });
  }
}

/** Mean over all spatial positions: [N, C, H, W] → [N, C, 1, 1], or [N, C] with `flatten`. */
export class GlobalAvgPool extends Module {
  constructor(readonly flatten = false) {
    super();
  }
  forward(g: Graph, x: string): string {
    const y = g.op('GlobalAveragePool', [x], {}, { scope: this.scope() });
    return this.flatten ? g.op('Flatten', [y], { axis: 1 }, { scope: this.scope() }) : y;
  }
}
