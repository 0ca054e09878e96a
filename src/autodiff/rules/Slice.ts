// y = x[starts:ends:steps] on axes: dx = zeros with dy written back at the sliced positions —
// Pad when every step is 1, else ScatterND with constant indices.
import { normAxis } from '../../onnx/infer.js';
import { numel } from '../../tensor.js';
import { zeros } from '../indices.js';
import type { GradConfig } from '../types.js';

export const sliceGrad: GradConfig = {
  op: 'Slice',
  vjp: ({ g, node, dOut, scope }) => {
    const [x, s, e, ax, st] = node.inputs, dy = dOut[0]!;
    const shape = g.shape(x), rank = shape.length, out = g.shape(node.outputs[0]);
    const starts = g.constValue(s), ends = g.constValue(e);
    const axes = ax ? g.constValue(ax) : starts?.map((_, k) => k);
    const steps = st ? g.constValue(st) : starts?.map(() => 1);
    if (!starts || !ends || !axes || !steps) throw new Error(`${scope}: Slice gradient needs constant starts/ends/axes/steps`);
    const first = shape.map(() => 0), step = shape.map(() => 1);
    axes.forEach((a0, k) => {
      const a = normAxis(a0, rank), d = shape[a], v = starts[k] < 0 ? starts[k] + d : starts[k];
      step[a] = steps[k];
      first[a] = steps[k] > 0 ? Math.min(Math.max(v, 0), d) : Math.min(Math.max(v, 0), d - 1);
    });
    if (step.every((v) => v === 1)) {
      const pads = [...first, ...shape.map((d, i) => d - first[i] - out[i])];
      return [g.op('Pad', [dy, g.ints(pads)], {}, { scope })];
    }
    // Index of every output element in x, row-major over the output: [...out, rank].
    const n = numel(out), idx: number[] = new Array(n * rank);
    for (let flat = 0; flat < n; flat++) {
      for (let i = rank - 1, r = flat; i >= 0; i--) {
        idx[flat * rank + i] = first[i] + (r % out[i]) * step[i];
        r = Math.floor(r / out[i]);
      }
    }
    return [g.op('ScatterND', [zeros(g, g.dtype(x), shape, scope), g.constant(idx, 'int64', [...out, rank]), dy], {}, { scope })];
  },
};
