// Y = MaxPool(X): each output's gradient goes to the input element it took. The forward's Indices
// output (flat positions into X, batch and channel included) drives a ScatterElements with
// reduction 'add' (overlapping windows can pick one element twice). A forward node without the
// Indices output gets a second MaxPool node that produces it.
//
// WebGPU cannot run the Indices output; device lowering (onnx/lower/maxpool.ts) computes the same
// indices there (first maximum, PyTorch's tie rule). On the CPU EP this Indices form is the faster
// one, so the CPU keeps it. Measured 2026-12-01 on the 2-core machine (loaded by other jobs; best of
// 5-6 rounds, the same run for each pair), glyph CNN pools at batch 256, 2 threads:
// - pool backward alone, [256,16,32,32] / [256,32,16,16] / [256,32,8,8]: Indices + scatter 45 / 25
//   / 4.9 ms; first-max mask from reshaped windows routing dY with Where 153 / 75 / 17 ms; strided
//   views with sequential tie flags 71 / 27 / 5.1 ms;
// - whole glyph train step (AdamW): Indices 722 ms vs the WebGPU lowering run on the CPU EP 905 ms.
import { numel } from '../../tensor.js';
import { zeros } from '../indices.js';
import { reshape } from '../spatial.js';
import type { GradConfig } from '../types.js';

export const maxPoolGrad: GradConfig = {
  op: 'MaxPool',
  vjp: ({ g, node, dOut, scope }) => {
    if (node.attrs.storage_order === 1) throw new Error(`${scope}: MaxPool gradient needs storage_order 0 (row-major indices)`);
    const x = node.inputs[0], dy = dOut[0];
    if (!dy) return [undefined];
    const xs = g.shape(x);
    const indices = node.outputs[1] && g.has(node.outputs[1]) ? node.outputs[1] : g.node('MaxPool', [x], node.attrs, { scope, outputs: 2 })[1];
    const flat = g.op('ScatterElements', [zeros(g, g.dtype(x), [numel(xs)], scope), reshape(g, indices, [-1], scope), reshape(g, dy, [-1], scope)], { axis: 0, reduction: 'add' }, { scope });
    return [reshape(g, flat, xs, scope)];
  },
};
