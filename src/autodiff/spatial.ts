// Shared attribute handling for the convolution and pooling VJP rules.
import type { Attrs, Graph, Shape } from '../onnx/graph.js';

export interface Window {
  kernel: number[];
  strides: number[];
  dilations: number[];
  /** ONNX layout: all begins, then all ends. */
  pads: number[];
}

const ints = (a: Attrs, k: string): number[] | undefined => (Array.isArray(a[k]) ? (a[k] as number[]) : undefined);

/** Reads kernel/strides/dilations/pads of a Conv or pooling node; rejects auto_pad. */
export function windowOf(attrs: Attrs, kernel: number[], op: string): Window {
  const n = kernel.length;
  if (typeof attrs.auto_pad === 'string' && attrs.auto_pad !== 'NOTSET') throw new Error(`${op} gradient: auto_pad=${attrs.auto_pad} is not supported; give explicit pads`);
  return {
    kernel,
    strides: ints(attrs, 'strides') ?? Array(n).fill(1),
    dilations: ints(attrs, 'dilations') ?? Array(n).fill(1),
    pads: ints(attrs, 'pads') ?? Array(2 * n).fill(0),
  };
}

/**
 * ConvTranspose attributes that map a strided window's output grid (size `outSize`) back onto
 * an input of size `inSize` exactly: same begin pads, and an end crop or output_padding chosen
 * so the transposed output has the forward input's size (covers floor and ceil modes).
 */
export function transposeAttrs(w: Window, inSize: number[], outSize: number[], group = 1): Attrs {
  const n = w.kernel.length;
  const ends: number[] = [];
  const outputPadding: number[] = [];
  for (let i = 0; i < n; i++) {
    const full = (outSize[i] - 1) * w.strides[i] - w.pads[i] + w.dilations[i] * (w.kernel[i] - 1) + 1;
    const crop = full - inSize[i];
    ends.push(Math.max(crop, 0));
    outputPadding.push(Math.max(-crop, 0));
  }
  const attrs: Attrs = { strides: w.strides, dilations: w.dilations, pads: [...w.pads.slice(0, n), ...ends], group };
  if (outputPadding.some((p) => p > 0)) attrs.output_padding = outputPadding;
  return attrs;
}

/** Reshape helper with a constant target shape. */
export function reshape(g: Graph, x: string, shape: Shape, scope: string): string {
  return g.op('Reshape', [x, g.ints(shape)], {}, { scope });
}

export function range(n: number, from = 0): number[] {
  return Array.from({ length: n - from }, (_, i) => i + from);
}
