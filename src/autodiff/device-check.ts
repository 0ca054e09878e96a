// The WebGPU half of gradcheck: the float32 forward + backward graph, lowered for WebGPU and run
// with no node allowed on the CPU EP, against the same graph on the CPU EP. On lavapipe every
// session costs ~0.3 s however small, so test runs batch the checks: the vitest setup file
// (test/support/device-checks.setup.ts) switches to batch mode and, after each test file, runs
// all of that file's checks as one merged graph per EP (per check again only to name a failure).
// Outside batch mode each check runs at once.
import type * as ort from 'onnxruntime-node';
import { Graph } from '../onnx/graph.js';
import { lowerGraph } from '../onnx/lower/index.js';
import { encodeModel } from '../onnx/model.js';
import type { Tensor } from '../tensor.js';

export interface DeviceJob {
  /** Op chain and test name, for messages. */
  label: string;
  graph: Graph;
  feeds: Record<string, Tensor>;
  /** Outputs compared (L and the gradients). */
  outputs: string[];
  rtol: number;
}

let batch: { testName: () => string | undefined } | undefined;
const pending: DeviceJob[] = [];

/** Test runs: queue checks until flushDeviceChecks() (see the file comment). */
export function batchDeviceChecks(testName: () => string | undefined): void {
  batch = { testName };
}

/** Runs `job` now, or queues it in batch mode. Resolves to the largest relative error, or 'queued'. */
export async function deviceCheck(job: DeviceJob): Promise<number | 'queued'> {
  if (batch) {
    const t = batch.testName();
    pending.push({ ...job, label: t ? `${job.label} (test "${t}")` : job.label });
    return 'queued';
  }
  return runJobs([job]);
}

/** Runs the queued checks (one merged session per EP); throws naming the first that fails. */
export async function flushDeviceChecks(): Promise<{ checks: number; maxRelErr: number }> {
  const jobs = pending.splice(0, pending.length);
  if (!jobs.length) return { checks: 0, maxRelErr: 0 };
  try {
    return { checks: jobs.length, maxRelErr: await runJobs(jobs) };
  } catch (e) {
    if (jobs.length === 1) throw e;
    for (const j of jobs) await runJobs([j]); // the merged graph failed: find which check it was
    throw e;
  }
}

/** Copies `src` into `dst` with every name prefixed. */
function mergeInto(dst: Graph, src: Graph, prefix: string): void {
  const p = (n: string) => (n ? `${prefix}${n}` : n);
  for (const [k, v] of src.values) dst.values.set(p(k), { ...v, shape: [...v.shape] });
  for (const [k, t] of src.initializers) dst.initializers.set(p(k), { ...t, name: p(k) });
  dst.inputs.push(...src.inputs.map(p));
  dst.outputs.push(...src.outputs.map(p));
  for (const n of src.nodes) dst.nodes.push({ ...n, name: p(n.name), inputs: n.inputs.map(p), outputs: n.outputs.map(p) });
}

function feedsOf(jobs: DeviceJob[], int32: Set<string>): Record<string, Tensor> {
  return Object.fromEntries(jobs.flatMap((j, k) => Object.entries(j.feeds).map(([name, t]): [string, Tensor] => {
    const n = `c${k}_${name}`;
    return [n, int32.has(n) && t.dtype === 'int64' ? { dtype: 'int32', shape: t.shape, data: Int32Array.from(t.data as BigInt64Array, Number) } : t];
  })));
}

async function run(bytes: Uint8Array, opts: ort.InferenceSession.SessionOptions, feeds: Record<string, Tensor>): Promise<Record<string, Float32Array>> {
  const ort = await import('onnxruntime-node');
  const { toOrt } = await import('../onnx/session.js');
  const s = await ort.InferenceSession.create(bytes, opts);
  try {
    const out = await s.run(Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, toOrt(v)])));
    return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v.data as Float32Array]));
  } finally {
    await s.release();
  }
}

async function runJobs(jobs: DeviceJob[]): Promise<number> {
  const { CPU_SESSION_OPTIONS, WEBGPU_STRICT_OPTIONS } = await import('../onnx/session.js');
  const plain = new Graph('gradcheck_cpu'), lowered = new Graph('gradcheck_webgpu');
  const int32 = new Set<string>();
  jobs.forEach((j, k) => {
    mergeInto(plain, j.graph, `c${k}_`);
    const l = j.graph.clone();
    for (const v of lowerGraph(l, 'webgpu').int32Inputs) int32.add(`c${k}_${v}`);
    mergeInto(lowered, l, `c${k}_`);
  });
  const ref = await run(encodeModel(plain), CPU_SESSION_OPTIONS, feedsOf(jobs, new Set()));
  const got = await run(encodeModel(lowered), WEBGPU_STRICT_OPTIONS, feedsOf(jobs, int32));
  let worst = 0;
  jobs.forEach((j, k) => { worst = Math.max(worst, compare(j, (n) => ref[`c${k}_${n}`], (n) => got[`c${k}_${n}`])); });
  return worst;
}

const scaleOf = (a: ArrayLike<number>) => {
  let m = 1e-30;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
};

/** Max error relative to each output's scale; a gradient ~0 analytically (a bias before batch norm) is judged against the largest output. */
function compare(j: DeviceJob, ref: (n: string) => Float32Array, got: (n: string) => Float32Array): number {
  const floor = 1e-3 * Math.max(...j.outputs.map((n) => scaleOf(ref(n))));
  let worst = 0;
  for (const name of j.outputs) {
    const r = ref(name), w = got(name);
    const scale = Math.max(scaleOf(r), floor);
    let err = 0;
    for (let i = 0; i < r.length; i++) err = Math.max(err, Math.abs(r[i] - w[i]));
    if (!(err <= j.rtol * scale)) throw new Error(`WebGPU differs from the CPU EP for ${name} in ${j.label}: max |Δ| ${err} vs scale ${scale} (rtol ${j.rtol})`);
    worst = Math.max(worst, err / scale);
  }
  return worst;
}
