// Helpers shared by the VJP rules: index normalisation (int64, negative entries wrapped) and zeros.
import type { Graph } from '../onnx/graph.js';
import { DataType } from '../onnx/dtypes.js';

/** `idx` as int64 with negative entries (counting from the end of an axis of `size`) made positive. */
export function positiveIndices(g: Graph, idx: string, size: number, scope: string): string {
  const i64 = g.dtype(idx) === 'int64' ? idx : g.op('Cast', [idx], { to: DataType.INT64 }, { scope });
  const neg = g.op('Less', [i64, g.constant(0, 'int64')], {}, { scope });
  return g.op('Where', [neg, g.op('Add', [i64, g.constant(size, 'int64')], {}, { scope }), i64], {}, { scope });
}

/** Zeros of `shape` in `dtype` (Expand of a scalar, so no large initializer). */
export function zeros(g: Graph, dtype: Parameters<Graph['constant']>[1], shape: number[], scope: string): string {
  return g.op('Expand', [g.constant(0, dtype), g.ints(shape)], {}, { scope });
}
