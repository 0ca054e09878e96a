// Initialising weights by name from an ONNX model's initializers, a safetensors file (drivetrain's
// `param.…` names or a PyTorch state_dict's plain names) or tensors, with an optional prefix map
// (`{ "": "backbone.", "fc": "head.cls" }`). The report lists matched / missing / unexpected /
// mismatched names and says when the unexpected names differ from model names only by a prefix.
import { readSafetensors } from '../checkpoint/safetensors.js';
import type { NamedTensor, TensorMap } from '../tensor.js';
import { numel } from '../tensor.js';
import { readOnnxInitializers } from './onnx-weights.js';
import type { SetStateOptions, StateDecl } from './state.js';

/** Source-name prefix → model-name prefix (dotted; trailing dots optional); null drops the names. '' matches every name. */
export type PrefixMap = Record<string, string | null>;

export interface LoadWeightsOptions {
  /** Fail on any missing, unexpected or mismatched name (default false: load what matches). */
  strict?: boolean;
  /** Renames source names before matching (longest prefix wins), e.g. { "": "backbone." } for a torchvision backbone. */
  map?: PrefixMap;
  /** Maps a source name to an engine name (`fc1.weight` or `param.fc1.weight`); return undefined to skip it. Applied after `map`. */
  rename?: (name: string) => string | undefined;
  /** Load only model names under these prefixes (e.g. ['backbone']); the others are listed as skipped. */
  groups?: string[];
  /** Report printer (default console.log); pass () => {} to silence. */
  log?: (msg: string) => void;
}

export interface LoadWeightsReport {
  /** Engine state names loaded. */
  matched: string[];
  /** Engine parameters/buffers (within `groups`) the source did not provide (they keep their values); mismatched ones are listed there instead. */
  missing: string[];
  /** Source names (after the map) with no engine counterpart. */
  unexpected: string[];
  /** Same name, different shape or dtype (not loaded). */
  mismatched: { name: string; source: string; engine: string }[];
  /** Ignored on purpose: PyTorch bookkeeping (`*.num_batches_tracked`), optimizer/RNG state, names the map drops, names outside `groups`, and, from .onnx files, unmatched integer or tiny (≤ 16 values) initializers, which are graph constants. */
  ignored: string[];
  /** Set when the unexpected names are model names with a prefix added or removed: says which initMap fixes it. */
  prefixHint?: string;
}

/** What weights load into: the engine's (or an inference engine's) state declarations. */
export interface WeightTarget {
  readonly plan: { readonly decls: readonly StateDecl[] };
  setState(tensors: NamedTensor[], opts: SetStateOptions): Promise<unknown>;
}

const trimDots = (s: string) => s.replace(/^\.+|\.+$/g, '');

/** `name` renamed by the longest matching prefix of `map` (dotted components); undefined when the map drops it. */
export function applyPrefixMap(name: string, map: PrefixMap | undefined): string | undefined {
  if (!map) return name;
  let best: string | undefined;
  for (const k of Object.keys(map)) {
    const key = trimDots(k);
    const hit = key === '' || name === key || name.startsWith(`${key}.`);
    if (hit && (best === undefined || key.length > trimDots(best).length)) best = k;
  }
  if (best === undefined) return name;
  const to = map[best];
  if (to === null) return undefined;
  const key = trimDots(best);
  const rest = key === '' ? name : name.slice(key.length + 1);
  return [trimDots(to), rest].filter(Boolean).join('.');
}

/** Parses `k=v` pairs (CLI: `--init-map =backbone. --init-map fc=head.cls --init-map aux=`) or a JSON object. `k=` maps to '' (strip); `k=null` drops. */
export function parsePrefixMap(items: string | readonly string[]): PrefixMap {
  const list = typeof items === 'string' ? [items] : items;
  if (list.length === 1 && list[0].trim().startsWith('{')) {
    let v: unknown;
    try { v = JSON.parse(list[0]); } catch (e) { throw new Error(`prefix map ${list[0]}: not valid JSON (${(e as Error).message})`); }
    if (!v || typeof v !== 'object' || Array.isArray(v) || Object.values(v).some((x) => x !== null && typeof x !== 'string')) throw new Error(`prefix map ${list[0]}: expected {"source prefix": "model prefix" or null}`);
    return v as PrefixMap;
  }
  const out: PrefixMap = {};
  for (const it of list) {
    const eq = it.indexOf('=');
    if (eq < 0) throw new Error(`prefix map entry "${it}": write source=model, e.g. "=backbone." (add a prefix), "fc=head.cls" (rename), "fc=null" (drop)`);
    const v = it.slice(eq + 1);
    out[it.slice(0, eq)] = v === 'null' ? null : v;
  }
  return out;
}

