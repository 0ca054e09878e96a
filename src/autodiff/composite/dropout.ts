// Dropout whose mask comes from a counter-based hash of (seed, counter, stream, element index).
// The state [seed, counter] is a graph input and its advanced copy a graph output, so a run
// resumed from a checkpoint draws exactly the same masks — on the CPU and on WebGPU alike.
// Hand-written because ONNX's Dropout/RandomUniform take their seed as a build-time attribute:
// no standard op accepts RNG state as an input. The gradient flows through the final Mul.
//
// The hash is int32 arithmetic with only Add, Mul, Div, Less, Where, Range, Split and Cast:
// the WebGPU EP has no Mod, no bit operations and no int64 kernels (FACTS.md). Products wrap
// modulo 2^32 — WGSL defines that, the CPU EP's int32 kernels do it in practice, and a test
// checks both against a JavaScript reference (Math.imul) bit for bit — so the masks are the same
// on every execution provider. Without xor, multiplications by constants and add-shifts
// (h + trunc(h / 2^16)) are nearly linear mod 2^32 and leave neighbouring elements correlated;
// the mixer therefore squares: h ← s(h)·(s(h) + C) twice, s(h) = h + trunc(h / 2^16), then one
// multiplication by an odd constant. The key mixes seed, counter and stream the same way. An
// element is dropped where its hash is below −2^31 + ratio·2^32. Measured against
// MurmurHash3's fmix32 over 400 keys × 65536 elements: drop-rate and lag-1 z-scores ~N(0, 1) for
// both. On the CPU EP it is 2.4-4× faster than the int64 Mod hash it replaced (issue 10).
import type { Graph } from '../../onnx/graph.js';
import { numel } from '../../tensor.js';
import { DataType } from '../../onnx/dtypes.js';

const GOLDEN = 0x9e3779b1 | 0;
const M1 = 0x85ebca6b | 0;
const M2 = 0xc2b2ae35 | 0;
const C1 = 0x68e31da5 | 0;
const C2 = 0xb5297a4d | 0;

/** The mixer on int32 values (wrapping): two squaring rounds and a multiplication. */
function mix(g: Graph, h: string, scope: string): string {
  const op = (type: string, inputs: string[]) => g.op(type, inputs, {}, { scope });
  const k = (v: number) => g.constant(v, 'int32');
  const shiftAdd = (v: string) => op('Add', [v, op('Div', [v, k(65536)])]);
  const square = (v: string, c: number) => op('Mul', [v, op('Add', [v, k(c)])]);
  return op('Mul', [square(shiftAdd(square(shiftAdd(h), C1)), C2), k(M1)]);
}

/** The mixer in JavaScript (reference for tests). */
function mixReference(h: number): number {
  const shiftAdd = (v: number) => (v + Math.trunc(v / 65536)) | 0;
  const square = (v: number, c: number) => Math.imul(v, (v + c) | 0);
  return Math.imul(square(shiftAdd(square(shiftAdd(h), C1)), C2), M1);
}

/** Hash of element `i` under `key`, in JavaScript (reference for tests). */
export function dropoutHashReference(i: number, key: number): number {
  return mixReference((Math.imul(i, GOLDEN) + key) | 0);
}

/** Key of a state and stream, in JavaScript (reference for tests). */
export function dropoutKeyReference(seed: number, counter: number, stream: number): number {
  return mixReference((Math.imul(seed, M1) + Math.imul(counter, M2) + streamOffset(stream)) | 0);
}

const streamOffset = (stream: number) => (Math.imul(stream, 69621) + 7) | 0;

export interface DropoutOptions {
  /** Name prefix for the emitted nodes. */
  scope?: string;
  /**
   * Mixed into the hash so layers sharing one state draw independent masks. Either chain the
   * states (pass one call's newRngState to the next) or give each layer its own stream.
   */
  stream?: number;
}

export interface DropoutResult {
  /** x · mask / (1 − ratio), mask ~ Bernoulli(1 − ratio). */
  y: string;
  /** [seed, counter + 1]. */
  newRngState: string;
  /** The 0/1 keep mask as x's dtype (for tests and metrics). */
  mask: string;
}

/** A fresh RNG state value for `seed` (as a tensor, for Engine state / checkpoints). */
export function dropoutState(seed: number, counter = 0): BigInt64Array {
  return BigInt64Array.from([BigInt(seed), BigInt(counter)]);
}

/** Scalar int32 key from the state [seed, counter] (int64 or int32 values below 2^31) and the stream. */
function streamKey(g: Graph, rngState: string, stream: number, scope: string): string {
  const op = (type: string, inputs: string[], attrs = {}) => g.op(type, inputs, attrs, { scope });
  const k = (v: number) => g.constant(v, 'int32');
  // Elementwise Mul/Add only: the CPU EP's int32 ReduceSum saturates instead of wrapping.
  const [seed, counter] = g.node('Split', [op('Cast', [rngState], { to: DataType.INT32 }), g.ints([1, 1])], { axis: 0 }, { scope, outputs: 2 });
  const h = op('Add', [op('Add', [op('Mul', [seed, k(M1)]), op('Mul', [counter, k(M2)])]), k(streamOffset(stream))]);
  return mix(g, h, scope);
}

/** Hashes below this int32 value are dropped: a fraction `ratio` of all 2^32 values. */
export function dropThreshold(ratio: number): number {
  return -(2 ** 31) + Math.floor(ratio * 2 ** 32);
}

/**
 * Training-mode dropout. `rngState` is an int64 [2] value holding [seed, counter] (both below
 * 2^31); `ratio` is the drop probability in [0, 1).
 */
export function dropout(g: Graph, x: string, ratio: number, rngState: string, opts: DropoutOptions = {}): DropoutResult {
  const scope = opts.scope ?? 'dropout';
  if (!(ratio >= 0 && ratio < 1)) throw new Error(`${scope}: dropout ratio must be in [0, 1), got ${ratio}`);
  const st = g.info(rngState);
  if (st.dtype !== 'int64' || st.shape.length !== 1 || st.shape[0] !== 2) {
    throw new Error(`${scope}: RNG state must be int64 [2] ([seed, counter]), got ${st.dtype} [${st.shape}]`);
  }
  const xs = g.shape(x), n = numel(xs), dt = g.dtype(x);
  if (n >= 2 ** 31) throw new Error(`${scope}: dropout over ${n} elements exceeds the int32 index range; split the tensor`);
  const op = (type: string, inputs: string[]) => g.op(type, inputs, {}, { scope });
  const idx = g.op('Range', [g.constant(0, 'int32'), g.constant(n, 'int32'), g.constant(1, 'int32')], {}, { scope, out: [{ dtype: 'int32', shape: [n] }] });
  const h = mix(g, op('Add', [op('Mul', [idx, g.constant(GOLDEN, 'int32')]), streamKey(g, rngState, opts.stream ?? 0, scope)]), scope);
  const drop = op('Reshape', [op('Less', [h, g.constant(dropThreshold(ratio), 'int32')]), g.ints(xs)]);
  const mask = op('Where', [drop, g.constant(0, dt), g.constant(1, dt)]);
  const scaled = op('Where', [drop, g.constant(0, dt), g.constant(1 / (1 - ratio), dt)]);
  const y = op('Mul', [x, scaled]);
  const newRngState = op('Add', [rngState, g.ints([0, 1])]);
  return { y, newRngState, mask };
}
