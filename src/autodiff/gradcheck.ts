// Finite-difference gradient check for VJP rules: builds f(inputs) → y, a scalar probe
// L = sum(y * w) with fixed random w, and compares the walker's gradients with central
// differences of L. Then, where a WebGPU adapter works (software ones included, as in CI), the
// same forward + backward graph in float32 runs on WebGPU — lowered for it, with no node allowed
// on the CPU EP — and L and every gradient are compared with the CPU EP's float32 results
// (device-check.ts; batched per test file in test runs).
import type * as ort from 'onnxruntime-node';
import { Graph } from '../onnx/graph.js';
import { createSession, fromOrt, toOrt } from '../onnx/session.js';
import { probeWebGpu } from '../onnx/webgpu.js';
import { deviceCheck } from './device-check.js';
import { Rng } from '../random.js';
import type { DType, Tensor, TypedArray } from '../tensor.js';
import { allocate, numel } from '../tensor.js';
import { gradients } from './backward.js';

export interface GradcheckInput {
  name: string;
  shape: number[];
  /** Defaults to the check's dtype. Non-float inputs are never differentiated. */
  dtype?: DType;
  /** Fixed data (e.g. indices); default: uniform in `range`. */
  data?: TypedArray;
  range?: [number, number];
  /** Default true for float inputs without fixed data. */
  differentiable?: boolean;
}

export interface GradcheckSpec {
  inputs: GradcheckInput[];
  /** Builds the op(s) under test; returns the output(s) to probe. */
  build: (g: Graph, x: Record<string, string>) => string | string[];
  dtype?: 'float64' | 'float32';
  eps?: number;
  atol?: number;
  rtol?: number;
  seed?: number;
  /** Elements checked per input (sampled); default all up to 64. */
  maxElements?: number;
  /**
   * Compare forward + backward on WebGPU in float32 with the CPU EP (default true where an adapter
   * works; the environment variable DRIVETRAIN_GRADCHECK_WEBGPU=0 turns it off).
   */
  webgpu?: boolean;
  /** WebGPU vs CPU tolerance, relative to each output's largest magnitude (default 1e-4). */
  webgpuRtol?: number;
}

export interface GradcheckResult {
  maxAbsErr: number;
  checked: number;
  ops: string[];
  /** WebGPU vs CPU EP (float32): the largest error relative to each output's scale, or why it did not run. */
  webgpu: { maxRelErr: number } | { skipped: string } | { queued: true };
}

function fill(rng: Rng, dtype: DType, n: number, [lo, hi]: [number, number]): TypedArray {
  const a = allocate(dtype, n);
  for (let i = 0; i < n; i++) {
    const v = rng.uniform(lo, hi);
    if (a instanceof BigInt64Array) a[i] = BigInt(Math.floor(v));
    else (a as Float64Array)[i] = v;
  }
  return a;
}

interface Built {
  g: Graph;
  feeds: Record<string, Tensor>;
  diff: string[];
  forwardOps: string[];
  loss: string;
}

/** f(inputs), L = Σ y·w and the gradients as outputs `L`, `dL_d_<input>`. Data come from `data` or `rng`. */
function buildCheck(spec: GradcheckSpec, dtype: 'float32' | 'float64', rng: Rng, data?: Record<string, Tensor>): Built {
  const g = new Graph('gradcheck');
  const names: Record<string, string> = {};
  const feeds: Record<string, Tensor> = {};
  const diff: string[] = [];
  for (const inp of spec.inputs) {
    const dt = inp.dtype === 'float64' || inp.dtype === 'float32' || !inp.dtype ? (data ? dtype : inp.dtype ?? dtype) : inp.dtype;
    names[inp.name] = g.input(inp.name, dt, inp.shape);
    const given = data?.[inp.name];
    feeds[inp.name] = given ? convert(given, dt) : { dtype: dt, shape: inp.shape, data: inp.data ?? fill(rng, dt, numel(inp.shape), inp.range ?? [-1, 1]) };
    const isFloat = dt === 'float32' || dt === 'float64';
    if (isFloat && (inp.differentiable ?? !inp.data)) diff.push(inp.name);
  }
  const built = spec.build(g, names);
  const outs = Array.isArray(built) ? built : [built];
  const forwardOps = g.nodes.map((n) => n.op);
  let loss: string | undefined;
  for (const y of outs) {
    const info = g.info(y);
    const w = g.initializer({ name: g.fresh('probe_w'), dtype: info.dtype, shape: info.shape, data: fill(rng, info.dtype, numel(info.shape), [-1, 1]) }, true);
    const term = g.op('ReduceSum', [g.op('Mul', [y, w])], { keepdims: 0 });
    loss = loss ? g.op('Add', [loss, term]) : term;
  }
  g.output(loss!, 'L');
  const grads = gradients(g, loss!, diff);
  for (const d of diff) g.output(grads.get(d)!, `dL_d_${d}`);
  return { g, feeds, diff, forwardOps, loss: loss! };
}

