// Every WebGPU lowering rule, run on both execution providers: the original graph on the CPU EP
// is the reference; the lowered graph runs on the CPU EP and on WebGPU with CPU fallback
// disabled (so no node of it may land on the CPU). All cases share one graph and one session
// per EP (lavapipe compiles each shader once, slowly).
import { beforeAll, describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { gradients } from '../../autodiff/backward.js';
import { dropout, dropoutState } from '../../autodiff/composite/dropout.js';
import { probeWebGpu, webGpuMissing } from '../webgpu.js';
import { Rng } from '../../random.js';
import type { Tensor, TypedArray } from '../../tensor.js';
import { numel } from '../../tensor.js';
import { Graph } from '../graph.js';
import { encodeModel } from '../model.js';
import { CPU_SESSION_OPTIONS, fromOrt, toOrt, WEBGPU_STRICT_OPTIONS } from '../session.js';
import { lowerGraph } from './index.js';
import { DataType } from '../dtypes.js';

interface Case { name: string; outputs: string[]; exact?: boolean }
const rng = new Rng(3);
const feeds: Record<string, Tensor> = {};
const cases: Case[] = [];

function input(g: Graph, name: string, shape: number[], data: TypedArray, dtype: Tensor['dtype'] = 'float32'): string {
  feeds[name] = { dtype, shape, data };
  return g.input(name, dtype, shape);
}
const floats = (n: number, lo = -1, hi = 1) => Float32Array.from({ length: n }, () => rng.uniform(lo, hi));
const out = (g: Graph, c: string, v: string, k: number) => g.output(v, `${c}_out${k}`);
function add(g: Graph, name: string, values: string[], exact = false) {
  cases.push({ name, outputs: values.map((v, k) => out(g, name, v, k)), exact });
}

function buildCases(): Graph {
  const g = new Graph('lowering');
  const big = input(g, 'big', [3, 5], floats(15, 80, 120));
  add(g, 'log-softmax', [g.op('LogSoftmax', [big], { axis: 1 }), g.op('LogSoftmax', [input(g, 'small', [3, 5], floats(15))], { axis: 0 })]);
  add(g, 'reduce-log-sum-exp', [g.op('ReduceLogSumExp', [big], { axes: [1], keepdims: 0 }), g.op('ReduceLogSumExp', [big], { keepdims: 1 })]);
  add(g, 'sum', [g.op('Sum', [input(g, 's1', [3, 1], floats(3)), input(g, 's2', [1, 5], floats(5)), input(g, 's3', [3, 5], floats(15))])]);
  add(g, 'sign', [g.op('Sign', [input(g, 'sg', [6], Float32Array.of(-2, -0, 0, 0.5, 3, -1e-30))])], true);
  const a = input(g, 'ba', [4], Uint8Array.of(0, 0, 1, 1), 'bool'), b = input(g, 'bb', [4], Uint8Array.of(0, 1, 0, 1), 'bool');
  add(g, 'or-xor', ['Or', 'Xor'].map((op) => g.op('Cast', [g.op(op, [a, b])], { to: DataType.FLOAT })), true);
  const hot = input(g, 'hot', [4], BigInt64Array.of(0n, 3n, -1n, 2n), 'int64');
  const onoff = g.constant([0, 1], 'float32');
  add(g, 'one-hot', [g.op('OneHot', [hot, g.constant(5, 'int64', []), onoff], { axis: -1 }), g.op('OneHot', [hot, g.constant(5, 'int64', []), onoff], { axis: 0 })], true);
  const tie = input(g, 'tie', [3, 5], Float32Array.of(1, 3, 3, 0, 2, 5, 5, 5, 5, 5, -1, -2, -3, -4, -1));
  add(g, 'arg-max', [g.op('ArgMax', [tie], { axis: 1, keepdims: 0 }), g.op('ArgMax', [tie], { axis: 1, keepdims: 1, select_last_index: 1 }), g.op('ArgMax', [tie], { axis: 0 })], true);
  maxPoolCases(g);
  int64Case(g);
  const d = dropout(g, input(g, 'dx', [8, 40], floats(320)), 0.3, input(g, 'drng', [2], dropoutState(12345, 7), 'int64'), { scope: 'drop' });
  add(g, 'dropout-int32', [d.mask, d.newRngState], true);
  return g;
}

/** Y, Indices and the MaxPool VJP's scatter of dY, for several windows; inputs with ReLU-like ties. */
function maxPoolCases(g: Graph) {
  const configs: [number[], Record<string, number[] | number>][] = [
    [[2, 3, 8, 8], { kernel_shape: [2, 2], strides: [2, 2] }],
    [[2, 2, 7, 6], { kernel_shape: [3, 3], pads: [1, 0, 1, 1], dilations: [1, 2], strides: [2, 1], ceil_mode: 1 }],
    [[1, 2, 9, 9], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }],
    [[1, 1, 5, 7], { kernel_shape: [2, 2], strides: [2, 2] }], // floor mode drops the last row / column
  ];
  configs.forEach(([shape, attrs], k) => {
    const x = input(g, `mp${k}`, shape, Float32Array.from({ length: numel(shape) }, () => Math.max(0, Math.round(rng.uniform(-3, 3))))); // many ties
    const [y, idx] = g.node('MaxPool', [x], attrs, { outputs: 2 });
    const dy = input(g, `mp${k}_dy`, g.shape(y), floats(numel(g.shape(y))));
    const zeros = g.op('Expand', [g.constant(0), g.ints([numel(shape)])]);
    const dx = g.op('ScatterElements', [zeros, g.op('Reshape', [idx, g.ints([-1])]), g.op('Reshape', [dy, g.ints([-1])])], { axis: 0, reduction: 'add' });
    add(g, `maxpool-${k}`, [y, idx, dx], true);
  });
}

