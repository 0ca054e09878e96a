// Engine state → a PyTorch state_dict: parameters and buffers without their `param.` / `buffer.`
// role prefixes, optionally renamed by a prefix map, plus `<bn>.num_batches_tracked` (int64 scalar)
// for every BatchNorm (a `running_mean` + `running_var` pair), which `load_state_dict(strict=True)`
// expects. Written as safetensors, `safetensors.torch.load_file` + `load_state_dict` take it as is.
import { writeSafetensors } from '../checkpoint/safetensors.js';
import type { NamedTensor, TensorMap } from '../tensor.js';
import { applyPrefixMap, type PrefixMap } from './interop.js';

export interface StateDictOptions {
  /** Renames the plain model names (e.g. { backbone: "" } gives a torchvision backbone's names; { head: null } leaves the head out). */
  map?: PrefixMap;
  /** Value of every `num_batches_tracked` (PyTorch counts BatchNorm training calls; default 0). */
  numBatchesTracked?: number;
}

/** PyTorch-named tensors of `state` (param.* and buffer.*; optimizer and RNG state are left out). */
export function toStateDict(state: TensorMap | Iterable<NamedTensor>, opts: StateDictOptions = {}): NamedTensor[] {
  const list = state instanceof Map ? [...state.values()] : [...state];
  const out: NamedTensor[] = [];
  const seen = new Set<string>();
  const plain = new Map<string, NamedTensor>();
  for (const t of list) {
    const m = /^(param|buffer)\.(.+)$/.exec(t.name);
    if (!m) continue;
    const name = applyPrefixMap(m[2], opts.map);
    if (name === undefined) continue;
    if (seen.has(name)) throw new Error(`state dict: two tensors map to "${name}"; check the prefix map`);
    seen.add(name);
    plain.set(name, t);
    out.push({ name, dtype: t.dtype, shape: [...t.shape], data: t.data });
  }
  const tracked = BigInt(Math.max(0, Math.round(opts.numBatchesTracked ?? 0)));
  for (const name of [...plain.keys()]) {
    const bn = /^(.*)\.running_mean$/.exec(name)?.[1];
    if (bn === undefined || !plain.has(`${bn}.running_var`) || plain.has(`${bn}.num_batches_tracked`)) continue;
    out.push({ name: `${bn}.num_batches_tracked`, dtype: 'int64', shape: [], data: BigInt64Array.of(tracked) });
  }
  return out;
}

/** Writes toStateDict(state) as a safetensors file; returns the tensor names written. */
export async function writeStateDict(file: string, state: TensorMap | Iterable<NamedTensor>, opts: StateDictOptions = {}): Promise<string[]> {
  const tensors = toStateDict(state, opts);
  if (!tensors.length) throw new Error(`state dict: no param.* / buffer.* tensors to write to ${file}`);
  await writeSafetensors(file, tensors, { metadata: { format: 'pt', writer: 'drivetrain' } });
  return tensors.map((t) => t.name);
}
