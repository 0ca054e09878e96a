// Static dtype/shape inference for the ONNX ops drivetrain emits (fixed shapes everywhere).
// An op without a rule here must be given `out` explicitly by its caller; otherwise it fails.
import { dtypeFromOnnx } from './dtypes.js';
import { numel } from '../tensor.js';
import type { Attrs, Shape, ValueInfo } from './types.js';

export type ConstOf = (inputIndex: number) => number[] | undefined;
export type InferFn = (ins: (ValueInfo | undefined)[], attrs: Attrs, constOf: ConstOf, op: string) => ValueInfo[];

const rules = new Map<string, InferFn>();

export function registerInference(ops: string | string[], fn: InferFn): void {
  for (const op of Array.isArray(ops) ? ops : [ops]) rules.set(op, fn);
}

export function inferNode(op: string, ins: (ValueInfo | undefined)[], attrs: Attrs, constOf: ConstOf): ValueInfo[] {
  const fn = rules.get(op);
  if (!fn) throw new Error(`no shape inference for op ${op}; pass the output info explicitly`);
  return fn(ins, attrs, constOf, op);
}

export function req(ins: (ValueInfo | undefined)[], i: number): ValueInfo {
  const v = ins[i];
  if (!v) throw new Error(`input ${i} is required`);
  return v;
}

export function normAxis(axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) throw new Error(`axis ${axis} out of range for rank ${rank}`);
  return a;
}

export function broadcastShapes(...shapes: Shape[]): Shape {
  const rank = Math.max(...shapes.map((s) => s.length));
  const out: Shape = [];
  for (let k = 0; k < rank; k++) {
    let d = 1;
    for (const s of shapes) {
      const v = s[s.length - rank + k] ?? 1;
      if (v !== 1 && d !== 1 && v !== d) throw new Error(`shapes ${shapes.map((x) => `[${x}]`).join(' and ')} do not broadcast`);
      if (v !== 1) d = v;
    }
    out.push(d);
  }
  return out;
}

const int = (a: Attrs, k: string, d: number): number => (typeof a[k] === 'number' ? (a[k] as number) : d);
const ints = (a: Attrs, k: string): number[] | undefined => (Array.isArray(a[k]) ? (a[k] as number[]) : undefined);
const same = (v: ValueInfo): ValueInfo => ({ dtype: v.dtype, shape: [...v.shape] });

registerInference(
  ['Identity', 'Relu', 'Neg', 'Exp', 'Log', 'Sqrt', 'Sigmoid', 'Tanh', 'Erf', 'Abs', 'Sign', 'Reciprocal', 'LeakyRelu',
    'Softmax', 'LogSoftmax', 'Floor', 'Ceil', 'Round', 'Softplus', 'Clip', 'Elu', 'Sin', 'Cos', 'HardSigmoid'],
  (ins) => [same(req(ins, 0))],
);
registerInference(['Add', 'Sub', 'Mul', 'Div', 'Pow', 'Max', 'Min', 'Mod'], (ins) => {
  const present = ins.filter((v): v is ValueInfo => !!v);
  return [{ dtype: present[0].dtype, shape: broadcastShapes(...present.map((v) => v.shape)) }];
});
registerInference(['Sum', 'Mean'], (ins) => [{ dtype: req(ins, 0).dtype, shape: broadcastShapes(...ins.map((v) => v!.shape)) }]);
registerInference(['Equal', 'Greater', 'Less', 'GreaterOrEqual', 'LessOrEqual', 'And', 'Or', 'Xor'], (ins) => [
  { dtype: 'bool', shape: broadcastShapes(req(ins, 0).shape, req(ins, 1).shape) },
]);
registerInference(['Not', 'IsNaN', 'IsInf'], (ins) => [{ dtype: 'bool', shape: [...req(ins, 0).shape] }]);
registerInference('Where', (ins) => [
  { dtype: req(ins, 1).dtype, shape: broadcastShapes(req(ins, 0).shape, req(ins, 1).shape, req(ins, 2).shape) },
]);

registerInference('Cast', (ins, a) => [{ dtype: dtypeFromOnnx(int(a, 'to', -1)), shape: [...req(ins, 0).shape] }]);

registerInference('MatMul', (ins) => {
  const a = req(ins, 0).shape, b = req(ins, 1).shape;
  const A = a.length === 1 ? [1, a[0]] : a, B = b.length === 1 ? [b[0], 1] : b;
  const k1 = A[A.length - 1], k2 = B[B.length - 2];
  if (k1 !== k2) throw new Error(`MatMul inner dimensions differ: [${a}] x [${b}]`);
  const batch = broadcastShapes(A.slice(0, -2), B.slice(0, -2));
  const out = [...batch, ...(a.length === 1 ? [] : [A[A.length - 2]]), ...(b.length === 1 ? [] : [B[B.length - 1]])];
  return [{ dtype: req(ins, 0).dtype, shape: out }];
});

