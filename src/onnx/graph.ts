// Graph builder: nodes, inputs, outputs, initializers, unique names, and a static dtype/shape for
// every value (the engine uses fixed shapes, so autodiff can unbroadcast without Shape ops).
import type { DType, NamedTensor, TypedArray } from '../tensor.js';
import { allocate, numel } from '../tensor.js';
import { inferNode } from './inference.js';
import type { Attrs, Node, Shape, ValueInfo } from './types.js';

export type { AttrValue, Attrs, Node, Shape, ValueInfo } from './types.js';

export interface NodeOptions {
  /** Number of outputs (default: what shape inference returns, else 1). */
  outputs?: number;
  /** Explicit output names (must be unused). */
  names?: string[];
  /** Output dtype/shape when the op has no inference rule in infer.ts. */
  out?: ValueInfo[];
  domain?: string;
  /** Prefix for the node and output names (e.g. the module path). */
  scope?: string;
}

export class Graph {
  readonly nodes: Node[] = [];
  readonly inputs: string[] = [];
  readonly outputs: string[] = [];
  readonly initializers = new Map<string, NamedTensor>();
  readonly values = new Map<string, ValueInfo>();
  private used = new Set<string>();
  private counter = 0;
  private constCache = new Map<string, string>();

  constructor(readonly name = 'drivetrain') {}

  /** An independent copy (nodes, values, names in use; initializer data is shared, not copied). */
  clone(): Graph {
    const c = new Graph(this.name);
    c.nodes.push(...this.nodes.map((n) => ({ ...n, inputs: [...n.inputs], outputs: [...n.outputs], attrs: { ...n.attrs } })));
    c.inputs.push(...this.inputs);
    c.outputs.push(...this.outputs);
    for (const [k, t] of this.initializers) c.initializers.set(k, t);
    for (const [k, v] of this.values) c.values.set(k, { dtype: v.dtype, shape: [...v.shape] });
    c.used = new Set(this.used);
    c.counter = this.counter;
    c.constCache = new Map(this.constCache);
    return c;
  }

  /** A name not used yet, derived from `prefix`. */
  fresh(prefix: string): string {
    let n = prefix;
    while (this.used.has(n)) n = `${prefix}_${++this.counter}`;
    this.used.add(n);
    return n;
  }

  private claim(name: string): string {
    if (this.used.has(name)) throw new Error(`graph value name "${name}" is already used`);
    this.used.add(name);
    return name;
  }

  has(name: string): boolean {
    return this.values.has(name);
  }

  info(name: string): ValueInfo {
    const v = this.values.get(name);
    if (!v) throw new Error(`unknown graph value "${name}"`);
    return v;
  }

  shape(name: string): Shape {
    return this.info(name).shape;
  }

  dtype(name: string): DType {
    return this.info(name).dtype;
  }

  input(name: string, dtype: DType, shape: Shape): string {
    this.claim(name);
    this.values.set(name, { dtype, shape: [...shape] });
    this.inputs.push(name);
    return name;
  }

  initializer(t: NamedTensor, reserved = false): string {
    if (!reserved) this.claim(t.name);
    if (t.data.length !== numel(t.shape)) throw new Error(`initializer ${t.name}: data length ${t.data.length} does not match shape [${t.shape}]`);
    this.values.set(t.name, { dtype: t.dtype, shape: [...t.shape] });
    this.initializers.set(t.name, t);
    return t.name;
  }

  /** A constant as an initializer; small ones are shared. `values` are converted to `dtype`. */
  constant(values: number | readonly number[] | TypedArray, dtype: DType = 'float32', shape?: Shape): string {
    const arr = typeof values === 'number' ? [values] : Array.from(values as ArrayLike<number | bigint>, Number);
    const shp = shape ?? (typeof values === 'number' ? [] : [arr.length]);
    const key = arr.length <= 16 ? `${dtype}|${shp.join(',')}|${arr.join(',')}` : undefined;
    const hit = key && this.constCache.get(key);
    if (hit) return hit;
    const data = allocate(dtype, arr.length);
    if (data instanceof BigInt64Array) arr.forEach((v, i) => (data[i] = BigInt(Math.trunc(v))));
    else if (dtype === 'float16') throw new Error('float16 constants: pass a Uint16Array of raw bits via initializer()');
    else (data as Exclude<TypedArray, BigInt64Array>).set(arr);
    const name = this.initializer({ name: this.fresh('const'), dtype, shape: shp, data }, true);
    if (key) this.constCache.set(key, name);
    return name;
  }

  /** int64 1-D constant (shapes, axes, starts/ends). */
  ints(values: readonly number[]): string {
    return this.constant(values, 'int64', [values.length]);
  }

  /** Constant value of an initializer, or undefined (used by shape inference). */
  constValue(name: string): number[] | undefined {
    const t = this.initializers.get(name);
    if (!t || t.data.length > 1 << 16) return undefined;
    return Array.from(t.data as ArrayLike<number | bigint>, Number);
  }

  node(op: string, inputs: string[], attrs: Attrs = {}, opts: NodeOptions = {}): string[] {
    for (const i of inputs) if (i !== '' && !this.values.has(i)) throw new Error(`${op}: unknown input "${i}"`);
    const infos = inputs.map((i) => (i === '' ? undefined : this.values.get(i)));
    const scope = opts.scope ?? op.toLowerCase();
    let outInfo = opts.out;
    if (!outInfo) {
      try {
        outInfo = inferNode(op, infos, attrs, (k) => (inputs[k] ? this.constValue(inputs[k]) : undefined));
      } catch (e) {
        const shapes = infos.map((v) => (v ? `[${v.shape}]` : '-')).join(', ');
        throw new Error(`${scope}: ${op} on inputs ${shapes}: ${(e as Error).message}`);
      }
    }
    const count = opts.names?.length ?? opts.outputs ?? outInfo.length;
    const outputs = opts.names ? opts.names.map((n) => this.claim(n)) : Array.from({ length: count }, () => this.fresh(`${scope}_out`));
    outputs.forEach((o, k) => {
      if (outInfo![k]) this.values.set(o, outInfo![k]);
    });
    this.nodes.push({ op, inputs, outputs, attrs, name: this.fresh(`${scope}_node`), domain: opts.domain });
    return outputs;
  }

  /** Single-output convenience. */
  op(op: string, inputs: string[], attrs: Attrs = {}, opts: NodeOptions = {}): string {
    return this.node(op, inputs, attrs, opts)[0];
  }

  /** Marks `value` as a graph output named `name` (adds an Identity when the names differ). */
  output(value: string, name = value): string {
    if (!this.values.has(value)) throw new Error(`output: unknown value "${value}"`);
    if (name !== value) value = this.op('Identity', [value], {}, { names: [name] });
    this.outputs.push(name);
    return name;
  }
}