/** int64 labels through Equal/Where/Cast/Gather/GatherElements/Neg/Slice/Add and the Gather VJP's ScatterND. */
function int64Case(g: Graph) {
  const y = input(g, 'labels', [4], BigInt64Array.of(2n, 0n, 3n, 1n), 'int64');
  const table = input(g, 'table', [5, 3], floats(15));
  const emb = g.op('Gather', [table, y], { axis: 0 });
  const grad = gradients(g, g.op('ReduceSum', [g.op('Mul', [emb, emb])], { keepdims: 0 }), [table]).get(table)!;
  const hit = g.op('Equal', [y, g.constant(3, 'int64')]);
  const masked = g.op('Where', [hit, g.constant(0, 'int64'), y]);
  const picked = g.op('GatherElements', [input(g, 'logits', [4, 5], floats(20)), g.op('Reshape', [y, g.ints([4, 1])])], { axis: 1 });
  const sliced = g.op('Slice', [g.op('Neg', [y]), g.ints([1]), g.ints([4]), g.ints([0]), g.ints([2])]);
  add(g, 'int64-to-int32', [emb, grad, g.op('Cast', [masked], { to: DataType.FLOAT }), picked, sliced, g.op('Add', [y, g.constant(1, 'int64')])], true);
}

async function runAll(bytes: Uint8Array, opts: ort.InferenceSession.SessionOptions, int32: Set<string>): Promise<Record<string, Tensor>> {
  const s = await ort.InferenceSession.create(bytes, opts);
  try {
    const f: Record<string, ort.Tensor> = {};
    for (const [k, t] of Object.entries(feeds)) {
      f[k] = toOrt(int32.has(k) ? { dtype: 'int32', shape: t.shape, data: Int32Array.from(t.data as BigInt64Array, Number) } : t);
    }
    const o = await s.run(f);
    return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, fromOrt(v)]));
  } finally {
    await s.release();
  }
}

const noAdapter = await probeWebGpu();
if (noAdapter) console.log(`lowering tests: the WebGPU half is skipped — ${webGpuMissing(noAdapter)}`);
let ref: Record<string, Tensor>, cpu: Record<string, Tensor>, gpu: Record<string, Tensor> | undefined;
let report: ReturnType<typeof lowerGraph>;

beforeAll(async () => {
  const g = buildCases();
  const original = encodeModel(g);
  report = lowerGraph(g, 'webgpu');
  const lowered = encodeModel(g);
  const int32 = new Set(report.int32Inputs);
  ref = await runAll(original, CPU_SESSION_OPTIONS, new Set());
  cpu = await runAll(lowered, CPU_SESSION_OPTIONS, int32);
  if (!noAdapter) gpu = await runAll(lowered, WEBGPU_STRICT_OPTIONS, int32);
}, 300_000);

function compare(c: Case) {
  for (const o of c.outputs) {
    const want = Array.from(ref[o].data as ArrayLike<number | bigint>, Number);
    for (const [ep, got] of [['cpu', cpu], ['webgpu', gpu]] as const) {
      if (!got) continue;
      const have = Array.from(got[o].data as ArrayLike<number | bigint>, Number);
      expect(got[o].shape, `${o} on ${ep}`).toEqual(ref[o].shape);
      if (c.exact) expect(have, `${o} on ${ep}`).toEqual(want);
      else have.forEach((v, i) => expect(Math.abs(v - want[i]), `${o}[${i}] on ${ep}`).toBeLessThanOrEqual(2e-5 * Math.max(1, Math.abs(want[i]))));
    }
  }
}

describe('device lowering for WebGPU (each rule on the CPU EP and on WebGPU without CPU fallback)', () => {
  it('rewrites what WebGPU lacks and retypes int64 to int32', () => {
    expect(!!gpu || !!noAdapter, 'the WebGPU half ran').toBe(true);
    expect(report.rules).toMatchObject({ 'log-softmax': 2, 'reduce-log-sum-exp': 2, sum: 1, sign: 1, 'or-xor': 2, 'one-hot': 2, 'arg-max': 3, 'maxpool-first-max-indices': 4, 'int32-neg-abs': 1, 'int32-slice': 1 });
    expect(report.int32Inputs.sort()).toEqual(['drng', 'hot', 'labels']);
    expect(report.int32Outputs.length).toBeGreaterThan(0);
  });
  it('the CPU target is the identity', () => {
    const g = buildCases();
    const before = encodeModel(g);
    expect(lowerGraph(g, 'cpu')).toMatchObject({ rules: {}, int32Inputs: [] });
    expect(Buffer.from(encodeModel(g)).equals(Buffer.from(before))).toBe(true);
  });
  for (const name of ['log-softmax', 'reduce-log-sum-exp', 'sum', 'sign', 'or-xor', 'one-hot', 'arg-max', 'maxpool-0', 'maxpool-1', 'maxpool-2', 'maxpool-3', 'int64-to-int32', 'dropout-int32']) {
    it(`${name}: same results as the original graph`, () => compare(cases.find((c) => c.name === name)!));
  }
  it('log-softmax and log-sum-exp stay finite for logits near 120 (WebGPU\'s own ReduceLogSumExp overflows)', () => {
    for (const o of [...cases[0].outputs, ...cases[1].outputs]) for (const r of [cpu, gpu]) if (r) expect([...(r[o].data as Float32Array)].every(Number.isFinite)).toBe(true);
  });
});
