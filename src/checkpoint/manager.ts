// CheckpointManager: one per run directory. save() snapshots and returns; one background write
// at a time commits checkpoints atomically, then retention deletes what the keep policy allows.
//
// Pending-replacement rule: while a write is in flight, saves wait behind it in order, and a
// newer save replaces the waiting ones at the tail that need not be kept (kept: kind `permanent`,
// or metrics that would make it the new best); replaced saves' `durable` promises resolve with the
// event of the checkpoint that replaced them (same or later state).
//
// Only "write the files + commit them into place" leaves this thread: by default it runs on a
// worker thread (writer.ts), so a training loop that blocks this thread between steps does not
// stall the write; with an injected fs/target it runs here (OpenDeps.writer).
import * as path from 'node:path';
import type { NamedTensor, TensorMap } from '../tensor.js';
import { AtomicRenameTarget, isStagingName, type CommitTarget } from './commit.js';
import { checkSizes, readManifest } from './dir.js';
import { CheckpointError } from './errors.js';
import { nodeFs, type CkptFs } from './fsio.js';
import { acquireRunLock, type RunLock } from './lock.js';
import type { CheckpointKind, Manifest } from './manifest.js';
import { CHECKPOINTS_DIR, readRunMetadata, type CheckpointRecord, type RunMetadata } from './metadata.js';
import {
  CheckpointOptionsSchema, byStep, findBest, isImprovement, newestOf, savePolicyFromOptions, selectDeletions,
  type CheckpointEvent, type CheckpointOptions, type CheckpointOptionsInput, type SaveDecision, type SavePolicy,
} from './policy.js';
import { capTooSmall, checkpointEstimate, estimateFromDecls, writeFailedError } from './capacity.js';
import { SnapshotArena, type Snapshot } from './snapshot.js';
import { parseTrainState, type TrainState, type TrainStateInput } from './state.js';
import { InlineWriter, ThreadWriter, type CheckpointWriter, type WriterMode } from './writer.js';

export interface DurableEvent {
  runDir: string;
  /** absolute checkpoint directory */
  dir: string;
  name: string;
  kind: CheckpointKind;
  epoch: number;
  stepInEpoch: number;
  globalStep: number;
  metrics: Record<string, number>;
  manifest: Manifest;
}

export interface DeletedEvent {
  runDir: string;
  dir: string;
  name: string;
  kind: CheckpointKind;
  globalStep: number;
  reason: 'rotation' | 'disk-cap' | 'prune';
}

export interface SaveHandle {
  kind: CheckpointKind;
  globalStep: number;
  /** resolves once this state (or a newer one that replaced it) is durable; rejects if that write fails */
  durable: Promise<DurableEvent>;
}

export interface SaveOptions {
  /** take the arrays instead of copying: their buffers move (the caller's arrays are detached, length 0, after save()); SharedArrayBuffers are not moved: leave them unchanged until `durable` settles */
  transfer?: boolean;
  /** directory name; default `<kind>-<globalStep 9 digits>` (+ `-2`, `-3` if taken) */
  name?: string;
  /** metrics stored with the checkpoint (used for `best`); default: last metrics record with this globalStep */
  metrics?: Record<string, number>;
}

export interface OpenDeps {
  fs?: CkptFs;
  warn?: (message: string) => void;
  /** defaults to AtomicRenameTarget(<runDir>/checkpoints) */
  target?: CommitTarget;
  /** experiment label stored in metadata.json when the run is created */
  experiment?: string;
  /** where files are written: 'worker' (a worker thread; default) or 'inline' (here, through `fs`/`target`; default when either is given) */
  writer?: WriterMode;
}

interface Job {
  kind: CheckpointKind;
  name?: string;
  /** A promise while the tensors are still being downloaded from a device. */
  snapshot: Snapshot | Promise<Snapshot>;
  state: TrainState;
  metrics: Record<string, number>;
  mustKeep: boolean;
  waiters: { resolve(e: DurableEvent): void; reject(e: unknown): void }[];
}

type Rec = CheckpointRecord;
/** Listeners run in order; a throw or a rejected promise becomes a warning, never a failed save. */
export type Listener<T> = (e: T) => unknown;