function convert(t: Tensor, dtype: DType): Tensor {
  if (t.dtype === dtype) return t;
  const data = allocate(dtype, t.data.length);
  (data as Float32Array).set(t.data as Float64Array);
  return { dtype, shape: t.shape, data };
}

/** The float32 graph on WebGPU (lowered, no CPU fallback) against the CPU EP (device-check.ts). */
async function checkOnWebGpu(spec: GradcheckSpec, data: Record<string, Tensor>, label: string): Promise<GradcheckResult['webgpu']> {
  if (spec.webgpu === false) return { skipped: 'webgpu: false' };
  if (process.env.DRIVETRAIN_GRADCHECK_WEBGPU === '0') return { skipped: 'DRIVETRAIN_GRADCHECK_WEBGPU=0' };
  const noAdapter = await probeWebGpu();
  if (noAdapter) return { skipped: `no WebGPU adapter (${noAdapter})` };
  const b = buildCheck(spec, 'float32', new Rng((spec.seed ?? 1234) + 1), data);
  if ([...b.g.values.values()].some((v) => v.dtype === 'float64')) return { skipped: 'the graph uses float64, which WebGPU has no kernels for' };
  const r = await deviceCheck({ label, graph: b.g, feeds: b.feeds, outputs: ['L', ...b.diff.map((d) => `dL_d_${d}`)], rtol: spec.webgpuRtol ?? 1e-4 });
  return r === 'queued' ? { queued: true } : { maxRelErr: r };
}

export async function gradcheck(spec: GradcheckSpec): Promise<GradcheckResult> {
  const dtype = spec.dtype ?? 'float64';
  const eps = spec.eps ?? (dtype === 'float64' ? 1e-6 : 1e-2);
  const atol = spec.atol ?? (dtype === 'float64' ? 1e-6 : 2e-2);
  const rtol = spec.rtol ?? (dtype === 'float64' ? 1e-5 : 5e-2);
  const rng = new Rng(spec.seed ?? 1234);
  const { g, feeds, diff, forwardOps } = buildCheck(spec, dtype, rng);
  const data = Object.fromEntries(Object.entries(feeds).map(([k, t]) => [k, { ...t, data: t.data.slice() }]));

  const sess = await createSession(g);
  const run = async (f: Record<string, Tensor>): Promise<Record<string, ort.Tensor>> => {
    const feed: Record<string, ort.Tensor> = {};
    for (const [k, v] of Object.entries(f)) feed[k] = toOrt(v);
    return sess.run(feed);
  };
  let maxAbsErr = 0;
  let checked = 0;
  try {
    const base = await run(feeds);
    for (const d of diff) {
      const analytic = fromOrt(base[`dL_d_${d}`]).data as Float64Array;
      const x = feeds[d].data as Float64Array;
      const n = x.length;
      const limit = spec.maxElements ?? 64;
      const idx = n <= limit ? [...Array(n).keys()] : Array.from({ length: limit }, () => rng.int(n));
      for (const i of idx) {
        const orig = x[i];
        x[i] = orig + eps;
        const lp = Number((await run(feeds)).L.data[0]);
        x[i] = orig - eps;
        const lm = Number((await run(feeds)).L.data[0]);
        x[i] = orig;
        const numeric = (lp - lm) / (2 * eps);
        const err = Math.abs(numeric - analytic[i]);
        if (err > atol + rtol * Math.abs(numeric)) {
          throw new Error(`gradcheck failed for d/d${d}[${i}] in ${forwardOps.join('→')}: analytic ${analytic[i]} vs numeric ${numeric} (|err| ${err})`);
        }
        maxAbsErr = Math.max(maxAbsErr, err);
        checked++;
      }
    }
  } finally {
    await sess.release();
  }
  const webgpu = await checkOnWebGpu(spec, data, forwardOps.join('→'));
  return { maxAbsErr, checked, ops: forwardOps, webgpu };
}
