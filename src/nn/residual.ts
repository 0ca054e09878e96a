// Building blocks for skip connections: Identity, Add (sum of two values) and Residual
// (post(main(x) + shortcut(x))), for models whose blocks are not the torchvision ones.
import type { Graph } from '../onnx/graph.js';
import { Module } from './module.js';
import type { ForwardContext } from './module.js';

/** Returns its input unchanged (PyTorch nn.Identity). */
export class Identity extends Module {
  forward(_g: Graph, x: string): string {
    return x;
  }
}

/** Elementwise sum of two values of the same shape: `forward(g, [a, b])`. */
export class Add extends Module<[string, string], string> {
  forward(g: Graph, [a, b]: [string, string]): string {
    const sa = g.shape(a), sb = g.shape(b);
    if (sa.length !== sb.length || sa.some((d, i) => d !== sb[i])) {
      throw new Error(`${this.label()}: cannot add [${sa}] and [${sb}]; a residual branch must keep the shape (give the shortcut a projection, e.g. a 1×1 Conv2d with the same stride)`);
    }
    return g.op('Add', [a, b], {}, { scope: this.scope() });
  }
}

export interface ResidualOptions {
  /** Applied to the input for the skip path (default: the identity). */
  shortcut?: Module;
  /** Applied to the sum (e.g. a ReLU). */
  post?: Module;
}

/** y = post(main(x) + shortcut(x)); children `main`, `shortcut`, `post`. */
export class Residual extends Module {
  readonly main: Module;
  readonly shortcut?: Module;
  readonly post?: Module;
  private readonly sum = new Add();
  constructor(main: Module, opts: ResidualOptions = {}) {
    super();
    this.main = this.add('main', main);
    if (opts.shortcut) this.shortcut = this.add('shortcut', opts.shortcut);
    if (opts.post) this.post = this.add('post', opts.post);
    this.add('sum', this.sum);
  }
  forward(g: Graph, x: string, ctx: ForwardContext): string {
    const skip = this.shortcut ? this.shortcut.forward(g, x, ctx) : x;
    const y = this.sum.forward(g, [this.main.forward(g, x, ctx), skip]);
    return this.post ? this.post.forward(g, y, ctx) : y;
  }
}
