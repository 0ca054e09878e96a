import { describe, expect, it } from 'vitest';
import { Graph } from '../onnx/graph.js';
import { runGraph } from '../onnx/session.js';
import { gradients } from './backward.js';
import { gradcheck } from './gradcheck.js';
import { registerGradient } from './registry.js';
import { DataType } from '../onnx/dtypes.js';

/** loss = sum(relu(x·W + b) · W2) with x a data input; returns the graph and its values. */
function mlp() {
  const g = new Graph();
  const x = g.input('x', 'float64', [4, 3]);
  const w = g.input('w', 'float64', [3, 5]);
  const b = g.input('b', 'float64', [5]);
  const w2 = g.input('w2', 'float64', [5, 2]);
  const h = g.op('Relu', [g.op('Add', [g.op('MatMul', [x, w]), b])]);
  const loss = g.op('ReduceSum', [g.op('MatMul', [h, w2])], { keepdims: 0 });
  return { g, x, w, b, w2, loss };
}

/** Nodes the walker adds for the given wrt (optionally after adding a side branch). */
function emitted(wrt: (m: ReturnType<typeof mlp>) => string[], side?: (m: ReturnType<typeof mlp>) => void) {
  const m = mlp();
  side?.(m);
  const before = m.g.nodes.length;
  gradients(m.g, m.loss, wrt(m));
  return m.g.nodes.slice(before);
}

