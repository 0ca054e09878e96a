// int64 → int32 for WebGPU: the WebGPU EP has no int64 kernel for data (Identity, Reshape,
// Gather, Equal, Add, Where, Cast to int32 — FACTS.md), only int64 shape arguments (read on the
// host) and int64 indices of a few ops. This pass makes every int64 graph input, graph output
// and intermediate value int32: int64 initializers read as data get int32 copies, Cast(to
// int64) casts to int32, and where ONNX insists on int64 (ScatterND/GatherND indices, shape
// arguments) a Cast int32 → int64 (which WebGPU has) is inserted. Values must fit int32 (labels,
// indices, RNG state do); a constant that does not is an error naming it. The engine converts
// feeds and state at the device boundary (see engine/backend.ts).
import type { Graph, Node } from '../graph.js';
import type { LoweringRule } from './rewrite.js';
import { DataType } from '../dtypes.js';

/** Input positions that are arguments (shapes, axes, pads, sizes, ND indices), not data. */
const ARGS: Record<string, readonly number[]> = {
  Reshape: [1], Expand: [1], Tile: [1], Slice: [1, 2, 3, 4], Unsqueeze: [1], Squeeze: [1], Pad: [1, 3], Split: [1],
  ReduceSum: [1], ReduceMean: [1], ReduceMax: [1], ReduceMin: [1], ReduceProd: [1], ReduceL2: [1], ReduceSumSquare: [1], ReduceLogSumExp: [1],
  ConstantOfShape: [0], OneHot: [1], TopK: [1], ScatterND: [1], GatherND: [1], CumSum: [1], Trilu: [1],
};
/** Argument positions that also accept int32 (all others must be int64). */
const INT32_OK_ARGS = new Set(['Slice', 'OneHot']);
/** Ops whose int64 outputs are int64 whatever their inputs (need their own lowering rule). */
const FIXED_INT64_OUTPUT = new Set(['ArgMax', 'ArgMin', 'Shape', 'Size', 'NonZero', 'TopK', 'MaxPool', 'Unique', 'ConstantOfShape', 'EyeLike']);

export interface Int32Report {
  /** Graph inputs that became int32 (fed as int32 by the engine). */
  inputs: string[];
  /** Graph outputs that became int32. */
  outputs: string[];
}

function int32Copy(g: Graph, name: string): string {
  const t = g.initializers.get(name)!;
  const src = t.data as BigInt64Array;
  const data = new Int32Array(src.length);
  for (let i = 0; i < src.length; i++) {
    if (src[i] > 2147483647n || src[i] < -2147483648n) throw new Error(`lowering for WebGPU: int64 constant ${name} holds ${src[i]}, which does not fit int32`);
    data[i] = Number(src[i]);
  }
  return g.initializer({ name: g.fresh(`${name}_i32`), dtype: 'int32', shape: [...t.shape], data }, true);
}

