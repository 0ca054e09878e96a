// Shape inference for convolution, pooling and normalisation ops.
import type { Attrs, Shape } from './types.js';
import { normAxis, registerInference, req } from './infer.js';

const ints = (a: Attrs, k: string): number[] | undefined => (Array.isArray(a[k]) ? (a[k] as number[]) : undefined);

function spatial(x: Shape, kernel: number[], a: Attrs, transposed = false): Shape {
  const n = kernel.length;
  const strides = ints(a, 'strides') ?? Array(n).fill(1);
  const dil = ints(a, 'dilations') ?? Array(n).fill(1);
  const pads = ints(a, 'pads') ?? Array(2 * n).fill(0);
  if (typeof a.auto_pad === 'string' && a.auto_pad !== 'NOTSET') throw new Error('auto_pad is not supported; give explicit pads');
  const ceil = a.ceil_mode === 1;
  return kernel.map((k, i) => {
    const h = x[2 + i];
    if (transposed) {
      const op = ints(a, 'output_padding')?.[i] ?? 0;
      return (h - 1) * strides[i] - pads[i] - pads[i + n] + dil[i] * (k - 1) + op + 1;
    }
    const span = h + pads[i] + pads[i + n] - dil[i] * (k - 1) - 1;
    const out = (ceil ? Math.ceil(span / strides[i]) : Math.floor(span / strides[i])) + 1;
    if (ceil && (out - 1) * strides[i] >= h + pads[i]) {
      // onnxruntime's kernel drops such a window (as PyTorch does) but its shape inference counts it.
      throw new Error(`ceil_mode: the last window would start in the end padding (input ${h}, kernel ${k}, stride ${strides[i]}, pads ${pads[i]}+${pads[i + n]}); onnxruntime disagrees with itself on that output size — use ceil_mode 0, a smaller stride or less padding`);
    }
    if (out <= 0) throw new Error(`kernel ${k} (dilation ${dil[i]}) does not fit input size ${h} with pads ${pads[i]}+${pads[i + n]}`);
    return out;
  });
}

registerInference('Conv', (ins, a) => {
  const x = req(ins, 0), w = req(ins, 1), g = typeof a.group === 'number' ? a.group : 1;
  if (x.shape[1] !== w.shape[1] * g) throw new Error(`input has ${x.shape[1]} channels but weight [${w.shape}] with group ${g} expects ${w.shape[1] * g}`);
  return [{ dtype: x.dtype, shape: [x.shape[0], w.shape[0], ...spatial(x.shape, w.shape.slice(2), a)] }];
});
registerInference('ConvTranspose', (ins, a) => {
  const x = req(ins, 0), w = req(ins, 1), g = typeof a.group === 'number' ? a.group : 1;
  const explicit = ints(a, 'output_shape');
  const sp = explicit ?? spatial(x.shape, w.shape.slice(2), a, true);
  return [{ dtype: x.dtype, shape: [x.shape[0], w.shape[1] * g, ...sp] }];
});
registerInference(['MaxPool', 'AveragePool'], (ins, a, _c, op) => {
  const x = req(ins, 0), k = ints(a, 'kernel_shape');
  if (!k) throw new Error('kernel_shape is required');
  const shape = [x.shape[0], x.shape[1], ...spatial(x.shape, k, a)];
  // MaxPool's optional second output holds flat argmax indices; AveragePool has one output.
  return op === 'AveragePool' ? [{ dtype: x.dtype, shape }] : [{ dtype: x.dtype, shape }, { dtype: 'int64', shape: [...shape] }];
});
registerInference(['GlobalAveragePool', 'GlobalMaxPool'], (ins) => {
  const x = req(ins, 0);
  return [{ dtype: x.dtype, shape: [x.shape[0], x.shape[1], ...x.shape.slice(2).map(() => 1)] }];
});
registerInference('BatchNormalization', (ins, a) => {
  const x = req(ins, 0), c = [x.shape[1]];
  const y = { dtype: x.dtype, shape: [...x.shape] };
  // Inference form (training_mode 0) must have exactly one output.
  return a.training_mode === 1 ? [y, { dtype: x.dtype, shape: c }, { dtype: x.dtype, shape: [...c] }] : [y];
});
registerInference('LayerNormalization', (ins, a) => {
  const x = req(ins, 0);
  const ax = normAxis(typeof a.axis === 'number' ? a.axis : -1, x.shape.length);
  const stat = x.shape.map((d, i) => (i < ax ? d : 1));
  return [{ dtype: x.dtype, shape: [...x.shape] }, { dtype: 'float32', shape: stat }, { dtype: 'float32', shape: [...stat] }];
});