describe('backward walker', () => {
  it('emits no gradient nodes for frozen parameters, unrequested inputs or data inputs', () => {
    const all = emitted((m) => [m.w, m.b, m.w2]);
    const headOnly = emitted((m) => [m.w2]);
    const count = (ns: typeof all, op: string) => ns.filter((n) => n.op === op).length;
    // All three: dW2 = hᵀ·dy, dh = dy·W2ᵀ, dW = xᵀ·dz — three MatMuls, never dx = dz·Wᵀ (x is data).
    expect(count(all, 'MatMul')).toBe(3);
    expect(all.some((n) => n.inputs.includes('w') && n.op === 'Transpose')).toBe(false);
    // Only w2 requested (w and b frozen): one MatMul and nothing from Relu, Add or the first MatMul.
    expect(count(headOnly, 'MatMul')).toBe(1);
    expect(count(headOnly, 'Where')).toBe(0);
    expect(headOnly.length).toBeLessThan(all.length - 4);
    // A consumer of w that does not reach the loss adds nothing.
    const withSide = emitted((m) => [m.w, m.b, m.w2], (m) => void m.g.op('Exp', [m.w]));
    expect(withSide.map((n) => n.op)).toEqual(all.map((n) => n.op));
  });

  it('accumulates the gradient of a value that feeds several consumers', async () => {
    const g = new Graph();
    const a = g.input('a', 'float32', [3]);
    const y = g.op('Add', [g.op('Mul', [a, a]), g.op('Exp', [a])]);
    const loss = g.op('ReduceSum', [g.op('Mul', [y, a])], { keepdims: 0 });
    const before = g.nodes.length;
    gradients(g, loss, [a]);
    expect(g.nodes.slice(before).filter((n) => n.name.includes('_acc')).length).toBe(3); // four contributions to da
    await gradcheck({
      inputs: [{ name: 'a', shape: [2, 3] }, { name: 'c', shape: [3] }],
      build: (gg, x) => {
        const s = gg.op('Mul', [x.a, x.c]);
        return gg.op('Sub', [gg.op('Mul', [s, gg.op('Exp', [x.a])]), gg.op('Tanh', [s])]);
      },
    });
  });

  it('an op with neither a rule nor a mark fails with an error naming it', () => {
    const g = new Graph();
    const a = g.input('a', 'float32', [2]);
    const y = g.op('NoSuchOpForTest', [a], {}, { out: [{ dtype: 'float32', shape: [2] }] });
    const loss = g.op('ReduceSum', [y], { keepdims: 0 });
    expect(() => gradients(g, loss, [a])).toThrow(/no gradient rule for ONNX op NoSuchOpForTest/);
  });

  it('ops marked non-differentiable stop the gradient without an error', async () => {
    const g = new Graph();
    const a = g.input('a', 'float64', [3]);
    const mask = g.op('Cast', [g.op('Greater', [a, g.constant(0, 'float64')])], { to: DataType.DOUBLE });
    const loss = g.op('ReduceSum', [g.op('Mul', [mask, a])], { keepdims: 0 });
    g.output(gradients(g, loss, [a]).get(a)!, 'da');
    const out = await runGraph(g, { a: { dtype: 'float64', shape: [3], data: Float64Array.from([-1, 2, 0.5]) } });
    expect(Array.from(out.da.data as Float64Array)).toEqual([0, 1, 1]);
  });

  it('gradcheck catches a deliberately wrong rule (registered under a fake op name)', async () => {
    // FakeSquare is lowered to the real Mul(x, x) when its rule runs, so onnxruntime can execute the
    // forward; the rule returns dy·x instead of 2·dy·x.
    registerGradient({
      op: 'FakeSquareForTest',
      vjp: ({ g, node, dOut, scope }) => {
        const x = node.inputs[0];
        Object.assign(node, { op: 'Mul', inputs: [x, x] });
        return [g.op('Mul', [dOut[0]!, x], {}, { scope })];
      },
    });
    const check = gradcheck({
      inputs: [{ name: 'a', shape: [2, 3] }],
      build: (g, x) => g.op('FakeSquareForTest', [x.a], {}, { out: [g.info(x.a)] }),
    });
    await expect(check).rejects.toThrow(/gradcheck failed for d\/da\[\d+\] in FakeSquareForTest/);
  });

  it("unreached: 'omit' leaves out a wrt the loss does not depend on, or only through non-differentiable ops", () => {
    const g = new Graph();
    const a = g.input('a', 'float64', [2]);
    const gate = g.input('gate', 'float64', [2]);
    const free = g.input('free', 'float64', [3]);
    const mask = g.op('Cast', [g.op('Greater', [gate, g.constant(0, 'float64')])], { to: DataType.DOUBLE });
    const loss = g.op('ReduceSum', [g.op('Mul', [a, mask])], { keepdims: 0 });
    expect([...gradients(g, loss, [a, gate, free], { unreached: 'omit' }).keys()]).toEqual([a]);
    expect([...gradients(g, loss, [a, gate, free]).keys()]).toEqual([a, gate, free]);
  });

  it('an unconnected wrt yields zeros of its shape', async () => {
    const g = new Graph();
    const a = g.input('a', 'float64', [2]);
    const free = g.input('free', 'float64', [3, 2]);
    const sideBranch = g.input('side', 'float64', [2]);
    g.output(g.op('Mul', [sideBranch, a]), 'unused_output'); // used, but not on the path to the loss
    const loss = g.op('ReduceSum', [g.op('Mul', [a, a])], { keepdims: 0 });
    const d = gradients(g, loss, [a, free, sideBranch]);
    g.output(d.get(free)!, 'dfree');
    g.output(d.get(sideBranch)!, 'dside');
    expect(g.shape(d.get(free)!)).toEqual([3, 2]);
    const out = await runGraph(g, {
      a: { dtype: 'float64', shape: [2], data: Float64Array.from([1, 2]) },
      free: { dtype: 'float64', shape: [3, 2], data: new Float64Array(6).fill(5) },
      side: { dtype: 'float64', shape: [2], data: Float64Array.from([3, 4]) },
    });
    expect(out.dfree.shape).toEqual([3, 2]);
    expect(Array.from(out.dfree.data as Float64Array)).toEqual([0, 0, 0, 0, 0, 0]);
    expect(Array.from(out.dside.data as Float64Array)).toEqual([0, 0]);
  });
});
