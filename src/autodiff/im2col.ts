// Conv weight (and bias) gradients as im2col patches + one batched MatMul per batch chunk:
//   dW[o, c, k] = Σ_{n, s} dY[n, o, s] · Xpad[n, c, s·stride + k·dilation]
// A chunk's patches are one strided Slice of the padded X per kernel offset, concatenated; MatMul
// (MLAS GEMM) contracts them with the chunk's dY. Chunks along the batch keep each chunk's patches
// in cache, which matters more than FLOPs on small shared CPUs: onnxruntime runs the nodes in
// order and reuses chunk j's buffers, still hot, for chunk j+1. With one group the bias gradient
// rides along as a row of ones in the patches (no separate pass over dY).
// Against the former Conv over N/C-swapped tensors (glyph CNN, batch 256, 2 threads): conv2's
// dW+dB ~2× less time, conv3's ~1.3×, conv1's about the same (bench/cnn-cpu.ts has the step).
import type { Graph } from '../onnx/graph.js';
import { range, reshape } from './spatial.js';
import type { Window } from './spatial.js';

/**
 * Tuning switch (CPU-tuned defaults): target bytes of one chunk's patches, and a cap on the Slice
 * nodes per conv (each chunk adds one per kernel offset; session creation time grows with nodes):
 * 144 is 16 chunks of a 3×3 kernel. `chunkBytes: Infinity` gives one chunk, the likely choice on a
 * GPU (for the device lowering to set there).
 */
export const convWeightGradTuning = { chunkBytes: 2 << 20, maxSlices: 144 };

export interface ConvGradArgs {
  x: string;
  dy: string;
  win: Window;
  group: number;
  /** Also return the bias gradient. */
  bias: boolean;
  scope: string;
}

const prod = (a: number[]) => a.reduce((p, v) => p * v, 1);

/** Kernel offsets (per spatial axis) in row-major order of the weight's kernel axes. */
function offsets(kernel: number[]): number[][] {
  let out: number[][] = [[]];
  for (const k of kernel) out = out.flatMap((o) => range(k).map((i) => [...o, i]));
  return out;
}

/** Batch chunk sizes so one chunk's patches stay near the tuning's byte target. */
function chunkSizes(n: number, patchBytesPerSample: number, k: number): number[] {
  const { chunkBytes, maxSlices } = convWeightGradTuning;
  const want = Math.max(1, Math.min(Math.floor(maxSlices / k), n, Math.ceil((n * patchBytesPerSample) / chunkBytes)));
  const size = Math.ceil(n / want);
  return range(Math.ceil(n / size)).map((j) => Math.min(size, n - j * size));
}

export function convWeightGrad(g: Graph, a: ConvGradArgs): { dw: string; db?: string } {
  const { x, win, group, scope } = a;
  const s = { scope };
  const xs = g.shape(x), sp = xs.length - 2, [N, C] = xs, O = g.shape(a.dy)[1], outSp = g.shape(a.dy).slice(2);
  const cg = C / group, og = O / group, S = prod(outSp);
  const offs = offsets(win.kernel), K = offs.length;
  // A 1×1 kernel without pads or strides: the patches are X itself (a reshape, no copy, no chunks).
  const plain = K === 1 && win.pads.every((p) => p === 0) && win.strides.every((v) => v === 1);
  const fold = a.bias && group === 1 && !plain; // bias gradient as an extra patch row of ones
  const rows = group === 1 ? K * C + (fold ? 1 : 0) : cg * K;
  const xp = win.pads.some((p) => p !== 0) ? g.op('Pad', [x, g.ints([0, 0, ...win.pads.slice(0, sp), 0, 0, ...win.pads.slice(sp)])], {}, s) : x;
  const axes = g.ints(range(sp + 2)), steps = g.ints([1, 1, ...win.strides]);
  // Chunking copies dY once (the Split), worth it only when the patches are the bigger operand.
  const sizes = plain || rows * group <= O ? [N] : chunkSizes(N, rows * group * S * 4, K);
  const dy = reshape(g, a.dy, [N, group, og, S], scope);
  const dys = sizes.length > 1 ? g.node('Split', [dy, g.ints(sizes)], { axis: 0 }, { scope, outputs: sizes.length }) : [dy];
  const ones = new Map<number, string>();
  const per: string[] = [];
  let b0 = 0;
  sizes.forEach((nb, j) => {
    const parts = plain ? [x] : offs.map((o) => {
      const st = o.map((k, i) => k * win.dilations[i]);
      const en = st.map((v, i) => v + (outSp[i] - 1) * win.strides[i] + 1);
      const sl = g.op('Slice', [xp, g.ints([b0, 0, ...st]), g.ints([b0 + nb, C, ...en]), axes, steps], {}, s);
      return group === 1 ? sl : g.op('Unsqueeze', [sl, g.ints([2])], {}, s);
    });
    if (fold) {
      if (!ones.has(nb)) ones.set(nb, g.op('Expand', [g.constant(1, g.dtype(x)), g.ints([nb, 1, ...outSp])], {}, s));
      parts.push(ones.get(nb)!);
    }
    // group 1: rows in (offset, channel) order; groups: (channel, offset) so each group is contiguous
    const p = reshape(g, parts.length > 1 ? g.op('Concat', parts, { axis: group === 1 ? 1 : 2 }, s) : parts[0], [nb, group, rows, S], scope);
    const pt = g.op('Transpose', [p], { perm: [0, 1, 3, 2] }, s); // onnxruntime fuses this into the MatMul
    per.push(g.op('MatMul', [dys[j], pt], {}, s)); // [nb, group, og, rows]
    b0 += nb;
  });
  const all = per.length > 1 ? g.op('Concat', per, { axis: 0 }, s) : per[0];
  const sum = g.op('ReduceSum', [all, g.ints([0])], { keepdims: 0 }, s); // [group, og, rows]
  if (group !== 1) return { dw: reshape(g, sum, [O, cg, ...win.kernel], scope) };
  const flat = reshape(g, sum, [O, rows], scope);
  const wpart = fold ? g.op('Slice', [flat, g.ints([0]), g.ints([K * C]), g.ints([1])], {}, s) : flat;
  const dw = reshape(g, g.op('Transpose', [reshape(g, wpart, [O, K, C], scope)], { perm: [0, 2, 1] }, s), [O, C, ...win.kernel], scope);
  if (!fold) return { dw };
  return { dw, db: reshape(g, g.op('Slice', [flat, g.ints([K * C]), g.ints([K * C + 1]), g.ints([1])], {}, s), [O], scope) };
}
