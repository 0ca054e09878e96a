// One-line helpers for notebook cells: mount(), restore(), runStage() / train(), results(),
// runs(), status(). Each shows its outcome (HTML in notebooks, text elsewhere) and returns data.
import fs from 'node:fs';
import path from 'node:path';
import { listRuns, type RunRow } from '../checkpoint/runs.js';
import { readRunMetadata } from '../checkpoint/metadata.js';
import { listRemoteRuns, restore as restoreRun, type RemoteRun, type RestoreResult } from '../backup/restore.js';
import { describeWebGpu, deviceReport } from '../engine/doctor.js';
import { checkQuota, mountDrive, storeFromTarget, type MountOptions } from '../storage/mount.js';
import type { Store } from '../storage/store.js';
import { mergeStage, type Runbook, type TrainConfigInput } from '../train/config.js';
import { MetricsLog } from '../train/metrics-log.js';
import { train as trainRun, type TrainOptions, type TrainSummary } from '../train/run.js';
import { firstUnfinishedStage, loadRunbook, overrideRunbook, runStage as runbookStage, stageIndex, stageOut, withRunName, type StageSummary } from '../train/runbook.js';
import { notebookStageIndices } from '../train/stage-notebooks.js';
import type { BackupOption } from '../train/backup-link.js';
import { inNotebook, show, showHtml } from './display.js';
import { cellError, stageNotebook, userError } from './errors.js';
import { escapeHtml, fmtCell, htmlTable, textTable, type Cell } from './html.js';
import { notebookProgress } from './progress.js';
import { mountedStore, requireMountedStore, setMountedStore } from './session.js';
import { metricsCharts, type EpochRecord } from './svg.js';

export { stageFinished } from '../train/runbook.js';
export { cellError, DrivetrainError, stageNotebook, userError } from './errors.js';

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
  const any = results.some((r) => r.dir);
  console.log(any ? 'Now re-run the notebook of the stage you were on: it resumes from the restored step.' : 'Nothing to restore: start with 01-stage1.');
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

/** Runs one runbook stage with live progress; resumes automatically from the newest checkpoint. */
export async function runStage(stage: string | number, opts: StageOptions = {}): Promise<StageSummary> {
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
  const backup = backupOption(opts.backup, remoteRunName(rb.stages[i]!.name, opts.run));
  return trainInCell(opts.train, backup, (o) => runbookStage(book, i, o));
}

/** Trains one config (no runbook) with live progress. */
export async function train(config: TrainConfigInput, opts: { backup?: boolean; train?: TrainOptions } = {}): Promise<TrainSummary> {
  return trainInCell(opts.train, backupOption(opts.backup), (o) => trainRun(config, o));
}

/** Back up to the mounted store when asked, or by default when mount() ran. */
function backupOption(asked: boolean | undefined, runName?: string): BackupOption | undefined {
  if (!(asked ?? mountedStore() !== null)) return undefined;
  return runName === undefined ? { store: requireMountedStore() } : { store: requireMountedStore(), runName };
}

/** The setup runStage and train share: live progress, backup, Interrupt stops (saving), errors as cells show them. */
async function trainInCell<T>(given: TrainOptions | undefined, backup: BackupOption | undefined, run: (o: TrainOptions) => Promise<T>): Promise<T> {
  const view = notebookProgress();
  const o: TrainOptions = { ...given, onEvent: chain(view.listener, given?.onEvent) };
  if (backup) o.backup = backup;
  const off = stopOnInterrupt(o);
  try {
    return await run(o);
  } catch (e) {
    throw cellError(e, 'training');
  } finally {
    off();
  }
}

/**
 * Jupyter's Interrupt sends the kernel SIGINT: tslab ends the cell at once, but the training
 * would go on in the background (holding the run folder). Stop it the CLI's way instead: finish
 * the step, save, flush, return `interrupted`. Sets `o.signal` (still following a given one).
 */
