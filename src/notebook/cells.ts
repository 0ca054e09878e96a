// One-line helpers for notebook cells: mount(), restore(), runStage() / train(), results(),
// runs(), status(). Each shows its outcome (HTML in notebooks, text elsewhere) and returns data.
import fs from 'node:fs';
import path from 'node:path';
import { listRuns, type RunRow } from '../checkpoint/runs.js';
import { listRemoteRuns, restore as restoreRun, type RemoteRun, type RestoreResult } from '../backup/restore.js';
import { describeWebGpu, deviceReport } from '../engine/doctor.js';
import { checkQuota, mountDrive, storeFromTarget, type MountOptions } from '../storage/mount.js';
import type { Store } from '../storage/store.js';
import { mergeStage, type Runbook, type TrainConfigInput } from '../train/config.js';
import { train as trainRun, type TrainOptions, type TrainSummary } from '../train/run.js';
import { firstUnfinishedStage, loadRunbook, overrideRunbook, runStage as runbookStage, stageIndex, stageOut, withRunName, type StageSummary } from '../train/runbook.js';
import { notebookStageIndices } from '../train/stage-notebooks.js';
import type { BackupOption } from '../train/backup-link.js';
import type { EpochRecord, StageData } from './charts.js';
import { inNotebook, showHtml } from './display.js';
import { cellError, stageNotebook, TrainingInterrupted, userError } from './errors.js';
import { escapeHtml, htmlTable, textTable, type Cell } from './html.js';
import { notebookProgress, type FinishInfo } from './progress.js';
import { showResults, showRunPlot } from './results.js';
import { mountedStore, requireMountedStore, setMountedStore } from './session.js';

export { stageFinished } from '../train/runbook.js';
export { cellError, DrivetrainError, stageNotebook, TrainingInterrupted, userError } from './errors.js';
export { epochHistory, runMetrics } from './results.js';

export const DEFAULT_RUNBOOK = 'runbooks/glyphs.json';

function table(headers: string[], rows: Cell[][], caption?: string): void {
  showHtml(htmlTable(headers, rows, caption), textTable(headers, rows, caption));
}

/**
 * Chooses where backups go and remembers it for later cells. `target`: a folder, or
 * `drive:folder` for Google Drive through the API; empty/`auto`: a mounted Colab Drive, Drive
 * credentials from the environment, else ./drive (see mountDrive). `opts.expectBytes`: bytes
 * the coming runs will back up; the store's free space is checked against it (checkQuota).
 */
export async function mount(target?: string | null, opts: MountOptions = {}): Promise<Store> {
  const lines: string[] = [];
  const log = (m: string) => lines.push(m);
  let store: Store;
  try {
    const auto = !target || target === 'auto';
    store = auto ? await mountDrive({ log, ...opts }) : await storeFromTarget(target, opts);
    if (!auto && opts.expectBytes !== undefined) { // mountDrive checks its own choice
      const q = await checkQuota(store, opts.expectBytes, log);
      if (q.ok && q.free !== null) log(`drivetrain: ${q.message}`);
    }
  } catch (e) {
    throw cellError(e, 'mount');
  }
  setMountedStore(store);
  const remote = await listRemoteRuns(store).catch(() => [] as RemoteRun[]);
  const text = [...lines, `Backups go to ${store.description} (${remote.length} backed-up run${remote.length === 1 ? '' : 's'} there).`].join('\n');
  showHtml(`<div>${lines.map((l) => `${escapeHtml(l)}<br>`).join('')}Backups go to <code>${escapeHtml(store.description)}</code> (${remote.length} backed-up run${remote.length === 1 ? '' : 's'} there).</div>`, text);
  return store;
}

/** The runbook, with its output folder moved to `runs/<run>` when a run name is given. */
export function loadBook(runbook = DEFAULT_RUNBOOK, run?: string): Runbook {
  try {
    return withRunName(loadRunbook(runbook), run);
  } catch (e) {
    throw cellError(e, 'loading the runbook');
  }
}

/** Name of a stage's run on the backup store (`<run>-<stage>` when a run name is given). */
export function remoteRunName(stage: string, run?: string): string {
  return run ? `${run}-${stage}` : stage;
}

/** Index and name of the first stage that has not finished (the last stage when all have), and the notebook that runs it. */
export async function currentStage(opts: { runbook?: string; run?: string } = {}): Promise<{ index: number; name: string; started: boolean; allDone: boolean; notebook: string }> {
  const rb = loadBook(opts.runbook, opts.run);
  const c = await firstUnfinishedStage(rb);
  return { ...c, notebook: stageNotebook(c.index, rb.stages.length) };
}

