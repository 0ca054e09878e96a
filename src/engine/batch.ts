// Validation of host batches fed to the engine.
import type { Tensor } from '../tensor.js';
import type { InputSpec } from './graphs.js';

/** Checks a batch against the inputs spec; returns its batch size. */
export function checkBatch(batch: Record<string, Tensor>, names: readonly string[], inputs: Record<string, InputSpec>, batchSize: number): number {
  if (!batch || typeof batch !== 'object') throw new Error('batch must be an object of tensors by input name');
  let b: number | undefined;
  for (const n of names) {
    const t = batch[n];
    const spec = inputs[n];
    const want = () => `${spec.dtype ?? 'float32'} [b, ${spec.shape.join(', ')}]`;
    if (!t) throw new Error(`batch is missing input "${n}" (${want()}); it has ${Object.keys(batch).join(', ') || 'nothing'}`);
    if (t.dtype !== (spec.dtype ?? 'float32')) throw new Error(`batch input "${n}" is ${t.dtype}; the engine was declared with ${want()}`);
    if (t.shape.length !== spec.shape.length + 1 || spec.shape.some((d, i) => t.shape[i + 1] !== d)) throw new Error(`batch input "${n}" has shape [${t.shape}]; expected ${want()}`);
    if (b === undefined) b = t.shape[0];
    else if (t.shape[0] !== b) throw new Error(`batch inputs disagree on the batch size: "${n}" has ${t.shape[0]}, others ${b}`);
  }
  if (!b || b < 1) throw new Error('batch is empty');
  if (b > batchSize) throw new Error(`batch of ${b} exceeds the engine's batchSize ${batchSize}`);
  return b;
}
