// Initialising an engine's weights from an ONNX model's initializers or a safetensors file, by name.
import { readSafetensors } from '../checkpoint/safetensors.js';
import type { NamedTensor, TensorMap } from '../tensor.js';
import { numel } from '../tensor.js';
import type { StatePlan } from './graphs.js';
import type { SetStateOptions } from './state.js';
import { readOnnxInitializers } from './onnx-weights.js';

export interface LoadWeightsOptions {
  /** Fail on any missing, unexpected or mismatched name (default false: load what matches). */
  strict?: boolean;
  /** Maps a source name to an engine name (`fc1.weight` or `param.fc1.weight`); return undefined to skip it. */
  rename?: (name: string) => string | undefined;
  /** Report printer (default console.log); pass () => {} to silence. */
  log?: (msg: string) => void;
}

export interface LoadWeightsReport {
  /** Engine state names loaded. */
  matched: string[];
  /** Engine parameters/buffers the source did not provide (they keep their values); mismatched ones are listed there instead. */
  missing: string[];
  /** Source names with no engine counterpart. */
  unexpected: string[];
  /** Same name, different shape or dtype (not loaded). */
  mismatched: { name: string; source: string; engine: string }[];
  /** Ignored on purpose: PyTorch bookkeeping (`*.num_batches_tracked`) and, from .onnx files, unmatched integer or tiny (≤ 16 values) initializers, which are graph constants. */
  ignored: string[];
}

/** What loadEngineWeights needs of an Engine (structural: this file does not import engine.ts). */
export interface WeightsTarget {
  readonly plan: Pick<StatePlan, 'decls'>;
  setState(tensors: NamedTensor[], opts: SetStateOptions): Promise<unknown>;
}

/** Reads named tensors from `.onnx` (initializers) or `.safetensors` files. */
export async function readWeights(path: string): Promise<TensorMap> {
  if (/\.onnx$/i.test(path)) return readOnnxInitializers(path);
  if (/\.safetensors$/i.test(path)) return (await readSafetensors(path)).tensors;
  throw new Error(`readWeights: ${path}: expected a .onnx or .safetensors file`);
}

/**
 * Loads parameters and buffers by name. Source names may carry the role prefix (`param.fc1.weight`)
 * or not (`fc1.weight`, as in a PyTorch state dict); float64 sources are converted to float32.
 */
export async function loadEngineWeights(engine: WeightsTarget, source: string | TensorMap, opts: LoadWeightsOptions = {}): Promise<LoadWeightsReport> {
  const log = opts.log ?? console.log;
  const tensors = typeof source === 'string' ? await readWeights(source) : source;
  const fromOnnx = typeof source === 'string' && /\.onnx$/i.test(source);
  const decls = new Map(engine.plan.decls.filter((d) => d.role === 'param' || d.role === 'buffer').map((d) => [d.name, d]));
  const report: LoadWeightsReport = { matched: [], missing: [], unexpected: [], mismatched: [], ignored: [] };
  const take: NamedTensor[] = [];
  const mismatchedTargets = new Set<string>();
  for (const [srcName, t] of tensors) {
    const mapped = opts.rename ? opts.rename(srcName) : srcName;
    if (mapped === undefined) { report.ignored.push(srcName); continue; }
    if (/(^|\.)num_batches_tracked$/.test(mapped)) { report.ignored.push(srcName); continue; }
    const target = [mapped, `param.${mapped}`, `buffer.${mapped}`].find((n) => decls.has(n));
    if (!target) {
      // ONNX graphs keep shape/scalar constants as initializers too: those are not weights.
      const graphConstant = fromOnnx && (t.dtype === 'int64' || t.dtype === 'int32' || numel(t.shape) <= 16);
      (graphConstant ? report.ignored : report.unexpected).push(srcName);
      continue;
    }
    const d = decls.get(target)!;
    let data = t.data;
    let dtype = t.dtype;
    if (dtype === 'float64' && d.dtype === 'float32') { data = Float32Array.from(data as Float64Array); dtype = 'float32'; }
    const same = dtype === d.dtype && t.shape.length === d.shape.length && t.shape.every((x, i) => x === d.shape[i]);
    if (!same) { report.mismatched.push({ name: srcName, source: `${t.dtype} [${t.shape}]`, engine: `${d.name}: ${d.dtype} [${d.shape}]` }); mismatchedTargets.add(target); continue; }
    take.push({ name: target, dtype, shape: [...t.shape], data });
    report.matched.push(target);
  }
  const got = new Set(report.matched);
  report.missing = [...decls.keys()].filter((n) => !got.has(n) && !mismatchedTargets.has(n));
  const where = typeof source === 'string' ? source : 'tensors';
  const list = (xs: string[]) => (xs.length ? `: ${xs.slice(0, 10).join(', ')}${xs.length > 10 ? `, … (${xs.length})` : ''}` : '');
  log(`loadWeights(${where}): matched ${report.matched.length}, missing ${report.missing.length}${list(report.missing)}, unexpected ${report.unexpected.length}${list(report.unexpected)}, shape/dtype mismatches ${report.mismatched.length}${list(report.mismatched.map((m) => `${m.name} ${m.source} vs ${m.engine}`))}${report.ignored.length ? `, ignored ${report.ignored.length}` : ''}`);
  if (opts.strict && (report.missing.length || report.unexpected.length || report.mismatched.length)) {
    throw new Error(`loadWeights (strict): ${report.missing.length} missing, ${report.unexpected.length} unexpected, ${report.mismatched.length} mismatched names from ${where}; nothing was loaded`);
  }
  if (!take.length) throw new Error(`loadWeights: no tensor of ${where} matches the model (model names look like ${[...decls.keys()].slice(0, 3).join(', ')})`);
  await engine.setState(take, { weightsOnly: true, strict: false });
  return report;
}
