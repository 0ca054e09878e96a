// Runs Debian's python3-onnx checker (onnx.checker.check_model with full_check, i.e. with strict
// shape inference) over an emitted train-step graph (conv + batch norm + pool + dropout + linear,
// cross-entropy loss, gradients, SGD update) and an inference graph. Skips with a printed reason
// where /usr/bin/python3 has no onnx module (install: apt-get install python3-onnx).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { gradients } from '../src/autodiff/backward.js';
import { batchNormTraining } from '../src/autodiff/composite/batchnorm.js';
import { dropout, dropoutState } from '../src/autodiff/composite/dropout.js';
import { Graph } from '../src/onnx/graph.js';
import { encodeModel } from '../src/onnx/model.js';
import { runGraph } from '../src/onnx/session.js';
import type { Tensor } from '../src/tensor.js';
import { numel } from '../src/tensor.js';

const PY = '/usr/bin/python3';
const probe = spawnSync(PY, ['-c', 'import onnx; print(onnx.__version__)'], { encoding: 'utf8' });
const skipReason = probe.status === 0 ? undefined : `${PY} cannot import onnx (${(probe.stderr || String(probe.error)).trim().split('\n').pop()}); install python3-onnx to run this check`;
if (skipReason) console.log(`onnx-checker tests skipped: ${skipReason}`);

const dir = mkdtempSync(join(tmpdir(), 'drivetrain-checker-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function check(g: Graph, file: string): void {
  const path = join(dir, file);
  writeFileSync(path, encodeModel(g));
  const r = spawnSync(PY, ['-c', 'import onnx, sys; m = onnx.load(sys.argv[1]); onnx.checker.check_model(m, full_check=True); print("ok", len(m.graph.node))', path], { encoding: 'utf8' });
  expect(r.stderr).toBe('');
  expect(r.stdout).toMatch(/^ok \d+/);
}

const params: Record<string, number[]> = { 'conv.weight': [4, 1, 3, 3], 'conv.bias': [4], 'bn.weight': [4], 'bn.bias': [4], 'fc.weight': [3, 64], 'fc.bias': [3] };

function trainStep(): Graph {
  const g = new Graph('train_step');
  const x = g.input('x', 'float32', [4, 1, 8, 8]);
  const target = g.input('target', 'float32', [4, 3]); // one-hot
  const lr = g.input('lr', 'float32', []);
  const p = Object.fromEntries(Object.entries(params).map(([k, s]) => [k, g.input(`param.${k}`, 'float32', s)]));
  const rm = g.input('buffer.bn.running_mean', 'float32', [4]);
  const rv = g.input('buffer.bn.running_var', 'float32', [4]);
  const rng = g.input('rng.dropout', 'int64', [2]);
  const c = g.op('Conv', [x, p['conv.weight'], p['conv.bias']], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }, { scope: 'conv' });
  const bn = batchNormTraining(g, c, p['bn.weight'], p['bn.bias'], rm, rv, { scope: 'bn' });
  const pooled = g.node('MaxPool', [g.op('Relu', [bn.y])], { kernel_shape: [2, 2], strides: [2, 2] }, { scope: 'pool', outputs: 1 })[0];
  const drop = dropout(g, g.op('Flatten', [pooled], { axis: 1 }), 0.2, rng, { scope: 'drop' });
  const logits = g.op('Gemm', [drop.y, p['fc.weight'], p['fc.bias']], { transB: 1 }, { scope: 'fc' });
  const logp = g.op('LogSoftmax', [logits], { axis: 1 });
  const loss = g.op('Neg', [g.op('ReduceMean', [g.op('ReduceSum', [g.op('Mul', [logp, target]), g.ints([1])], { keepdims: 0 })], { keepdims: 0 })]);
  g.output(loss, 'loss');
  const grads = gradients(g, loss, Object.values(p));
  for (const [k, v] of Object.entries(p)) g.output(g.op('Sub', [v, g.op('Mul', [grads.get(v)!, lr])], {}, { scope: `sgd.${k}` }), `param.${k}_new`);
  g.output(bn.newRunningMean, 'buffer.bn.running_mean_new');
  g.output(bn.newRunningVar, 'buffer.bn.running_var_new');
  g.output(drop.newRngState, 'rng.dropout_new');
  return g;
}

function inference(): Graph {
  const g = new Graph('inference');
  const x = g.input('x', 'float32', [1, 1, 8, 8]);
  const init = (name: string, shape: number[], v = 0.1) => g.initializer({ name, dtype: 'float32', shape, data: new Float32Array(numel(shape)).fill(v) });
  const p = Object.fromEntries(Object.entries(params).map(([k, s]) => [k, init(k, s)]));
  const c = g.op('Conv', [x, p['conv.weight'], p['conv.bias']], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] });
  const bn = g.op('BatchNormalization', [c, p['bn.weight'], p['bn.bias'], init('bn.running_mean', [4], 0), init('bn.running_var', [4], 1)], { epsilon: 1e-5 });
  const pooled = g.node('MaxPool', [g.op('Relu', [bn])], { kernel_shape: [2, 2], strides: [2, 2] }, { outputs: 1 })[0];
  const logits = g.op('Gemm', [g.op('Flatten', [pooled], { axis: 1 }), p['fc.weight'], p['fc.bias']], { transB: 1 });
  g.output(g.op('Softmax', [logits], { axis: 1 }), 'probs');
  return g;
}

describe('emitted graphs pass onnx.checker (full_check)', () => {
  it('train step onnxruntime runs: loss decreases over a few steps on one batch', async () => {
    const g = trainStep();
    const f32 = (shape: number[], f: (i: number) => number): Tensor => ({ dtype: 'float32', shape, data: Float32Array.from({ length: numel(shape) }, (_, i) => f(i)) });
    const state: Record<string, Tensor> = Object.fromEntries(Object.entries(params).map(([k, s]) => [`param.${k}`, f32(s, (i) => (k.endsWith('bn.weight') ? 1 : Math.sin(i * 1.7 + s.length) * 0.3))]));
    state['buffer.bn.running_mean'] = f32([4], () => 0);
    state['buffer.bn.running_var'] = f32([4], () => 1);
    state['rng.dropout'] = { dtype: 'int64', shape: [2], data: dropoutState(1) };
    const batch = { x: f32([4, 1, 8, 8], (i) => Math.cos(i * 0.37)), target: f32([4, 3], (i) => (i % 3 === Math.floor(i / 3) % 3 ? 1 : 0)), lr: f32([], () => 0.1) };
    const losses: number[] = [];
    for (let s = 0; s < 5; s++) {
      const out = await runGraph(g, { ...batch, ...state });
      losses.push(Number(out.loss.data[0]));
      for (const k of Object.keys(state)) state[k] = out[`${k}_new`];
    }
    expect(losses[4]).toBeLessThan(losses[0]);
    expect(Array.from(state['rng.dropout'].data as BigInt64Array)).toEqual([1n, 5n]);
  });
  it.skipIf(!!skipReason)('train-step graph', () => check(trainStep(), 'train.onnx'));
  it.skipIf(!!skipReason)('inference graph', () => check(inference(), 'inference.onnx'));
});