registerInference('Gemm', (ins, a) => {
  const A = req(ins, 0).shape, B = req(ins, 1).shape;
  const [m, k1] = int(a, 'transA', 0) ? [A[1], A[0]] : [A[0], A[1]];
  const [k2, n] = int(a, 'transB', 0) ? [B[1], B[0]] : [B[0], B[1]];
  if (k1 !== k2) throw new Error(`Gemm inner dimensions differ: ${k1} vs ${k2}`);
  if (ins[2]) broadcastShapes([m, n], ins[2].shape);
  return [{ dtype: req(ins, 0).dtype, shape: [m, n] }];
});

function reduceShape(shape: Shape, axes: number[] | undefined, keep: boolean, noopEmpty: boolean): Shape {
  if (!axes || axes.length === 0) {
    if (noopEmpty) return [...shape];
    return keep ? shape.map(() => 1) : [];
  }
  const ax = new Set(axes.map((x) => normAxis(x, shape.length)));
  return shape.flatMap((d, i) => (ax.has(i) ? (keep ? [1] : []) : [d]));
}
// Opset 17: ReduceSum takes axes as input 1; the others take the `axes` attribute.
registerInference('ReduceSum', (ins, a, c) => [
  { dtype: req(ins, 0).dtype, shape: reduceShape(req(ins, 0).shape, ins[1] ? c(1) : undefined, int(a, 'keepdims', 1) === 1, int(a, 'noop_with_empty_axes', 0) === 1) },
]);
registerInference(['ReduceMean', 'ReduceMax', 'ReduceMin', 'ReduceProd', 'ReduceL2', 'ReduceSumSquare', 'ReduceLogSumExp'], (ins, a) => [
  { dtype: req(ins, 0).dtype, shape: reduceShape(req(ins, 0).shape, ints(a, 'axes'), int(a, 'keepdims', 1) === 1, false) },
]);
registerInference(['ArgMax', 'ArgMin'], (ins, a) => {
  const s = req(ins, 0).shape;
  return [{ dtype: 'int64', shape: reduceShape(s, [int(a, 'axis', 0)], int(a, 'keepdims', 1) === 1, false) }];
});

