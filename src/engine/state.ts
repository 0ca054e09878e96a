// StateStore: the engine's named state tensors (params, optimizer slots, buffers, RNG, step),
// kept wherever the backend keeps them. Each step feeds them in and commits the `<name>_new`
// outputs; replaced tensors are disposed (GPU) and a rejected step (NaN loss) commits nothing.
import type * as ort from 'onnxruntime-node';
import type { DType, NamedTensor, Tensor, TensorMap } from '../tensor.js';
import { cloneTensor, numel } from '../tensor.js';
import type { Backend, DownloadChunking } from './backend.js';
import type { StatePlan } from './graphs.js';
import { rngFor } from '../nn/module.js';

/** Background checkpoint downloads move about this much per chunk (~10 ms at the 0.85 GB/s measured on an H100 host). */
export const DOWNLOAD_CHUNK_BYTES = 8 << 20;

/** A checkpoint snapshot taken by {@link Engine.snapshotState}. */
export interface StateSnapshot {
  /** Host copies of every state tensor, as getState() returns them; resolves once downloaded. */
  tensors: Promise<TensorMap>;
  /** Optimizer steps taken when the snapshot was taken. */
  step: number;
}

export type StateRole = 'param' | 'opt' | 'buffer' | 'rng';

/** setState() got tensors that do not fit the model's state (names, dtypes or shapes); `problems` lists each. */
export class StateMismatchError extends Error {
  constructor(readonly problems: string[]) {
    super(`setState: ${problems.length} problem(s):\n  ${problems.slice(0, 20).join('\n  ')}${problems.length > 20 ? '\n  …' : ''}`);
    this.name = 'StateMismatchError';
  }
}

export interface StateDecl {
  /** Full state name, e.g. `param.fc1.weight`, `opt.m.fc1.weight`, `opt.step`, `buffer.bn.running_mean`. */
  name: string;
  role: StateRole;
  dtype: DType;
  shape: number[];
}

export interface SetStateOptions {
  /** Only `param.*` and `buffer.*` are taken; optimizer slots, step and RNG keep their values. */
  weightsOnly?: boolean;
  /** Fail when a state name is missing or unexpected (default true). Shape/dtype mismatches always fail. */
  strict?: boolean;
}

export class StateStore {
  private readonly tensors = new Map<string, ort.Tensor>();
  readonly decls: ReadonlyMap<string, StateDecl>;

  /** `<name>_new` per state name, built once (step outputs are looked up by it every step). */
  private readonly newNames: ReadonlyMap<string, string>;

  constructor(readonly backend: Backend, decls: readonly StateDecl[]) {
    this.decls = new Map(decls.map((d) => [d.name, d]));
    this.newNames = new Map(decls.map((d) => [d.name, `${d.name}_new`]));
  }

  private entered = 0;
  private freed = 0;

  /**
   * Tensors received from the backend (uploads and step outputs) minus those disposed: stays
   * equal to the number of state names across steps unless a replaced tensor leaks.
   */
  get size(): number {
    return this.entered - this.freed;
  }

  private free(t: ort.Tensor): void {
    this.freed++;
    this.backend.dispose(t);
  }

  names(): string[] {
    return [...this.decls.keys()];
  }

  get(name: string): ort.Tensor {
    const t = this.tensors.get(name);
    if (!t) throw new Error(`state "${name}" has no value`);
    return t;
  }

  /** Adds the named state tensors to `feeds`. */
  feed(names: readonly string[], feeds: Record<string, ort.Tensor>): void {
    for (const n of names) feeds[n] = this.get(n);
  }

  private newName(n: string): string {
    return this.newNames.get(n) ?? `${n}_new`;
  }

  /** Tensors held by snapshots being downloaded (count per tensor); freed when released and replaced. */
  private readonly pins = new Map<ort.Tensor, number>();
  private readonly current = new Set<ort.Tensor>();

  /** Holds `t` as state `name`, disposing the tensor it replaces (later, if a snapshot holds it). */
  private replace(name: string, t: ort.Tensor): void {
    const old = this.tensors.get(name);
    this.tensors.set(name, t);
    if (old === t) return;
    this.entered++;
    this.current.add(t);
    if (old) {
      this.current.delete(old);
      if (!this.pins.has(old)) this.free(old);
    }
  }

  /**
   * The state tensors of this moment, held (not copied: a step never writes its inputs, it makes
   * new outputs) until `release()`; replaced ones are freed then.
   */
  pin(names: readonly string[] = this.names()): { tensors: Map<string, ort.Tensor>; release(): void } {
    const tensors = new Map(names.map((n) => [n, this.get(n)] as [string, ort.Tensor]));
    for (const t of tensors.values()) this.pins.set(t, (this.pins.get(t) ?? 0) + 1);
    let done = false;
    return {
      tensors,
      release: () => {
        if (done) return;
        done = true;
        for (const t of tensors.values()) {
          const c = (this.pins.get(t) ?? 1) - 1;
          if (c > 0) this.pins.set(t, c);
          else {
            this.pins.delete(t);
            if (!this.current.has(t)) this.free(t);
          }
        }
      },
    };
  }