/** Retypes int64 data to int32 in place; see the file comment. */
export function retypeInt64(g: Graph): Int32Report {
  const wasInt64 = new Set(g.outputs.filter((o) => g.dtype(o) === 'int64'));
  const setInt32 = (v: string) => g.values.set(v, { ...g.info(v), dtype: 'int32' });
  const inputs = g.inputs.filter((v) => g.dtype(v) === 'int64');
  inputs.forEach(setInt32);
  const producer = new Map<string, Node>();
  const copies = new Map<string, string>();
  const out: Node[] = [];
  for (const n of g.nodes) {
    const args = ARGS[n.op] ?? [];
    n.inputs = n.inputs.map((v, k) => {
      if (!v) return v;
      const dt = g.dtype(v);
      if (args.includes(k)) {
        if (dt !== 'int32' || INT32_OK_ARGS.has(n.op)) return v;
        const c = g.fresh(`${v}_as_int64`); // ONNX wants int64 here: widen on the device
        g.values.set(c, { ...g.info(v), dtype: 'int64' });
        out.push({ op: 'Cast', inputs: [v], outputs: [c], attrs: { to: DataType.INT64 }, name: g.fresh(`${n.name}_int64_arg`) });
        return c;
      }
      if (dt !== 'int64') return v;
      if (g.initializers.has(v)) {
        if (!copies.has(v)) copies.set(v, int32Copy(g, v));
        return copies.get(v)!;
      }
      const p = producer.get(v);
      throw new Error(`lowering for WebGPU: int64 value ${v} (from ${p ? `${p.op} ${p.name}` : 'outside the graph'}) is read by ${n.op} ${n.name}; WebGPU has no int64 kernels and this op has no int32 lowering`);
    });
    if (n.op === 'Cast' && n.attrs.to === DataType.INT64) n.attrs = { ...n.attrs, to: DataType.INT32 };
    for (const o of n.outputs) {
      if (!o) continue;
      producer.set(o, n);
      if (g.values.get(o)?.dtype === 'int64' && !FIXED_INT64_OUTPUT.has(n.op)) setInt32(o); // its int64 inputs are int32 now
    }
    out.push(n);
  }
  g.nodes.splice(0, g.nodes.length, ...out);
  for (const o of g.outputs) {
    if (g.dtype(o) === 'int64') throw new Error(`lowering for WebGPU: graph output ${o} is int64 from ${producer.get(o)?.op ?? 'an input'}; WebGPU cannot produce it`);
  }
  return { inputs, outputs: g.outputs.filter((o) => wasInt64.has(o)) };
}

const zeroLike = (g: Graph, x: string) => g.constant(0, g.dtype(x));

/** int32 Neg / Abs have no WebGPU kernel: 0 − x, Where(x < 0, 0 − x, x). */
export const intNegAbs: LoweringRule = {
  name: 'int32-neg-abs',
  ops: ['Neg', 'Abs'],
  apply(g, n) {
    const x = n.inputs[0];
    if (g.dtype(x) !== 'int32') return undefined;
    const s = { scope: `${n.name}_lowered` };
    const neg = g.op('Sub', [zeroLike(g, x), x], {}, s);
    return [n.op === 'Neg' ? neg : g.op('Where', [g.op('Less', [x, zeroLike(g, x)], {}, s), neg, x], {}, s)];
  },
};

/** int32 Slice has no WebGPU kernel: one Gather of the constant kept positions per sliced axis. */
export const intSlice: LoweringRule = {
  name: 'int32-slice',
  ops: ['Slice'],
  apply(g, n) {
    const [x, st, en, ax, sp] = n.inputs;
    if (g.dtype(x) !== 'int32') return undefined;
    const s = { scope: `${n.name}_lowered` };
    const xs = g.shape(x), starts = g.constValue(st), ends = g.constValue(en);
    const axes = ax ? g.constValue(ax) : starts?.map((_, i) => i), steps = sp ? g.constValue(sp) : starts?.map(() => 1);
    if (!starts || !ends || !axes || !steps) throw new Error(`${n.name}: int32 Slice on WebGPU needs constant starts, ends, axes and steps`);
    let v = x;
    axes.forEach((a0, i) => {
      const a = a0 < 0 ? a0 + xs.length : a0, d = xs[a], step = steps[i];
      const clamp = (p: number, lo: number, hi: number) => Math.min(Math.max(p < 0 ? p + d : p, lo), hi);
      const keep: number[] = [];
      if (step > 0) for (let p = clamp(starts[i], 0, d); p < clamp(ends[i], 0, d); p += step) keep.push(p);
      else for (let p = clamp(starts[i], -1, d - 1); p > clamp(ends[i], -1, d - 1); p += step) keep.push(p);
      v = g.op('Gather', [v, g.constant(keep, 'int32')], { axis: a }, s);
    });
    return [v];
  },
};

/** Mod has no WebGPU kernel and no exact standard-op equivalent that is cheap: refuse clearly. */
export const noMod: LoweringRule = {
  name: 'mod',
  ops: ['Mod'],
  apply(_g, n) {
    throw new Error(`lowering for WebGPU: ${n.name} is a Mod, which the WebGPU EP has no kernel for; use Div/Mul/Sub (see autodiff/composite/dropout.ts)`);
  },
};

export const INT32_RULES: readonly LoweringRule[] = [intNegAbs, intSlice, noMod];