registerInference('Reshape', (ins, a, c) => {
  const x = req(ins, 0), target = c(1);
  if (!target) throw new Error('Reshape needs a constant shape input');
  const total = numel(x.shape);
  const out = target.map((d, i) => (d === 0 && int(a, 'allowzero', 0) === 0 ? x.shape[i] : d));
  const known = numel(out.filter((d) => d !== -1));
  const res = out.map((d) => (d === -1 ? total / known : d));
  if (numel(res) !== total || res.some((d) => !Number.isInteger(d))) {
    throw new Error(`cannot reshape [${x.shape}] to [${target}]`);
  }
  return [{ dtype: x.dtype, shape: res }];
});
registerInference('Flatten', (ins, a) => {
  const x = req(ins, 0), ax = int(a, 'axis', 1);
  const k = ax < 0 ? ax + x.shape.length : ax;
  return [{ dtype: x.dtype, shape: [numel(x.shape.slice(0, k)), numel(x.shape.slice(k))] }];
});
registerInference('Transpose', (ins, a) => {
  const x = req(ins, 0);
  const perm = ints(a, 'perm') ?? x.shape.map((_, i) => x.shape.length - 1 - i);
  return [{ dtype: x.dtype, shape: perm.map((p) => x.shape[p]) }];
});
registerInference('Concat', (ins, a) => {
  const xs = ins.map((v, i) => req(ins, i));
  const ax = normAxis(int(a, 'axis', 0), xs[0].shape.length);
  const shape = [...xs[0].shape];
  shape[ax] = xs.reduce((s, v) => s + v.shape[ax], 0);
  return [{ dtype: xs[0].dtype, shape }];
});
registerInference('Split', (ins, a, c) => {
  const x = req(ins, 0), ax = normAxis(int(a, 'axis', 0), x.shape.length);
  const sizes = ins[1] ? c(1) : undefined;
  const n = sizes?.length ?? int(a, 'num_outputs', 0);
  if (!sizes && !n) throw new Error('Split needs split sizes (input 1) or num_outputs');
  const parts = sizes ?? Array.from({ length: n }, () => x.shape[ax] / n);
  return parts.map((p) => ({ dtype: x.dtype, shape: x.shape.map((d, i) => (i === ax ? p : d)) }));
});
registerInference('Slice', (ins, _a, c) => {
  const x = req(ins, 0);
  const starts = c(1), ends = c(2), axes = ins[3] ? c(3) : undefined, steps = ins[4] ? c(4) : undefined;
  if (!starts || !ends) throw new Error('Slice needs constant starts/ends');
  const shape = [...x.shape];
  starts.forEach((s0, k) => {
    const ax = normAxis(axes ? axes[k] : k, shape.length), d = x.shape[ax], st = steps ? steps[k] : 1;
    const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), hi);
    const norm = (v: number) => (v < 0 ? v + d : v);
    const s = st > 0 ? clamp(norm(s0), 0, d) : clamp(norm(s0), 0, d - 1);
    const e = st > 0 ? clamp(norm(ends[k]), 0, d) : clamp(norm(ends[k]), -1, d - 1);
    shape[ax] = Math.max(0, Math.ceil((e - s) / st));
  });
  return [{ dtype: x.dtype, shape }];
});
registerInference('Pad', (ins, _a, c) => {
  const x = req(ins, 0), pads = c(1);
  if (!pads || ins[3]) throw new Error('Pad needs constant pads over all axes (no axes input)');
  const r = x.shape.length;
  return [{ dtype: x.dtype, shape: x.shape.map((d, i) => d + pads[i] + pads[i + r]) }];
});
registerInference('Gather', (ins, a) => {
  const x = req(ins, 0), idx = req(ins, 1), ax = normAxis(int(a, 'axis', 0), x.shape.length);
  return [{ dtype: x.dtype, shape: [...x.shape.slice(0, ax), ...idx.shape, ...x.shape.slice(ax + 1)] }];
});
registerInference('GatherElements', (ins) => [{ dtype: req(ins, 0).dtype, shape: [...req(ins, 1).shape] }]);
registerInference(['ScatterElements', 'ScatterND'], (ins) => [same(req(ins, 0))]);
registerInference('Unsqueeze', (ins, _a, c) => {
  const x = req(ins, 0), axes = c(1);
  if (!axes) throw new Error('Unsqueeze needs constant axes');
  const rank = x.shape.length + axes.length;
  const ax = new Set(axes.map((v) => normAxis(v, rank)));
  const out: Shape = [];
  let j = 0;
  for (let i = 0; i < rank; i++) out.push(ax.has(i) ? 1 : x.shape[j++]);
  return [{ dtype: x.dtype, shape: out }];
});
registerInference('Squeeze', (ins, _a, c) => {
  const x = req(ins, 0), axes = ins[1] ? c(1) : undefined;
  const ax = axes ? new Set(axes.map((v) => normAxis(v, x.shape.length))) : undefined;
  return [{ dtype: x.dtype, shape: x.shape.filter((d, i) => (ax ? !ax.has(i) : d !== 1)) }];
});
registerInference('Expand', (ins, _a, c) => {
  const x = req(ins, 0), s = c(1);
  if (!s) throw new Error('Expand needs a constant shape');
  return [{ dtype: x.dtype, shape: broadcastShapes(x.shape, s) }];
});
registerInference('Tile', (ins, _a, c) => {
  const x = req(ins, 0), r = c(1);
  if (!r) throw new Error('Tile needs constant repeats');
  return [{ dtype: x.dtype, shape: x.shape.map((d, i) => d * r[i]) }];
});
registerInference('Shape', (ins) => [{ dtype: 'int64', shape: [req(ins, 0).shape.length] }]);
registerInference('OneHot', (ins, a, c) => {
  const idx = req(ins, 0), depth = c(1), vals = req(ins, 2);
  if (!depth) throw new Error('OneHot needs a constant depth');
  const rank = idx.shape.length + 1, ax = normAxis(int(a, 'axis', -1), rank);
  const shape = [...idx.shape];
  shape.splice(ax, 0, depth[0]);
  return [{ dtype: vals.dtype, shape }];
});
registerInference('GatherND', (ins, a) => {
  const x = req(ins, 0), idx = req(ins, 1), b = int(a, 'batch_dims', 0);
  const k = idx.shape[idx.shape.length - 1];
  return [{ dtype: x.dtype, shape: [...idx.shape.slice(0, -1), ...x.shape.slice(b + k)] }];
});
registerInference('Range', (ins, _a, c) => {
  const [s, l, d] = [c(0), c(1), c(2)];
  if (!s || !l || !d) throw new Error('Range needs constant start, limit and delta');
  return [{ dtype: req(ins, 0).dtype, shape: [Math.max(Math.ceil((l[0] - s[0]) / d[0]), 0)] }];
});