/** Reads named tensors from `.onnx` (initializers) or `.safetensors` files. */
export async function readWeights(path: string): Promise<TensorMap> {
  if (/\.onnx$/i.test(path)) return readOnnxInitializers(path);
  if (/\.safetensors$/i.test(path)) return (await readSafetensors(path)).tensors;
  if (/\.(pth|pt|bin|ckpt|tar)$/i.test(path)) throw new Error(pthMessage(path));
  throw new Error(`readWeights: ${path}: expected a .onnx or .safetensors file`);
}

/** What to do with a PyTorch pickle: the one-line conversion to safetensors. */
export function pthMessage(file: string): string {
  const out = file.replace(/\.[^./]+$/, '.safetensors');
  return `${file} is a PyTorch pickle, which only Python can read safely. Convert it once: python3 scripts/pth-to-safetensors.py ${file} ${out} (needs only torch; from the drivetrain folder), then use ${out}`;
}

const stripRole = (n: string) => n.replace(/^(param|buffer)\./, '');

/** Matches source tensors to the target's parameters and buffers; loads nothing. */
export function planWeights(decls: readonly StateDecl[], tensors: TensorMap, opts: LoadWeightsOptions & { fromOnnx?: boolean } = {}): { report: LoadWeightsReport; take: NamedTensor[] } {
  const all = new Map(decls.filter((d) => d.role === 'param' || d.role === 'buffer').map((d) => [d.name, d]));
  const inGroups = (n: string) => !opts.groups || opts.groups.some((g) => { const p = trimDots(g); return p === '' || stripRole(n) === p || stripRole(n).startsWith(`${p}.`); });
  const report: LoadWeightsReport = { matched: [], missing: [], unexpected: [], mismatched: [], ignored: [] };
  const take: NamedTensor[] = [];
  const mismatchedTargets = new Set<string>();
  const unexpectedMapped: string[] = [];
  for (const [srcName, t] of tensors) {
    if (/^(opt|rng)\./.test(srcName)) { report.ignored.push(srcName); continue; }
    const role = /^(param|buffer)\./.exec(srcName)?.[0] ?? '';
    const plain = applyPrefixMap(srcName.slice(role.length), opts.map);
    const mapped = plain === undefined ? undefined : opts.rename ? opts.rename(role + plain) : role + plain;
    if (mapped === undefined || /(^|\.)num_batches_tracked$/.test(mapped)) { report.ignored.push(srcName); continue; }
    const target = [mapped, `param.${mapped}`, `buffer.${mapped}`].find((n) => all.has(n));
    if (!target) {
      // ONNX graphs keep shape/scalar constants as initializers too: those are not weights.
      const graphConstant = opts.fromOnnx && (t.dtype === 'int64' || t.dtype === 'int32' || numel(t.shape) <= 16);
      if (graphConstant) report.ignored.push(srcName);
      else {
        report.unexpected.push(mapped === srcName ? srcName : `${srcName} (as ${mapped})`);
        unexpectedMapped.push(stripRole(mapped));
      }
      continue;
    }
    if (!inGroups(target)) { report.ignored.push(srcName); continue; }
    const d = all.get(target)!;
    let data = t.data;
    let dtype = t.dtype;
    if (dtype === 'float64' && d.dtype === 'float32') { data = Float32Array.from(data as Float64Array); dtype = 'float32'; }
    const same = dtype === d.dtype && t.shape.length === d.shape.length && t.shape.every((x, i) => x === d.shape[i]);
    if (!same) { report.mismatched.push({ name: srcName, source: `${t.dtype} [${t.shape}]`, engine: `${d.name}: ${d.dtype} [${d.shape}]` }); mismatchedTargets.add(target); continue; }
    take.push({ name: target, dtype, shape: [...t.shape], data });
    report.matched.push(target);
  }
  const got = new Set(report.matched);
  report.missing = [...all.keys()].filter((n) => inGroups(n) && !got.has(n) && !mismatchedTargets.has(n));
  report.prefixHint = prefixHint(unexpectedMapped, [...all.keys()].filter((n) => !got.has(n)).map(stripRole), opts.map);
  return { report, take };
}

/**
 * When the unexpected names are model names with one prefix added or removed: the initMap that
 * fixes it ("every …" when all are; else when most are, with the names that match nothing).
 */