/**
 * The stages stage notebook `k` (1–3) runs, in order, from the runbook: its last three stages are
 * stages 1, 2 and 3; earlier ones (e.g. pre-training) run in 01-stage1 before its own.
 */
export function notebookStages(k: number, opts: { runbook?: string; run?: string } = {}): string[] {
  const rb = loadBook(opts.runbook, opts.run);
  const names = notebookStageIndices(rb.stages.length, k).map((i) => rb.stages[i]!.name);
  if (!names.length) throw userError(`runbook ${rb.name} has ${rb.stages.length} stage${rb.stages.length > 1 ? 's' : ''} (${rb.stages.map((st) => st.name).join(', ')}), which ${rb.stages.length > 1 ? 'run' : 'runs'} in the notebooks before 0${k}-stage${k}: nothing to train here`);
  return names;
}

/**
 * Restores the newest verified checkpoint of every runbook stage backed up on the mounted
 * store into the stage's run folder (a newer valid local checkpoint is kept). Re-run this after
 * a disconnect, then re-run the stage notebook: training continues from that step.
 */
export async function restore(opts: { runbook?: string; run?: string; store?: Store } = {}): Promise<RestoreResult[]> {
  const store = opts.store ?? requireMountedStore();
  const rb = loadBook(opts.runbook, opts.run);
  const remote = new Map((await listRemoteRuns(store)).map((r) => [r.run, r]));
  const results: RestoreResult[] = [];
  const rows: Cell[][] = [];
  for (let i = 0; i < rb.stages.length; i++) {
    const name = remoteRunName(rb.stages[i]!.name, opts.run);
    if (!remote.has(name)) {
      rows.push([name, 'no backup', '-', null, '-']);
      continue;
    }
    const r = await restoreRun({ from: store, run: name, into: stageOut(rb, i), log: () => {} }).catch((e: Error) => {
      rows.push([name, `failed: ${e.message}`, '-', null, '-']);
      return null;
    });
    if (!r) continue;
    results.push(r);
    const how = (r.source === 'store' ? `restored (${(r.downloadedBytes / 1e6).toFixed(1)} MB downloaded)` : r.source === 'local' ? 'local copy is newest' : 'nothing verified')
      + (r.best && r.best !== r.name ? `; best ${r.best} too` : '');
    rows.push([name, how, r.name, r.globalStep, r.dir]);
  }
  table(['stage', 'result', 'checkpoint', 'step', 'folder'], rows, `Restore from ${store.description}`);
  // What to run next is the notebook's last line (from currentStage()): one hint, not two.
  return results;
}

export interface StageOptions {
  runbook?: string;
  /** Run name: outputs go to `runs/<run>/<stage>`, backups to `<run>-<stage>` (default: the runbook's). */
  run?: string;
  /** Epochs of the stage (0 or unset: the runbook's). */
  epochs?: number;
  /** cpu | webgpu | auto (WebGPU when an adapter works, else CPU); '' or unset: the runbook's. */
  device?: string;
  /** Number of generated samples (0 or unset: the runbook's); small values make quick test runs. */
  dataN?: number;
  /** Your images (a folder: class sub-folders, images + `ann` CSV, or YOLO images/ + labels/) instead of the runbook's data ('' or unset: the runbook's). */
  data?: string;
  /** The annotation CSV of `data` (filename,class,x,y,w,h in pixels, or filename,class). */
  ann?: string;
  /** Image side the images are resized to (0 or unset: the runbook's, default 32). */
  imgSize?: number;
  /** A model instead of the runbook's: a built-in name (resnet18, glyph, …) or your module './models/mine.ts#detector'. */
  model?: string;
  /** Most bytes the stage's checkpoints may use on disk (0 or unset: the runbook's checkpoint.diskCapBytes). */
  diskCapBytes?: number;
  /** Keep a permanent `epoch-NNN` checkpoint every K epochs (0 or unset: the runbook's checkpoint.permanentEvery). */
  permanentEvery?: number;
  /** Further train-config keys replacing the stage's (e.g. { lr: 0.01 }). */
  overrides?: Record<string, unknown>;
  /** Back up to the mounted store (default: when mount() ran). */
  backup?: boolean;
  /** Extra TrainOptions (signal, onEvent, …). */
  train?: TrainOptions;
}

/**
 * The stage notebooks pass their parameters cell's values here (DEVICE, EPOCHS / PRETRAIN_EPOCHS,
 * DATA_N): a bad one is named as that parameter, not as a runbook path.
 */
