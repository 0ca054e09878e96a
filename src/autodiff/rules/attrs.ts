// Attribute readers for the VJP rules: floats given as a plain number or as `{ float: x }` (see graph.ts), reduce axes.
import type { Attrs } from '../../onnx/graph.js';

export function floatAttr(attrs: Attrs, name: string, fallback: number): number {
  const v = attrs[name];
  if (typeof v === 'number') return v;
  if (v && typeof v === 'object' && 'float' in v) return v.float;
  return fallback;
}

/** Reduced axes of an opset-17 Reduce* node with an `axes` attribute (all axes when absent). */
export function reduceAxes(attrs: Attrs, rank: number): number[] {
  const given = Array.isArray(attrs.axes) ? (attrs.axes as number[]) : [];
  return given.length ? given.map((a) => (a < 0 ? a + rank : a)) : [...Array(rank).keys()];
}
