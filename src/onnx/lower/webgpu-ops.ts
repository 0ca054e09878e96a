// WebGPU lowering rules for ops the WebGPU EP has no kernel for (they would run on the CPU EP,
// a host round trip inside every step) or computes unstably (FACTS.md, "WebGPU EP without a
// GPU"). Each rewrites one node into standard ops the WebGPU EP runs; results match the CPU EP
// within float32 rounding (lower.test.ts runs each on both EPs).
import type { Graph, Node } from '../graph.js';
import { normAxis } from '../infer.js';
import type { LoweringRule } from './rewrite.js';
import { DataType } from '../dtypes.js';

const scopeOf = (n: Node) => `${n.name}_lowered`;
const intAttr = (n: Node, k: string, d: number) => (typeof n.attrs[k] === 'number' ? (n.attrs[k] as number) : d);

/** A constant 0 … d−1 of `dtype`, shaped to lie along `axis` of a rank-`rank` tensor. */
function positions(g: Graph, d: number, axis: number, rank: number, dtype: 'int32' | 'int64'): string {
  const shape = Array.from({ length: rank }, (_, i) => (i === axis ? d : 1));
  return g.constant(Array.from({ length: d }, (_, i) => i), dtype, shape);
}

/** LogSoftmax has no WebGPU kernel: (x − m) − log Σ exp(x − m), m = max over the axis. */
export const logSoftmax: LoweringRule = {
  name: 'log-softmax',
  ops: ['LogSoftmax'],
  apply(g, n) {
    const s = { scope: scopeOf(n) };
    const x = n.inputs[0];
    const axis = normAxis(intAttr(n, 'axis', -1), g.shape(x).length);
    const shifted = g.op('Sub', [x, g.op('ReduceMax', [x], { axes: [axis], keepdims: 1 }, s)], {}, s);
    const lse = g.op('Log', [g.op('ReduceSum', [g.op('Exp', [shifted], {}, s), g.ints([axis])], { keepdims: 1 }, s)], {}, s);
    return [g.op('Sub', [shifted, lse], {}, s)];
  },
};

/** WebGPU's ReduceLogSumExp is not max-shifted (Inf past ~88): m + log Σ exp(x − m). */
export const reduceLogSumExp: LoweringRule = {
  name: 'reduce-log-sum-exp',
  ops: ['ReduceLogSumExp'],
  apply(g, n) {
    const s = { scope: scopeOf(n) };
    const x = n.inputs[0], rank = g.shape(x).length;
    const axes = Array.isArray(n.attrs.axes) ? (n.attrs.axes as number[]).map((a) => normAxis(a, rank)) : Array.from({ length: rank }, (_, i) => i);
    // max(m, −FLT_MAX): an all −∞ slice gives −∞ (exp(−∞ − finite) = 0), not NaN.
    const m = g.op('Max', [g.op('ReduceMax', [x], { axes, keepdims: 1 }, s), g.constant(-3.4028234663852886e38, g.dtype(x))], {}, s);
    const sum = g.op('ReduceSum', [g.op('Exp', [g.op('Sub', [x, m], {}, s)], {}, s), g.ints(axes)], { keepdims: 1 }, s);
    const r = g.op('Add', [g.op('Log', [sum], {}, s), m], {}, s);
    return [intAttr(n, 'keepdims', 1) ? r : g.op('Reshape', [r, g.ints(g.shape(n.outputs[0]))], {}, s)];
  },
};

/** Sum (variadic) has no WebGPU kernel: a chain of Add. */
export const sum: LoweringRule = {
  name: 'sum',
  ops: ['Sum'],
  apply(g, n) {
    const s = { scope: scopeOf(n) };
    return [n.inputs.slice(1).reduce((acc, v) => g.op('Add', [acc, v], {}, s), n.inputs[0])];
  },
};

/** Sign has no WebGPU kernel: (x > 0) − (x < 0). */
export const sign: LoweringRule = {
  name: 'sign',
  ops: ['Sign'],
  apply(g, n) {
    const s = { scope: scopeOf(n) };
    const x = n.inputs[0], dt = g.dtype(x);
    const to = { to: dt === 'float32' ? 1 : dt === 'int32' ? 6 : dt === 'float16' ? 10 : 11 };
    const side = (op: string) => g.op('Cast', [g.op(op, [x, g.constant(0, dt)], {}, s)], to, s);
    return [g.op('Sub', [side('Greater'), side('Less')], {}, s)];
  },
};

/** Or / Xor have no WebGPU kernel: And and Not. */
export const boolOps: LoweringRule = {
  name: 'or-xor',
  ops: ['Or', 'Xor'],
  apply(g, n) {
    const s = { scope: scopeOf(n) };
    const not = (v: string) => g.op('Not', [v], {}, s);
    const [a, b] = n.inputs;
    const or = not(g.op('And', [not(a), not(b)], {}, s));
    return [n.op === 'Or' ? or : g.op('And', [or, not(g.op('And', [a, b], {}, s))], {}, s)];
  },
};

/** OneHot has no WebGPU kernel: Where(Equal(indices, positions), on, off); depth and values constant. */
export const oneHot: LoweringRule = {
  name: 'one-hot',
  ops: ['OneHot'],
  apply(g, n) {
    const s = { scope: scopeOf(n) };
    const [idx, depthV, valuesV] = n.inputs;
    const depth = g.constValue(depthV), values = g.constValue(valuesV);
    if (!depth || !values) throw new Error(`${n.name}: OneHot on WebGPU needs constant depth and values`);
    const d = depth[0], rank = g.shape(idx).length + 1, axis = normAxis(intAttr(n, 'axis', -1), rank);
    const dt = g.dtype(idx) === 'int32' ? 'int32' : 'int64';
    let i = g.op('Unsqueeze', [g.dtype(idx) === dt ? idx : g.op('Cast', [idx], { to: DataType.INT64 }, s), g.ints([axis])], {}, s);
    i = g.op('Where', [g.op('Less', [i, g.constant(0, dt)], {}, s), g.op('Add', [i, g.constant(d, dt)], {}, s), i], {}, s); // negative indices count from the end
    const vt = g.dtype(valuesV);
    const hit = g.op('Equal', [i, positions(g, d, axis, rank, dt)], {}, s);
    return [g.op('Where', [hit, g.constant(values[1], vt), g.constant(values[0], vt)], {}, s)];
  },
};

/**
 * ArgMax's int64 output has no WebGPU consumer (no int64 Equal/Cast): the first (or last)
 * position of the maximum, as int32, from ReduceMax, Equal, Where and ReduceMin.
 */
export const argMax: LoweringRule = {
  name: 'arg-max',
  ops: ['ArgMax'],
  apply(g, n) {
    const s = { scope: scopeOf(n) };
    const x = n.inputs[0], xs = g.shape(x);
    const axis = normAxis(intAttr(n, 'axis', 0), xs.length), keep = intAttr(n, 'keepdims', 1), last = intAttr(n, 'select_last_index', 0);
    const hit = g.op('Equal', [x, g.op('ReduceMax', [x], { axes: [axis], keepdims: 1 }, s)], {}, s);
    const pos = g.op('Where', [hit, positions(g, xs[axis], axis, xs.length, 'int32'), g.constant(last ? -1 : xs[axis], 'int32')], {}, s);
    return [g.op(last ? 'ReduceMax' : 'ReduceMin', [pos], { axes: [axis], keepdims: keep }, s)];
  },
};

export const WEBGPU_OP_RULES: readonly LoweringRule[] = [logSoftmax, reduceLogSumExp, sum, sign, boolOps, oneHot, argMax];