function checkStageOptions(o: StageOptions): void {
  const bad = (what: string, value: unknown, fix: string) => userError(`${what} = ${JSON.stringify(value)}: ${fix}`);
  if (o.device !== undefined && o.device !== null && o.device !== '' && !['cpu', 'webgpu', 'auto'].includes(o.device)) {
    throw bad('device (the DEVICE parameter)', o.device, "use 'cpu', 'webgpu' or 'auto' (WebGPU when an adapter works, else the CPU) in the parameters cell");
  }
  const count = (what: string, v: unknown, zero: string) => {
    if (v === undefined || v === null) return;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw bad(what, v, `use a whole number ≥ 0 in the parameters cell (0 = ${zero})`);
  };
  count('epochs (the EPOCHS / PRETRAIN_EPOCHS parameter)', o.epochs, "the runbook's");
  count('dataN (the DATA_N parameter)', o.dataN, "the runbook's data size");
}

/** Runs one runbook stage with live progress; resumes automatically from the newest checkpoint. */
export async function runStage(stage: string | number, opts: StageOptions = {}): Promise<StageSummary> {
  checkStageOptions(opts);
  const rb = overrideRunbook(loadBook(opts.runbook, opts.run), opts);
  let i: number;
  try {
    i = stageIndex(rb, stage);
  } catch (e) {
    throw cellError(e, 'training');
  }
  const given: Record<string, unknown> = { ...opts.overrides };
  if (opts.epochs) given.epochs = opts.epochs;
  if (opts.dataN) given.data = { ...(given.data as object), n: opts.dataN };
  const ck: Record<string, unknown> = {};
  if (opts.diskCapBytes) ck.diskCapBytes = opts.diskCapBytes;
  if (opts.permanentEvery) ck.permanentEvery = opts.permanentEvery;
  if (Object.keys(ck).length) given.checkpoint = { ...(rb.stages[i]!.checkpoint as object | undefined), ...(given.checkpoint as object | undefined), ...ck };
  const overrides = Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined && v !== null && v !== ''));
  // objects merge into the stage's own (DATA_N keeps a stage's data.seed)
  const book: Runbook = { ...rb, stages: rb.stages.map((s, j) => (j === i ? { ...mergeStage(s, overrides), name: s.name } : s)) };
  const name = rb.stages[i]!.name;
  const backup = backupOption(opts.backup, remoteRunName(name, opts.run));
  return trainInCell(name, opts.train, backup, (o) => runbookStage(book, i, o), (r) => ({ reason: r.reason === 'notStarted' ? 'interrupted' : r.reason, runDir: r.out, epochsDone: r.epochs, globalStep: r.globalStep, message: r.message }));
}

/** Trains one config (no runbook) with live progress. */
export async function train(config: TrainConfigInput, opts: { backup?: boolean; train?: TrainOptions } = {}): Promise<TrainSummary> {
  return trainInCell('', opts.train, backupOption(opts.backup), (o) => trainRun(config, o), (r) => ({ reason: r.reason, runDir: r.runDir, epochsDone: r.epoch, globalStep: r.globalStep, message: r.message }));
}

/** Back up to the mounted store when asked, or by default when mount() ran. */
function backupOption(asked: boolean | undefined, runName?: string): BackupOption | undefined {
  if (!(asked ?? mountedStore() !== null)) return undefined;
  return runName === undefined ? { store: requireMountedStore() } : { store: requireMountedStore(), runName };
}

/**
 * The setup runStage and train share: the live block, backup, Interrupt stops (saving), errors as
 * cells show them. After an Interrupt, once everything is saved and backed up, the cell ends with
 * TrainingInterrupted: the block shows the one message, the kernel no error, and the rest of the
 * cell (e.g. the next stage) does not run.
 */
async function trainInCell<T>(stage: string, given: TrainOptions | undefined, backup: BackupOption | undefined, run: (o: TrainOptions) => Promise<T>, info: (r: T) => FinishInfo): Promise<T> {
  const backupTo = !backup ? null : 'store' in backup ? backup.store.description : backup.to;
  const view = notebookProgress({ stage, backupTo });
  const o: TrainOptions = { ...given, onEvent: chain(view.listener, given?.onEvent) };
  if (backup) o.backup = backup;
  const stop = stopOnInterrupt(o, () => view.interrupting());
  let r: T;
  try {
    r = await run(o);
  } catch (e) {
    view.fail(e);
    throw cellError(e, 'training');
  } finally {
    stop.off();
  }
  const f = info(r);
  const message = view.finish(f);
  if (stop.interrupted() && f.reason === 'interrupted') throw new TrainingInterrupted(message, r);
  return r;
}