function prefixHint(names: string[], free: string[], map: PrefixMap | undefined): string | undefined {
  if (!names.length || !free.length) return undefined;
  const added = new Map<string, number>(), removed = new Map<string, number>();
  const none: string[] = [];
  for (const u of names) {
    const m = free.find((f) => f.endsWith(`.${u}`));
    if (m) { const p = m.slice(0, -u.length - 1); added.set(p, (added.get(p) ?? 0) + 1); continue; }
    const r = free.find((f) => u.endsWith(`.${f}`));
    if (r) { const p = u.slice(0, -r.length - 1); removed.set(p, (removed.get(p) ?? 0) + 1); continue; }
    none.push(u);
  }
  const mapped = map ? ' (after the map)' : '';
  const fix = added.size === 1 && !removed.size
    ? { what: `without the prefix "${[...added.keys()][0]}."`, how: `add it with initMap {"": "${[...added.keys()][0]}."} (CLI --init-map =${[...added.keys()][0]}.)` }
    : removed.size === 1 && !added.size
      ? { what: `with an extra prefix "${[...removed.keys()][0]}."`, how: `drop it with initMap {"${[...removed.keys()][0]}": ""} (CLI --init-map ${[...removed.keys()][0]}=)` }
      : null;
  if (!none.length) {
    if (fix) return `every unexpected name${mapped} is a model name ${fix.what}; ${fix.how}`;
    const parts = [...[...added].map(([p, c]) => `${c} lack "${p}."`), ...[...removed].map(([p, c]) => `${c} have an extra "${p}."`)];
    return `every unexpected name${mapped} differs from a model name by a prefix (${parts.join(', ')}, of ${names.length}); give initMap an entry per prefix`;
  }
  if (!fix || none.length * 2 >= names.length) return undefined;
  const roots = [...new Set(none.map((n) => n.split('.')[0]))];
  return `${names.length - none.length} of ${names.length} unexpected names${mapped} are model names ${fix.what}: ${fix.how}; the others match no model name (${none.slice(0, 4).join(', ')}${none.length > 4 ? ', …' : ''}): drop them with ${roots.map((r) => `"${r}": null`).join(', ')} in initMap`;
}

const list = (xs: string[]) => (xs.length ? `: ${xs.slice(0, 10).join(', ')}${xs.length > 10 ? `, … (${xs.length})` : ''}` : '');

/** The one-line summary of a report. */
export function formatLoadReport(where: string, r: LoadWeightsReport): string {
  return `loadWeights(${where}): matched ${r.matched.length}, missing ${r.missing.length}${list(r.missing)}, unexpected ${r.unexpected.length}${list(r.unexpected)}, shape/dtype mismatches ${r.mismatched.length}${list(r.mismatched.map((m) => `${m.name} ${m.source} vs ${m.engine}`))}${r.ignored.length ? `, ignored ${r.ignored.length}` : ''}${r.prefixHint ? `; ${r.prefixHint}` : ''}`;
}

/**
 * Loads parameters and buffers by name. Source names may carry the role prefix (`param.fc1.weight`)
 * or not (`fc1.weight`, as in a PyTorch state dict); float64 sources are converted to float32.
 */
export async function loadEngineWeights(engine: WeightTarget, source: string | TensorMap, opts: LoadWeightsOptions = {}): Promise<LoadWeightsReport> {
  const log = opts.log ?? console.log;
  const tensors = typeof source === 'string' ? await readWeights(source) : source;
  const fromOnnx = typeof source === 'string' && /\.onnx$/i.test(source);
  const { report, take } = planWeights(engine.plan.decls, tensors, { ...opts, fromOnnx });
  const where = typeof source === 'string' ? source : 'tensors';
  log(formatLoadReport(where, report));
  if (opts.strict && (report.missing.length || report.unexpected.length || report.mismatched.length)) {
    throw new Error(`loadWeights (strict): ${report.missing.length} missing, ${report.unexpected.length} unexpected, ${report.mismatched.length} mismatched names from ${where}; nothing was loaded${report.prefixHint ? ` (${report.prefixHint})` : ''}`);
  }
  if (!take.length) throw new Error(`loadWeights: no tensor of ${where} matches the model (model names look like ${engine.plan.decls.filter((d) => d.role === 'param').slice(0, 3).map((d) => stripRole(d.name)).join(', ')})${report.prefixHint ? `; ${report.prefixHint}` : ''}`);
  await engine.setState(take, { weightsOnly: true, strict: false });
  return report;
}
