// One-shot helpers around onnxruntime-node sessions (tests, export checks, small tools).
import * as ort from 'onnxruntime-node';
import type { Tensor, TypedArray } from '../tensor.js';
import { ORT_TYPE } from './dtypes.js';
import type { Graph } from './graph.js';
import { encodeModel } from './model.js';

export const CPU_SESSION_OPTIONS: ort.InferenceSession.SessionOptions = {
  executionProviders: ['cpu'],
  // Spinning intra-op threads fight Node's main thread on small machines (FACTS.md).
  extra: { session: { 'intra_op.allow_spinning': '0' } },
};

/** WebGPU EP with no node allowed on the CPU EP (session creation fails instead): for checks. */
export const WEBGPU_STRICT_OPTIONS: ort.InferenceSession.SessionOptions = {
  executionProviders: ['webgpu'],
  extra: { session: { 'disable_cpu_ep_fallback': '1' } },
};

export function toOrt(t: Tensor): ort.Tensor {
  const data = t.dtype === 'bool' ? new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.length) : t.data;
  return new ort.Tensor(ORT_TYPE[t.dtype] as ort.Tensor.Type, data as never, t.shape);
}

export function fromOrt(t: ort.Tensor): Tensor {
  const dtype = t.type === 'bool' ? 'bool' : (t.type as Tensor['dtype']);
  let data = t.data as TypedArray | boolean[];
  if (dtype === 'bool' && !(data instanceof Uint8Array)) data = Uint8Array.from(data as ArrayLike<number>);
  return { dtype, shape: [...t.dims], data: data as TypedArray };
}

export async function createSession(g: Graph, opts: ort.InferenceSession.SessionOptions = CPU_SESSION_OPTIONS): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(encodeModel(g), opts);
}

/** Builds a session for `g`, runs it once and returns every graph output. */
export async function runGraph(g: Graph, feeds: Record<string, Tensor>): Promise<Record<string, Tensor>> {
  const sess = await createSession(g);
  try {
    const input: Record<string, ort.Tensor> = {};
    for (const [k, v] of Object.entries(feeds)) input[k] = toOrt(v);
    const out = await sess.run(input);
    const res: Record<string, Tensor> = {};
    for (const [k, v] of Object.entries(out)) res[k] = fromOrt(v);
    return res;
  } finally {
    await sess.release();
  }
}
