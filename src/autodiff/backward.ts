// Reverse-mode walker: emits gradient nodes (standard ONNX ops) for the nodes on the path from
// `wrt` values to `loss`, accumulating contributions and unbroadcasting centrally.
import type { Graph } from '../onnx/graph.js';
import { zeros } from './indices.js';
import { lookupVjp } from './registry.js';
import { unbroadcast } from './unbroadcast.js';

export interface BackwardOptions {
  /** Gradient of the loss itself (default: ones of the loss shape). */
  seed?: string;
  /**
   * A `wrt` no gradient reaches (the loss does not depend on it, or only through
   * non-differentiable ops): 'zeros' (default) maps it to a zeros constant, 'omit' leaves it out
   * (PyTorch's `grad is None`).
   */
  unreached?: 'zeros' | 'omit';
}

/** Returns a map wrt-name → gradient value name (see `unreached` for a wrt no gradient reaches). */
export function gradients(g: Graph, loss: string, wrt: string[], opts: BackwardOptions = {}): Map<string, string> {
  const nodes = g.nodes.slice(); // topological: the builder appends in creation order
  // Forward reachability from wrt.
  const fromWrt = new Set(wrt);
  for (const n of nodes) if (n.inputs.some((i) => fromWrt.has(i))) n.outputs.forEach((o) => fromWrt.add(o));
  // Backward reachability to loss.
  const toLoss = new Set([loss]);
  for (let k = nodes.length - 1; k >= 0; k--) {
    const n = nodes[k];
    if (n.outputs.some((o) => toLoss.has(o))) n.inputs.forEach((i) => i && toLoss.add(i));
  }
  const onPath = (v: string) => fromWrt.has(v) && toLoss.has(v);

  const grads = new Map<string, string>();
  const accumulate = (value: string, grad: string, scope: string) => {
    const gshape = unbroadcast(g, grad, g.shape(value), scope);
    const prev = grads.get(value);
    grads.set(value, prev ? g.op('Add', [prev, gshape], {}, { scope: `${scope}_acc` }) : gshape);
  };
  const lossInfo = g.info(loss);
  grads.set(loss, opts.seed ?? g.op('Expand', [g.constant(1, lossInfo.dtype), g.ints(lossInfo.shape)], {}, { scope: 'grad_seed' }));

  for (let k = nodes.length - 1; k >= 0; k--) {
    const n = nodes[k];
    if (!n.outputs.some(onPath)) continue;
    const dOut = n.outputs.map((o) => grads.get(o));
    if (dOut.every((d) => d === undefined)) continue;
    const needs = n.inputs.map((i) => i !== '' && onPath(i));
    if (!needs.some(Boolean)) continue;
    const rule = lookupVjp(n.op);
    if (rule === undefined) throw new Error(`no gradient rule for ONNX op ${n.op} (node ${n.name}); add src/autodiff/rules/${n.op}.ts or mark it non-differentiable`);
    if (rule === 'none') continue;
    const scope = `grad_${n.name}`;
    const dIn = rule({ g, node: n, dOut, needs, scope });
    dIn.forEach((d, i) => {
      if (d && needs[i]) accumulate(n.inputs[i], d, scope);
    });
  }
  const out = new Map<string, string>();
  for (const w of wrt) {
    const d = grads.get(w);
    if (d) out.set(w, d);
    else if (opts.unreached !== 'omit') out.set(w, zeros(g, g.dtype(w), g.shape(w), 'grad_zero'));
  }
  return out;
}
