// MaxPool's Indices output fails on WebGPU at run time ("The Indices output is not supported
// yet"; FACTS.md). This rule keeps a one-output MaxPool for Y and computes the indices of the
// first maximum of each window (PyTorch's and the CPU EP's tie rule) from standard ops: every
// kernel offset's strided view of the (−∞ padded) input is compared with Y, and the smallest
// flat position among the hits wins — scanning a window row-major visits flat positions in
// increasing order, so "smallest position" is "first maximum". Padded cells get a position
// larger than any real one. The result is int32 (WebGPU has no int64 arithmetic), flat over the
// whole input (batch and channel included), as MaxPool's own Indices with storage_order 0.
// Works for any kernel, stride, padding, dilation and ceil mode; cost: K strided Slices and
// K Equal/Where/Min over the output, K = kernel size.
import type { Attrs, Graph, Node } from '../graph.js';
import { numel } from '../../tensor.js';
import type { LoweringRule } from './rewrite.js';

const ints = (a: Attrs, k: string, d: number[]): number[] => (Array.isArray(a[k]) ? (a[k] as number[]) : d);

/** Kernel offsets in row-major order. */
function offsets(kernel: number[]): number[][] {
  let out: number[][] = [[]];
  for (const k of kernel) out = out.flatMap((o) => Array.from({ length: k }, (_, i) => [...o, i]));
  return out;
}

/** Flat spatial position read by each output cell at kernel offset `off` (BIG where it is padding). */
function positionTable(off: number[], outDims: number[], inDims: number[], s: number[], d: number[], padBegin: number[], big: number): Int32Array {
  const table = new Int32Array(numel(outDims));
  const r = outDims.length;
  const o = new Array<number>(r).fill(0);
  for (let k = 0; k < table.length; k++) {
    let flat = 0, inside = true;
    for (let i = 0; i < r; i++) {
      const p = o[i] * s[i] + off[i] * d[i] - padBegin[i];
      if (p < 0 || p >= inDims[i]) inside = false;
      flat = flat * inDims[i] + p;
    }
    table[k] = inside ? flat : big;
    for (let i = r - 1; i >= 0 && ++o[i] === outDims[i]; i--) o[i] = 0; // next output cell, row-major
  }
  return table;
}

function firstMaxIndices(g: Graph, n: Node, x: string, y: string): string {
  const s = { scope: `${n.name}_lowered` };
  const xs = g.shape(x), ys = g.shape(y);
  const [N, C] = xs, inDims = xs.slice(2), outDims = ys.slice(2), r = inDims.length;
  const kernel = ints(n.attrs, 'kernel_shape', []);
  const strides = ints(n.attrs, 'strides', Array(r).fill(1)), dil = ints(n.attrs, 'dilations', Array(r).fill(1));
  const pads = ints(n.attrs, 'pads', Array(2 * r).fill(0));
  const padBegin = pads.slice(0, r);
  const extent = outDims.map((o, i) => (o - 1) * strides[i] + (kernel[i] - 1) * dil[i] + 1);
  const padEnd = extent.map((e, i) => Math.max(0, e - padBegin[i] - inDims[i]));
  let src = x;
  if ([...padBegin, ...padEnd].some((p) => p > 0)) {
    src = g.op('Pad', [x, g.ints([0, 0, ...padBegin, 0, 0, ...padEnd]), g.constant(-Infinity, g.dtype(x))], {}, s);
  }
  const big = numel(inDims);
  const axes = Array.from({ length: r }, (_, i) => i + 2);
  let first: string | undefined;
  for (const off of offsets(kernel)) {
    const starts = off.map((a, i) => a * dil[i]);
    const view = g.op('Slice', [src, g.ints(starts), g.ints(starts.map((b, i) => b + (outDims[i] - 1) * strides[i] + 1)), g.ints(axes), g.ints(strides)], {}, s);
    const where = g.constant(positionTable(off, outDims, inDims, strides, dil, padBegin, big), 'int32', [1, 1, ...outDims]);
    const cand = g.op('Where', [g.op('Equal', [view, y], {}, s), where, g.constant(big, 'int32')], {}, s);
    first = first ? g.op('Min', [first, cand], {}, s) : cand;
  }
  const base = Int32Array.from({ length: N * C }, (_, i) => i * big);
  return g.op('Add', [first!, g.constant(base, 'int32', [N, C, ...outDims.map(() => 1)])], {}, s);
}

export const maxPoolIndices: LoweringRule = {
  name: 'maxpool-first-max-indices',
  ops: ['MaxPool'],
  apply(g, n, used) {
    if (n.outputs.length < 2) return undefined;
    // A declared Indices output fails on WebGPU even when nothing reads it (e.g. a frozen layer).
    if (!used(n.outputs[1])) return [g.node('MaxPool', [n.inputs[0]], n.attrs, { scope: `${n.name}_lowered`, outputs: 1 })[0], undefined];
    if (typeof n.attrs.auto_pad === 'string' && n.attrs.auto_pad !== 'NOTSET') throw new Error(`${n.name}: MaxPool Indices on WebGPU needs explicit pads (auto_pad=${n.attrs.auto_pad})`);
    if (n.attrs.storage_order === 1) throw new Error(`${n.name}: MaxPool Indices on WebGPU needs storage_order 0`);
    const x = n.inputs[0];
    if (numel(g.shape(x)) >= 2 ** 31) throw new Error(`${n.name}: MaxPool input has ${numel(g.shape(x))} elements; its indices exceed int32`);
    const y = g.node('MaxPool', [x], n.attrs, { scope: `${n.name}_lowered`, outputs: 1 })[0];
    return [y, firstMaxIndices(g, n, x, y)];
  },
};
