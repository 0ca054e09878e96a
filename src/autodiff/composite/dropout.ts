// Dropout whose mask comes from a counter-based hash of (seed, counter, stream, element index),
// computed with int64 Mul/Add/Mod only. The state [seed, counter] is a graph input and its
// advanced copy a graph output, so a run resumed from a checkpoint draws exactly the same masks.
// Hand-written because ONNX's Dropout/RandomUniform take their seed as a build-time attribute:
// no standard op accepts RNG state as an input. Integer arithmetic keeps the mask bit-identical
// on every execution provider. The gradient flows through the final Mul by the generic Mul rule.
import type { Graph } from '../../onnx/graph.js';
import { numel } from '../../tensor.js';

/** 2^31 − 1 (prime): every product below stays under 2^63, so int64 never overflows. */
const P = 2147483647;

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

/**
 * Training-mode dropout. `rngState` is an int64 [2] value holding [seed, counter]; `ratio` is the
 * drop probability in [0, 1).
 */
export function dropout(g: Graph, x: string, ratio: number, rngState: string, opts: DropoutOptions = {}): DropoutResult {
  const scope = opts.scope ?? 'dropout';
  if (!(ratio >= 0 && ratio < 1)) throw new Error(`${scope}: dropout ratio must be in [0, 1), got ${ratio}`);
  const st = g.info(rngState);
  if (st.dtype !== 'int64' || st.shape.length !== 1 || st.shape[0] !== 2) {
    throw new Error(`${scope}: RNG state must be int64 [2] ([seed, counter]), got ${st.dtype} [${st.shape}]`);
  }
  const op = (type: string, inputs: string[]) => g.op(type, inputs, {}, { scope });
  const k = (v: number) => g.constant(v, 'int64');
  const mod = (v: string) => op('Mod', [v, k(P)]);
  const affine = (v: string, a: number, b: string) => mod(op('Add', [op('Mul', [v, k(a)]), b]));

  const seed = mod(g.op('Gather', [rngState, k(0)], { axis: 0 }, { scope }));
  const counter = mod(g.op('Gather', [rngState, k(1)], { axis: 0 }, { scope }));
  const key = mod(op('Add', [affine(seed, 48271, k(12345)), affine(counter, 16807, k(((opts.stream ?? 0) * 69621 + 7) % P))]));

  const xs = g.shape(x), n = numel(xs);
  const idx = g.op('Range', [k(0), k(n), k(1)], {}, { scope, out: [{ dtype: 'int64', shape: [n] }] });
  let h = affine(mod(idx), 69621, key);
  h = mod(op('Add', [op('Mul', [h, h]), key]));
  h = affine(h, 48271, k(11));
  h = mod(op('Add', [op('Mul', [h, h]), k(7)]));
  h = affine(h, 16807, key);
  // h is close to uniform on [0, P): drop where h < ratio·P.
  const drop = op('Less', [g.op('Reshape', [h, g.ints(xs)], {}, { scope }), k(Math.floor(ratio * P))]);
  const dt = g.dtype(x);
  const mask = g.op('Where', [drop, g.constant(0, dt), g.constant(1, dt)], {}, { scope });
  const scaled = g.op('Where', [drop, g.constant(0, dt), g.constant(1 / (1 - ratio), dt)], {}, { scope });
  const y = op('Mul', [x, scaled]);
  const newRngState = op('Add', [rngState, g.ints([0, 1])]);
  return { y, newRngState, mask };
}