  /** Host copies of pinned tensors, widened to the declared dtypes. */
  toHost(host: ReadonlyMap<string, Tensor>): TensorMap {
    const out: TensorMap = new Map();
    for (const [n, t] of host) {
      const want = this.decls.get(n)?.dtype ?? t.dtype;
      // WebGPU holds int64 state (RNG) as int32: widen back to the declared dtype.
      const widen = want === 'int64' && t.dtype === 'int32';
      out.set(n, { name: n, dtype: widen ? 'int64' : t.dtype, shape: [...t.shape], data: widen ? BigInt64Array.from(t.data as Int32Array, (v) => BigInt(v)) : t.data });
    }
    return out;
  }

  /** Replaces each `names[i]` by `outputs[names[i] + '_new']`, disposing the replaced tensor. */
  commit(names: readonly string[], outputs: Record<string, ort.Tensor>): void {
    for (const n of names) {
      const nt = outputs[this.newName(n)];
      if (!nt) throw new Error(`step produced no "${n}_new"`);
      this.replace(n, nt);
    }
  }

  /** Frees the `_new` outputs of a rejected step. */
  discard(names: readonly string[], outputs: Record<string, ort.Tensor>): void {
    for (const n of names) {
      const nt = outputs[this.newName(n)];
      if (nt) {
        this.entered++;
        this.free(nt);
      }
    }
  }

  /** Validates and places tensors (copied, so later edits by the caller do not leak in). */
  async set(tensors: TensorMap | Iterable<NamedTensor>, opts: SetStateOptions = {}): Promise<{ loaded: string[]; missing: string[]; unexpected: string[] }> {
    const strict = opts.strict ?? true;
    const given = tensors instanceof Map ? [...tensors.values()] : [...tensors];
    const wanted = (d: StateDecl) => !opts.weightsOnly || d.role === 'param' || d.role === 'buffer';
    const unexpected: string[] = [];
    const problems: string[] = [];
    const take: NamedTensor[] = [];
    for (const t of given) {
      const d = this.decls.get(t.name);
      if (!d) { unexpected.push(t.name); continue; }
      if (!wanted(d)) continue;
      if (t.dtype !== d.dtype || t.shape.length !== d.shape.length || t.shape.some((x, i) => x !== d.shape[i])) {
        problems.push(`${t.name}: got ${t.dtype} [${t.shape}], the model needs ${d.dtype} [${d.shape}]`);
        continue;
      }
      if (t.data.length !== numel(t.shape)) problems.push(`${t.name}: data has ${t.data.length} elements for shape [${t.shape}]`);
      else take.push(cloneTensor(t));
    }
    const givenNames = new Set(given.map((t) => t.name));
    const missing = [...this.decls.values()].filter((d) => wanted(d) && !givenNames.has(d.name)).map((d) => d.name);
    if (strict && (missing.length || unexpected.length)) {
      problems.push(...missing.map((m) => `missing ${m}`), ...unexpected.map((u) => `unexpected ${u}`));
    }
    if (problems.length) throw new StateMismatchError(problems);
    const placed = await this.backend.upload(take);
    for (const [k, v] of placed) this.replace(k, v);
    return { loaded: take.map((t) => t.name), missing, unexpected };
  }

  /** Host copies (downloads from the device only here), in `names` order. */
  async snapshot(names: readonly string[] = this.names(), chunk?: DownloadChunking): Promise<TensorMap> {
    const p = this.pin(names);
    try {
      const host = await this.backend.download(p.tensors, chunk);
      return this.toHost(new Map(names.map((n) => [n, host.get(n)!] as [string, Tensor])));
    } finally {
      p.release();
    }
  }

  dispose(): void {
    for (const t of this.tensors.values()) if (!this.pins.has(t)) this.free(t);
    this.tensors.clear();
    this.current.clear();
  }
}

/** Seeded initial state: parameters and buffers from their initialisers, optimizer slots zero, step 0. */
export function initialState(plan: StatePlan, seed: number): NamedTensor[] {
  const out: NamedTensor[] = [];
  for (const [role, decls] of [['param', plan.params], ['buffer', plan.buffers], ['rng', plan.rngs]] as const) {
    for (const d of decls) {
      const name = `${role}.${d.name}`;
      const data = d.init(d.shape, rngFor(seed, name));
      if (data.length !== numel(d.shape)) throw new Error(`${d.module.label()}: initialiser for ${d.name} returned ${data.length} values for shape [${d.shape}]`);
      out.push({ name, dtype: d.dtype, shape: [...d.shape], data });
    }
  }
  for (const s of plan.decls) {
    if (s.role !== 'opt') continue;
    out.push({ name: s.name, dtype: s.dtype, shape: [...s.shape], data: new Float32Array(numel(s.shape)) });
  }
  return out;
}