export class CheckpointManager {
  private readonly ledger = new Map<string, Rec>();
  private readonly queue: Job[] = [];
  private running: Promise<void> | null = null;
  private failure: unknown = null;
  private closed = false;
  private readonly durableListeners = new Set<Listener<DurableEvent>>();
  private readonly deletedListeners = new Set<Listener<DeletedEvent>>();
  private readonly arena = new SnapshotArena();
  private readonly policy: SavePolicy;
  private lastSaveTime: number | null = null;
  /** best metric value among saves queued or written (meta.best covers durable ones only) */
  private bestQueued: number | null = null;
  private lastSaveStep: number | null = null;
  private signalPending = false;
  private demandPending = false;
  private uninstallSignals: (() => void) | null = null;

  private constructor(
    readonly runDir: string,
    readonly options: CheckpointOptions,
    private readonly fs: CkptFs,
    private readonly warn: (m: string) => void,
    private readonly target: CommitTarget,
    private readonly writer: CheckpointWriter,
    private readonly lock: RunLock,
    private meta: RunMetadata,
  ) {
    this.policy = savePolicyFromOptions(options.save);
  }

  static async open(runDir: string, options: CheckpointOptionsInput = {}, deps: OpenDeps = {}): Promise<CheckpointManager> {
    const parsed = CheckpointOptionsSchema.safeParse(options);
    if (!parsed.success) {
      throw new CheckpointError('BAD_OPTIONS', `checkpoint options: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
    }
    const fs = deps.fs ?? nodeFs;
    const mode = deps.writer ?? (deps.fs || deps.target ? 'inline' : 'worker');
    if (mode === 'worker' && (deps.fs || deps.target)) {
      throw new CheckpointError('BAD_OPTIONS', "checkpoint writer 'worker' writes with node:fs into <runDir>/checkpoints; it cannot use an injected fs or target (use writer: 'inline')");
    }
    const warn = deps.warn ?? ((m: string) => console.warn(m));
    const abs = path.resolve(runDir);
    const lock = await acquireRunLock(abs, { fs, warn });
    let writer: CheckpointWriter | null = null;
    try {
      const target = deps.target ?? new AtomicRenameTarget(path.join(abs, CHECKPOINTS_DIR), fs);
      const leftovers = await target.cleanupLeftovers();
      for (const f of await fs.readdir(abs)) if (f.startsWith('metadata.json.tmp-')) await fs.rm(path.join(abs, f), { force: true });
      if (leftovers.length) warn(`drivetrain: removed ${leftovers.length} unfinished checkpoint(s) left by a crash: ${leftovers.join(', ')}`);
      const now = new Date().toISOString();
      let meta: RunMetadata | null = null;
      try {
        meta = await readRunMetadata(abs, fs);
      } catch (e) {
        warn(`drivetrain: ignoring unreadable metadata.json (${(e as Error).message}); it will be rewritten`);
      }
      meta ??= { run: path.basename(abs), experiment: deps.experiment ?? null, created: now, updated: now, checkpoints: [], best: null };
      const opts = parsed.data;
      // a run keeps its best rule: openers that do not name one (e.g. the CLI) protect the recorded best
      if (!opts.keep.best && meta.best) opts.keep.best = { monitor: meta.best.metric, mode: meta.best.mode, minDelta: meta.best.minDelta };
      writer = mode === 'worker' ? new ThreadWriter(target.root, () => new InlineWriter(target, fs), warn) : new InlineWriter(target, fs);
      const m = new CheckpointManager(abs, opts, fs, warn, target, writer, lock, meta);
      await m.scan();
      await m.writeMetadata();
      return m;
    } catch (e) {
      await writer?.close();
      await lock.release();
      throw e;
    }
  }

  /** Durable checkpoints, oldest first. */
  get checkpoints(): CheckpointRecord[] {
    return [...this.ledger.values()].sort(byStep);
  }

  get best(): RunMetadata['best'] {
    return this.meta.best;
  }

  /**
   * Ask the save policies whether this event should produce a checkpoint. An epoch end that
   * improves the best metric (keep.best) is saved as `best` when no policy asks for more (e.g.
   * every-epoch `last` saves are off), so `--no-save-last` still keeps each new best.
   */
  shouldSave(ev: CheckpointEvent): SaveDecision | null {
    const d = this.policy.decide(ev, { lastSaveTime: this.lastSaveTime, lastSaveStep: this.lastSaveStep, signalPending: this.signalPending, demandPending: this.demandPending });
    if (d || !ev.epochEnd || !this.improvesBest(ev.metrics ?? {})) return d;
    return { kind: 'best', metrics: ev.metrics };
  }

  private improvesBest(metrics: Record<string, number>): boolean {
    const b = this.options.keep.best;
    const v = b ? metrics[b.monitor] : undefined;
    return b !== undefined && typeof v === 'number' && Number.isFinite(v) && isImprovement(v, this.bestQueued ?? this.meta.best?.value ?? null, b);
  }

  /**
   * Refuse, before anything is written, a run whose checkpoints cannot fit the disk cap at all:
   * `tensors` are the state declarations (name, dtype, shape) or a byte count of one checkpoint.
   */
  checkFits(tensors: number | readonly { dtype: string; shape: readonly number[] }[]): void {
    const cap = this.options.diskCapBytes;
    if (cap === undefined) return;
    const need = typeof tensors === 'number' ? checkpointEstimate(tensors, 0, 4096) : estimateFromDecls(tensors);
    if (need > cap) throw capTooSmall(cap, need, this.options.keep.lastN);
  }

  /** On-demand save: the next shouldSave() answers `manual`. */
  requestSave(): void {
    this.demandPending = true;
  }

  /** True once a handled signal arrived; the trainer should save (shouldSave says `signal`), flush and stop. */
  get signalReceived(): boolean {
    return this.signalPending;
  }

  /** Catch signals so the next shouldSave() answers `signal` instead of the process dying. */
  installSignalHandlers(signals: NodeJS.Signals[] = ['SIGTERM']): () => void {
    const onSig = () => {
      this.signalPending = true;
    };
    for (const s of signals) process.on(s, onSig);
    this.uninstallSignals = () => {
      for (const s of signals) process.off(s, onSig);
    };
    return this.uninstallSignals;
  }

  onDurable(listener: Listener<DurableEvent>): () => void {
    this.durableListeners.add(listener);
    return () => this.durableListeners.delete(listener);
  }

  onDeleted(listener: Listener<DeletedEvent>): () => void {
    this.deletedListeners.add(listener);
    return () => this.deletedListeners.delete(listener);
  }

  /**
   * Snapshot `tensors` + `state` and write them in the background. Throws a failure of an
   * earlier background write (once), a closed manager, or a bad state schema. `tensors` may be a
   * promise (a GPU engine still downloading them, Engine.snapshotState): the write waits for it;
   * its rejection fails this save like a write error.
   */
  save(kind: CheckpointKind | SaveDecision, tensors: TensorMap | Iterable<NamedTensor> | Promise<TensorMap>, state: TrainStateInput, opts: SaveOptions = {}): SaveHandle {
    if (this.closed) throw new CheckpointError('CLOSED', `checkpoint manager for ${this.runDir} is closed`);
    this.throwFailure();
    const decision = typeof kind === 'string' ? { kind } : kind;
    let text: string;
    try {
      text = JSON.stringify(state);
    } catch (e) {
      throw new CheckpointError('BAD_OPTIONS', `state must be plain JSON (${(e as Error).message}); store BigInt values as strings`);
    }
    const st = parseTrainState(JSON.parse(text));
    const raw = opts.metrics ?? decision.metrics ?? [...st.metrics].reverse().find((r) => r.globalStep === st.globalStep)?.values ?? {};
    // only finite numbers go into the manifest (NaN would become null and fail its schema)
    const metrics = Object.fromEntries(Object.entries(raw).filter((e): e is [string, number] => typeof e[1] === 'number' && Number.isFinite(e[1])));
    const take = (t: TensorMap | Iterable<NamedTensor>) => this.arena.take(t instanceof Map ? t.values() : t, opts.transfer ?? this.options.transfer);
    const snapshot = tensors instanceof Promise ? tensors.then(take) : take(tensors);
    if (snapshot instanceof Promise) snapshot.catch(() => undefined); // surfaces through the write
    const b = this.options.keep.best;
    const v = b ? metrics[b.monitor] : undefined;
    const mustKeep = decision.kind === 'permanent' || (b !== undefined && typeof v === 'number' && isImprovement(v, this.meta.best?.value ?? null, b));
    if (b && typeof v === 'number' && this.improvesBest(metrics)) this.bestQueued = v;
    const cap = this.options.diskCapBytes;
    // a snapshot still downloading from a device is checked against the cap when it arrives (makeRoom)
    const need = snapshot instanceof Promise ? 0 : checkpointEstimate(snapshot.bytes, snapshot.tensors.length, text.length);
    if (cap !== undefined && need > cap) {
      releaseSnapshot(snapshot);
      throw capTooSmall(cap, need, this.options.keep.lastN);
    }
    const job: Job = { kind: decision.kind, name: opts.name ?? decision.name, snapshot, state: st, metrics, mustKeep, waiters: [] };
    const durable = new Promise<DurableEvent>((resolve, reject) => job.waiters.push({ resolve, reject }));
    durable.catch(() => undefined); // the failure also surfaces on the next save()/flush()
    while (this.queue.length && !this.queue[this.queue.length - 1].mustKeep) {
      const old = this.queue.pop()!;
      releaseSnapshot(old.snapshot);
      job.waiters.push(...old.waiters);
    }
    this.queue.push(job);
    this.lastSaveTime = Date.now();
    this.lastSaveStep = st.globalStep;
    if (decision.kind === 'signal') this.signalPending = false;
    if (decision.kind === 'manual') this.demandPending = false;
    this.running ??= this.drain().finally(() => {
      this.running = null;
    });
    return { kind: decision.kind, globalStep: st.globalStep, durable };
  }

  /** Wait for all pending writes; throws (once) if a background write failed. */
  async flush(): Promise<void> {
    while (this.running) await this.running;
    this.throwFailure();
  }

  /** How checkpoint files are written: on a worker thread or inline (see OpenDeps.writer). */
  get writerMode(): WriterMode {
    return this.writer.mode;
  }

  /** Flush, then stop the writer and release the lock. */
  async close(): Promise<void> {
    if (this.closed) return;
    try {
      await this.flush();
    } finally {
      this.closed = true;
      this.uninstallSignals?.();
      await this.writer.close();
      await this.lock.release();
    }
  }

  /** Apply the keep policy now (optionally with another lastN); returns the deleted names. */
  async prune(keep: { lastN?: number } = {}): Promise<string[]> {
    await this.flush();
    const gone = await this.retain({ ...this.options.keep, ...keep }, 'prune');
    await this.updateMetadata();
    return gone;
  }

  private throwFailure(): void {
    if (this.failure) {
      const f = this.failure;
      this.failure = null;
      throw f;
    }
  }

  private async drain(): Promise<void> {
    for (let job = this.queue.shift(); job; job = this.queue.shift()) {
      try {
        const ev = await this.write(job);
        for (const w of job.waiters) w.resolve(ev);
        this.emit(this.durableListeners, ev);
        await this.retain(this.options.keep, 'rotation');
        await this.updateMetadata();
      } catch (e) {
        const err = e instanceof CheckpointError ? e : this.writeFailed(job, e);
        this.failure ??= err; // the first failure is the one to report (later writes may fail the same way)
        for (const w of job.waiters) w.reject(err);
      } finally {
        releaseSnapshot(job.snapshot);
      }
    }
  }

  private async write(job: Job): Promise<DurableEvent> {
    const snapshot = await job.snapshot;
    await this.makeRoom(job, snapshot);
    const base = job.name ?? `${job.kind}-${String(job.state.globalStep).padStart(9, '0')}`;
    const { name, dir, manifest } = await this.writer.write({ base, taken: [...this.ledger.keys()], tensors: snapshot.tensors, state: job.state, meta: { kind: job.kind, metrics: job.metrics } });
    snapshot.release(); // bytes are in the files; the arena can take the next snapshot
    const bytes = Object.values(manifest.files).reduce((a, f) => a + f.size, 0);
    this.ledger.set(name, { name, kind: job.kind, epoch: manifest.epoch, stepInEpoch: manifest.stepInEpoch, globalStep: manifest.globalStep, metrics: manifest.metrics, path: path.relative(this.runDir, dir), created: manifest.created, bytes });
    return { runDir: this.runDir, dir, name, kind: job.kind, epoch: manifest.epoch, stepInEpoch: manifest.stepInEpoch, globalStep: manifest.globalStep, metrics: manifest.metrics, manifest };
  }

  /** A failed background write as a WRITE_FAILED error; a full disk says so and what to do. */
  private writeFailed(job: Job, e: unknown): CheckpointError {
    return writeFailedError(this.runDir, job.state.globalStep, newestOf(this.checkpoints), this.options.diskCapBytes !== undefined, e);
  }

  /** Disk cap: delete oldest rotating checkpoints until the save fits, or refuse before writing. */
  private async makeRoom(job: Job, snapshot: Snapshot): Promise<void> {
    const cap = this.options.diskCapBytes;
    if (cap === undefined) return;
    const need = checkpointEstimate(snapshot.bytes, snapshot.tensors.length, JSON.stringify(job.state).length);
    const used = () => [...this.ledger.values()].reduce((a, r) => a + r.bytes, 0);
    const list = this.checkpoints;
    const keepNames = new Set([newestOf(list)?.name, findBest(list, this.options.keep.best)?.name]);
    const deletable = list.filter((r) => r.kind !== 'permanent' && !keepNames.has(r.name));
    const freeable = deletable.reduce((a, r) => a + r.bytes, 0);
    if (used() - freeable + need > cap) {
      throw new CheckpointError('DISK_CAP', `checkpoint at step ${job.state.globalStep} needs ~${need} bytes; the run's disk cap is ${cap} bytes and ${used() - freeable} bytes are held by checkpoints that must be kept (newest, best, permanent). Raise diskCapBytes or save fewer tensors. Nothing was written.`, { detail: `need ${need}, cap ${cap}` });
    }
    for (const r of deletable) {
      if (used() + need <= cap) break;
      await this.remove(r, 'disk-cap');
    }
  }

  private async retain(keep: CheckpointOptions['keep'], reason: DeletedEvent['reason']): Promise<string[]> {
    const names = selectDeletions(this.checkpoints, keep);
    for (const n of names) {
      const r = this.ledger.get(n);
      if (!r) continue;
      try {
        await this.remove(r, reason);
      } catch (e) {
        this.warn(`drivetrain: could not delete checkpoint ${n}: ${(e as Error).message}`);
      }
    }
    return names;
  }

  private async remove(r: Rec, reason: DeletedEvent['reason']): Promise<void> {
    await this.writer.remove(r.name);
    this.ledger.delete(r.name);
    this.emit(this.deletedListeners, { runDir: this.runDir, dir: path.join(this.runDir, r.path), name: r.name, kind: r.kind, globalStep: r.globalStep, reason });
  }

  private emit<T>(listeners: Set<Listener<T>>, ev: T): void {
    const failed = (e: unknown) => this.warn(`drivetrain: checkpoint listener failed: ${(e as Error)?.message ?? String(e)}`);
    for (const l of listeners) {
      try {
        const r = l(ev) as Promise<unknown> | undefined;
        if (r && typeof r.then === 'function') r.then(undefined, failed);
      } catch (e) {
        failed(e);
      }
    }
  }

  /** Load the ledger from the manifests on disk (cheap check: schema, presence, sizes). */
  private async scan(): Promise<void> {
    let names: string[] = [];
    try {
      names = await this.fs.readdir(this.target.root);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    for (const name of names.filter((n) => !isStagingName(n))) {
      const dir = path.join(this.target.root, name);
      try {
        const m = await readManifest(dir, this.fs);
        await checkSizes(dir, m, this.fs);
        const bytes = Object.values(m.files).reduce((a, f) => a + f.size, 0);
        this.ledger.set(name, { name, kind: m.kind, epoch: m.epoch, stepInEpoch: m.stepInEpoch, globalStep: m.globalStep, metrics: m.metrics, path: path.relative(this.runDir, dir), created: m.created, bytes });
      } catch (e) {
        this.warn(`drivetrain: ignoring invalid checkpoint ${dir}: ${(e as Error).message}`);
      }
    }
  }

  /** metadata.json is an index for people and `drivetrain runs`; failing to update it is a warning. */
  private async updateMetadata(): Promise<void> {
    await this.writeMetadata().catch((e) => this.warn(`drivetrain: metadata.json not updated: ${(e as Error).message}`));
  }

  private async writeMetadata(): Promise<void> {
    const list = this.checkpoints;
    const b = this.options.keep.best;
    const best = findBest(list, b);
    this.meta = {
      ...this.meta,
      updated: new Date().toISOString(),
      checkpoints: list,
      best: best && b ? { name: best.name, metric: b.monitor, mode: b.mode, minDelta: b.minDelta, value: best.metrics[b.monitor], epoch: best.epoch, globalStep: best.globalStep } : null,
    };
    await this.writer.writeMetadata(this.runDir, this.meta);
  }
}

/** Releases a snapshot now, or once its tensors arrived (a failed download holds nothing). */
function releaseSnapshot(s: Snapshot | Promise<Snapshot>): void {
  if (s instanceof Promise) s.then((x) => x.release(), () => undefined);
  else s.release();
}