function stopOnInterrupt(o: TrainOptions): () => void {
  if (!inNotebook()) return () => {};
  const ac = new AbortController();
  const given = o.signal;
  if (given?.aborted) ac.abort();
  else given?.addEventListener('abort', () => ac.abort(), { once: true });
  o.signal = ac.signal;
  const onSigint = () => {
    if (ac.signal.aborted) return;
    console.log('Interrupted: stopping after this step and saving; re-run the cell to resume.');
    ac.abort();
  };
  // Not while the cell's synchronous part runs: tslab runs it with vm's breakOnSigint, whose
  // watchdog, when it stops, restores Node's default SIGINT action over a handler added meanwhile
  // (the next Interrupt would then kill the kernel).
  const later = setImmediate(() => process.on('SIGINT', onSigint));
  return () => {
    clearImmediate(later);
    process.off('SIGINT', onSigint);
  };
}

function chain<E>(...fns: (((e: E) => void) | undefined)[]): (e: E) => void {
  return (e) => {
    for (const f of fns) f?.(e);
  };
}

/** Per-epoch metrics of a run folder, from its metrics.jsonl. */
export function epochHistory(runDir: string): EpochRecord[] {
  const byEpoch = new Map<number, EpochRecord>();
  for (const r of new MetricsLog(runDir).read()) {
    if (r.type !== 'epoch') continue;
    const values: Record<string, number> = {};
    for (const [k, v] of Object.entries(r)) if (typeof v === 'number' && !['epoch', 'globalStep'].includes(k)) values[k] = v;
    byEpoch.set(r.epoch, { epoch: r.epoch, values });
  }
  return [...byEpoch.values()].sort((a, b) => a.epoch - b.epoch);
}

/**
 * The results cell: loss/metrics plots, the best checkpoint and the backup status of a stage
 * (by name/index, or the summary runStage returned).
 */
export async function results(stage: string | number | StageSummary, opts: { runbook?: string; run?: string } = {}): Promise<{ runDir: string; history: EpochRecord[] }> {
  let runDir: string;
  let name: string;
  if (typeof stage === 'object') {
    runDir = stage.out;
    name = stage.stage;
  } else {
    const rb = loadBook(opts.runbook, opts.run);
    const i = stageIndex(rb, stage);
    runDir = stageOut(rb, i);
    name = rb.stages[i]!.name;
  }
  if (!fs.existsSync(runDir)) throw userError(`stage ${name} has no run folder ${runDir} yet: run its train cell first`);
  const history = epochHistory(runDir);
  const charts = metricsCharts(history, name);
  show({ 'image/svg+xml': charts.losses, 'text/plain': `(loss plot of ${name}: ${history.length} epochs)` });
  if (charts.others) show({ 'image/svg+xml': charts.others, 'text/plain': `(metrics plot of ${name})` });
  const keys = charts.keys;
  table(['epoch', ...keys], history.map((h) => [h.epoch + 1, ...keys.map((k) => h.values[k])]), `${name}: metrics per epoch`);
  const meta = await readRunMetadata(runDir).catch(() => null);
  const best = meta?.best;
  const lines: [string, Cell][] = [
    ['run folder', runDir],
    ['best checkpoint', best ? `${best.name}: ${best.metric}=${fmtCell(best.value)} at step ${best.globalStep}` : 'none yet'],
    ['checkpoints', meta ? meta.checkpoints.map((c) => c.name).join(', ') : '-'],
  ];
  const store = mountedStore();
  if (store) {
    const remote = (await listRemoteRuns(store).catch(() => [] as RemoteRun[])).find((r) => r.run === remoteRunName(name, opts.run));
    lines.push(['backup', remote ? `${remote.checkpoints} checkpoint(s) on ${store.description}, newest ${remote.latest} (step ${remote.globalStep})` : `nothing backed up yet to ${store.description}`]);
  } else {
    lines.push(['backup', 'off (run the mount cell in 00-setup-and-restore to back up)']);
  }
  table([], lines, `${name}: summary`);
  return { runDir, history };
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
