// Module base: hierarchical names (`backbone.conv1.weight`), declared parameters, buffers and RNG
// states, and a forward pass that emits ONNX nodes into a Graph through a ForwardContext.
import type { Graph } from '../onnx/graph.js';
import type { DType, TypedArray } from '../tensor.js';
import { numel } from '../tensor.js';
import { Rng } from '../random.js';

/** Fills a tensor of `shape` from a seeded generator. */
export type Initializer = (shape: number[], rng: Rng) => TypedArray;

export interface TensorDecl {
  dtype: DType;
  shape: number[];
  init: Initializer;
}

/** Declared tensor with its full dotted name (without the role prefix). */
export interface NamedDecl extends TensorDecl {
  name: string;
  module: Module<any, any>;
}

/**
 * What a module sees while emitting its forward nodes. The engine implements it: parameters,
 * buffers and RNG states are graph inputs `param.<name>`, `buffer.<name>`, `rng.<name>`;
 * updates become outputs `<same>_new`.
 */
export interface ForwardContext {
  readonly training: boolean;
  /** Graph value holding parameter `fullName`. */
  param(fullName: string): string;
  /** Graph value holding buffer `fullName` (e.g. `bn1.running_mean`). */
  buffer(fullName: string): string;
  /** Records the value of buffer `fullName` after this step (training graphs only). */
  updateBuffer(fullName: string, value: string): void;
  /** Graph value holding RNG state `fullName`. */
  rng(fullName: string): string;
  updateRng(fullName: string, value: string): void;
  /** Optional: true when the BatchNorm layer at `modulePath` normalises with its running statistics and keeps them while training (PyTorch: `bn.eval()`). */
  holdsBatchNorm?(modulePath: string): boolean;
}

export class ShapeError extends Error {}

export abstract class Module<In = string, Out = string> {
  /** Full dotted path, assigned when the module is attached to a parent ('' for the root). */
  path = '';
  private readonly children = new Map<string, Module<unknown, unknown>>();
  private readonly paramDecls = new Map<string, TensorDecl>();
  private readonly bufferDecls = new Map<string, TensorDecl>();
  private readonly rngDecls = new Map<string, TensorDecl>();

  abstract forward(g: Graph, x: In, ctx: ForwardContext): Out;

  /** Attaches `child` under `name` (re-paths the whole subtree) and returns it. */
  protected add<M extends Module<any, any>>(name: string, child: M): M {
    if (!/^[A-Za-z0-9_]+$/.test(name)) throw new Error(`module name "${name}" must be letters, digits or _`);
    if (this.children.has(name) || this.paramDecls.has(name)) throw new Error(`${this.label()}: "${name}" is already registered`);
    this.children.set(name, child as Module<unknown, unknown>);
    child.setPath(this.join(name));
    return child;
  }

  protected addParam(name: string, shape: number[], init: Initializer, dtype: DType = 'float32'): void {
    if (this.children.has(name)) throw new Error(`${this.label()}: "${name}" is already registered`);
    this.declare(this.paramDecls, name, { dtype, shape, init });
  }

  protected addBuffer(name: string, shape: number[], init: Initializer, dtype: DType = 'float32'): void {
    this.declare(this.bufferDecls, name, { dtype, shape, init });
  }

  protected addRng(name: string, shape: number[], init: Initializer, dtype: DType = 'int64'): void {
    this.declare(this.rngDecls, name, { dtype, shape, init });
  }

  private declare(decls: Map<string, TensorDecl>, name: string, d: TensorDecl): void {
    if (decls.has(name)) throw new Error(`${this.label()}: "${name}" is already registered`);
    decls.set(name, d);
  }

  private setPath(p: string): void {
    this.path = p;
    for (const [n, c] of this.children) c.setPath(this.join(n));
  }

  private join(name: string): string {
    return this.path ? `${this.path}.${name}` : name;
  }

  /** Human-readable name for error messages: `Linear "head.fc"`. */
  label(): string {
    return `${this.constructor.name}${this.path ? ` "${this.path}"` : ''}`;
  }

  /** This module's own parameter `name` as a graph value. */
  protected paramValue(ctx: ForwardContext, name: string): string {
    return ctx.param(this.join(name));
  }
  protected buf(ctx: ForwardContext, name: string): string {
    return ctx.buffer(this.join(name));
  }
  protected setBuf(ctx: ForwardContext, name: string, value: string): void {
    ctx.updateBuffer(this.join(name), value);
  }
  protected rngState(ctx: ForwardContext, name: string): string {
    return ctx.rng(this.join(name));
  }
  protected setRngState(ctx: ForwardContext, name: string, value: string): void {
    ctx.updateRng(this.join(name), value);
  }
  /** Node-name scope for this module's nodes. */
  protected scope(suffix = ''): string {
    const base = this.path ? this.path.replace(/\./g, '/') : this.constructor.name.toLowerCase();
    return suffix ? `${base}/${suffix}` : base;
  }

  namedChildren(): [string, Module<unknown, unknown>][] {
    return [...this.children];
  }

  private collect(pick: (m: Module<unknown, unknown>) => Map<string, TensorDecl>): NamedDecl[] {
    const out: NamedDecl[] = [];
    const walk = (m: Module<unknown, unknown>) => {
      for (const [n, d] of pick(m)) out.push({ ...d, name: m.join(n), module: m });
      for (const c of m.children.values()) walk(c);
    };
    walk(this as Module<unknown, unknown>);
    return out;
  }

  parameters(): NamedDecl[] {
    return this.collect((m) => m.paramDecls);
  }
  buffers(): NamedDecl[] {
    return this.collect((m) => m.bufferDecls);
  }
  rngStates(): NamedDecl[] {
    return this.collect((m) => m.rngDecls);
  }

  /** Number of trainable scalars. */
  parameterCount(): number {
    return this.parameters().reduce((s, p) => s + numel(p.shape), 0);
  }

  /** Throws a ShapeError naming this layer and both shapes when `actual` differs from `expected` (-1 = any). */
  protected expectShape(what: string, actual: readonly number[], expected: readonly number[]): void {
    const ok = actual.length === expected.length && expected.every((d, i) => d === -1 || d === actual[i]);
    if (!ok) {
      const fmt = (s: readonly number[]) => `[${s.map((d) => (d === -1 ? '*' : d)).join(', ')}]`;
      throw new ShapeError(`${this.label()}: ${what} has shape ${fmt(actual)} but this layer expects ${fmt(expected)}`);
    }
  }
}

/** Seed for a named tensor: independent of declaration order, so adding a layer does not reshuffle the others. */
export function rngFor(seed: number, name: string): Rng {
  let h = (seed ^ 0x811c9dc5) >>> 0;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193) >>> 0;
  return new Rng(h);
}