/**
 * Jupyter's Interrupt sends the kernel SIGINT: tslab ends the cell at once, but the training
 * would go on in the background (holding the run folder). Stop it the CLI's way instead: finish
 * the step, save, flush, return `interrupted` (the drivetrain kernel keeps the cell busy until
 * then). The listener lives only while this training call runs. Sets `o.signal` (still
 * following a given one).
 */
function stopOnInterrupt(o: TrainOptions, onInterrupt: () => void): { off: () => void; interrupted: () => boolean } {
  if (!inNotebook()) return { off: () => {}, interrupted: () => false };
  const ac = new AbortController();
  const given = o.signal;
  if (given?.aborted) ac.abort();
  else given?.addEventListener('abort', () => ac.abort(), { once: true });
  o.signal = ac.signal;
  let interrupted = false;
  const onSigint = () => {
    if (ac.signal.aborted) return;
    interrupted = true;
    onInterrupt();
    ac.abort();
  };
  // Not while the cell's synchronous part runs: tslab runs it with vm's breakOnSigint, whose
  // watchdog, when it stops, restores Node's default SIGINT action over a handler added meanwhile
  // (the next Interrupt would then kill the kernel).
  const later = setImmediate(() => process.on('SIGINT', onSigint));
  return {
    off: () => {
      clearImmediate(later);
      process.off('SIGINT', onSigint);
    },
    interrupted: () => interrupted,
  };
}

function chain<E>(...fns: (((e: E) => void) | undefined)[]): (e: E) => void {
  return (e) => {
    for (const f of fns) f?.(e);
  };
}

/**
 * The results cell: plots (one panel per metric with per-step values, train and val per epoch;
 * `logY` puts the loss panels on a log axis), the per-epoch table, the best checkpoint and the
 * backup status of a stage (by name/index, or the summary runStage returned); with earlier
 * stages done, also the plot of the whole run across its stages.
 */
export async function results(stage: string | number | StageSummary, opts: { runbook?: string; run?: string; logY?: boolean } = {}): Promise<{ runDir: string; history: EpochRecord[] }> {
  const rb = loadBook(opts.runbook, opts.run);
  try {
    return await showResults(rb, stage, { logY: opts.logY, remoteName: (s) => remoteRunName(s, opts.run) });
  } catch (e) {
    throw cellError(e, 'results');
  }
}

/** The plot of the whole run: every stage with metrics so far on one epoch axis. */
export function runPlot(opts: { runbook?: string; run?: string; logY?: boolean } = {}): StageData[] {
  return showRunPlot(loadBook(opts.runbook, opts.run), { logY: opts.logY });
}

/** The runbook's local runs as a table. */
export async function runs(opts: { runbook?: string; run?: string; base?: string } = {}): Promise<RunRow[]> {
  const base = opts.base ?? loadBook(opts.runbook, opts.run).out;
  const rows = fs.existsSync(base) ? await listRuns(base) : [];
  table(
    ['run', 'experiment', 'created', 'checkpoints', 'best', 'last step'],
    rows.map((r) => [r.run, r.experiment, r.created?.replace('T', ' ').slice(0, 19), r.error ? `error: ${r.error}` : r.checkpoints, r.best, r.lastStep]),
    `Runs in ${base}`,
  );
  return rows;
}

/** Versions, device, backup location and the runs there: the "is everything ready" cell. */
export async function status(opts: { runbook?: string } = {}): Promise<{ node: string; onnxruntime: string; webgpu: string; store: string | null; remote: RemoteRun[] }> {
  const ortPkg = (() => {
    try {
      return (JSON.parse(fs.readFileSync(path.join('node_modules', 'onnxruntime-node', 'package.json'), 'utf8')) as { version: string }).version;
    } catch {
      return 'not found (run npm ci)';
    }
  })();
  const webgpu = describeWebGpu(await deviceReport());
  const store = mountedStore();
  const remote = store ? await listRemoteRuns(store).catch(() => [] as RemoteRun[]) : [];
  const info = { node: process.version, onnxruntime: ortPkg, webgpu, store: store?.description ?? null, remote };
  table(
    ['', ''],
    [
      ['node', info.node],
      ['onnxruntime-node', info.onnxruntime],
      ['WebGPU', webgpu],
      ['notebook kernel', inNotebook() ? 'tslab (TypeScript)' : 'not in a notebook'],
      ['working folder', process.cwd()],
      ['runbook', opts.runbook ?? DEFAULT_RUNBOOK],
      ['backups', info.store ?? 'not mounted (run mount())'],
    ],
    'drivetrain status',
  );
  if (remote.length) table(['backed-up run', 'newest', 'step', 'checkpoints', 'updated'], remote.map((r) => [r.run, r.latest, r.globalStep, r.checkpoints, r.updated]));
  return info;
}
