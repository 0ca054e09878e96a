// Runbooks: ordered training stages in one JSON file. Each stage is a train config over the
// runbook's defaults, written to `<runbook out>/<stage name>`, and by default starts from the
// previous stage's best checkpoint (weights only, fresh optimizer).
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError, StageOrderError, isPlain, parseRunbook, parseTrainConfig, stageInput, type Runbook, type TrainConfig } from './config.js';
import type { DoneReason, Metrics } from './events.js';
import { loadCheckpointState, selectResume, type TrainState } from '../checkpoint/index.js';
import { finishedReason } from './resume-state.js';
import { formatTextTable } from '../text-table.js';
import { bestCheckpoint, train, type TrainOptions } from './run.js';
import type { BackupOutcome } from './backup-link.js';

export interface StageSummary {
  index: number;
  stage: string;
  out: string;
  /** 'notStarted' only in summaries of stages without a checkpoint. */
  reason: DoneReason | 'notStarted';
  /** Epochs completed in the stage. */
  epochs: number;
  globalStep: number;
  /** Last epoch's metrics (train + val). */
  last: Metrics | null;
  /** First epoch's metrics, for before/after comparisons. */
  first: Metrics | null;
  best: { metric: string; value: number; epoch: number } | null;
  initFrom: string | null;
  seconds: number;
  message: string;
  /** How the stage's backups ended (when backing up). */
  backup?: BackupOutcome;
}

export function loadRunbook(file: string): Runbook {
  let text: string;
  try { text = fs.readFileSync(file, 'utf8'); } catch { throw new ConfigError(`runbook ${file} does not exist or cannot be read`); }
  let json: unknown;
  try { json = JSON.parse(text); } catch (e) { throw new ConfigError(`runbook ${file} is not valid JSON: ${(e as Error).message}`); }
  return parseRunbook(json, `runbook ${file}`);
}

/** Index of a stage given as an index ("2") or a name ("stage2"). */
export function stageIndex(rb: Runbook, which: number | string): number {
  const s = String(which);
  const byName = rb.stages.findIndex((st) => st.name === s);
  if (byName >= 0) return byName;
  const n = Number(s);
  if (Number.isInteger(n) && n >= 0 && n < rb.stages.length) return n;
  throw new ConfigError(`no stage "${s}" in runbook ${rb.name}: stages are ${rb.stages.map((st, i) => `${i} (${st.name})`).join(', ')}`);
}

/** The run folder of stage `i`: its own `out`, else `<runbook out>/<stage name>`. */
export function stageOut(rb: Runbook, i: number): string {
  return rb.stages[i].out ?? path.join(rb.out, rb.stages[i].name);
}

/** The resolved train config of stage `i` (initFrom resolved against the previous stage). */
export async function stageConfig(rb: Runbook, i: number): Promise<TrainConfig> {
  const { name, initFrom } = rb.stages[i];
  let init: string | null = null;
  const spec = initFrom === undefined ? (i > 0 ? 'previous' : null) : initFrom;
  if (spec === 'previous') {
    if (i === 0) throw new ConfigError(`stages[0].initFrom: "previous" but ${name} is the first stage`);
    const prev = rb.stages[i - 1];
    const best = await bestCheckpoint(stageOut(rb, i - 1));
    if (!best) {
      throw new StageOrderError(`stage ${i} (${name}) starts from the best checkpoint of stage ${i - 1} (${prev.name}), which has none yet in ${stageOut(rb, i - 1)}: run stage ${i - 1} first (drivetrain runbook <file> --stage ${i - 1})`, i - 1, rb.stages.length);
    }
    init = best;
  } else if (spec && spec !== 'none') {
    init = spec;
  }
  const merged = { ...stageInput(rb, i), out: stageOut(rb, i), initFrom: init };
  return parseTrainConfig(merged, `runbook ${rb.name}, stage ${i} (${name}) merged with defaults`);
}

export async function runStage(rb: Runbook | string, which: number | string, opts: TrainOptions = {}): Promise<StageSummary> {
  const book = typeof rb === 'string' ? loadRunbook(rb) : rb;
  const i = stageIndex(book, which);
  const cfg = await stageConfig(book, i);
  const t0 = Date.now();
  const s = await train(cfg, { ...opts, stage: book.stages[i].name });
  const hist = s.history;
  return {
    index: i,
    stage: book.stages[i].name,
    out: cfg.out,
    reason: s.reason,
    epochs: s.epoch,
    globalStep: s.globalStep,
    last: s.last,
    first: hist.length ? hist[0].values : null,
    best: s.best ? { metric: s.best.metric, value: s.best.value, epoch: s.best.epoch } : null,
    initFrom: cfg.initFrom,
    seconds: (Date.now() - t0) / 1000,
    message: s.message,
    ...(s.backup ? { backup: s.backup } : {}),
  };
}

/** Runs every stage in order; stops at the first stage that does not finish (interrupted, NaN). */
export async function runRunbook(rb: Runbook | string, opts: TrainOptions = {}): Promise<StageSummary[]> {
  const book = typeof rb === 'string' ? loadRunbook(rb) : rb;
  const out: StageSummary[] = [];
  for (let i = 0; i < book.stages.length; i++) {
    const s = await runStage(book, i, opts);
    out.push(s);
    if (s.reason === 'interrupted' || s.reason === 'nonFinite') break;
  }
  return out;
}

/** The runbook with its output folder moved to `<parent of out>/<run>` (a named run). */
export function withRunName(rb: Runbook, run?: string): Runbook {
  if (!run) return rb;
  if (!/^[A-Za-z0-9_.-]+$/.test(run)) throw new ConfigError(`run name "${run}" may use letters, digits, _ . - only`);
  return { ...rb, out: path.join(path.dirname(rb.out), run) };
}

/** What replaces a runbook's data and model (CLI flags, notebook parameters); unset or '' / 0: the runbook's. */
export interface RunbookOverrides {
  /** Your images (data.path): the runbook's dataset keys (name, n, noise, clutter, options, path, ann, format, classes) give way. */
  data?: string;
  ann?: string;
  imgSize?: number;
  model?: string;
  /** cpu | webgpu | auto for every stage. */
  device?: string;
}

const OTHER_DATASET = ['name', 'n', 'noise', 'clutter', 'options', 'path', 'ann', 'format', 'classes'];

/** The runbook with `o` in its defaults for every stage (stages' own values for those keys give way). */
export function overrideRunbook(rb: Runbook, o: RunbookOverrides): Runbook {
  const given = { path: o.data || undefined, ann: o.ann || undefined, size: o.imgSize || undefined };
  const set = Object.entries(given).filter(([, v]) => v !== undefined);
  const top = Object.entries({ model: o.model, device: o.device }).filter(([, v]) => v);
  if (!set.length && !top.length) return rb;
  const data = (d: unknown, isDefaults: boolean): unknown => {
    if (!isDefaults && !isPlain(d)) return d;
    const out: Record<string, unknown> = { ...(isPlain(d) ? d : {}) };
    for (const k of given.path ? OTHER_DATASET : []) delete out[k];
    for (const [k, v] of set) if (isDefaults) out[k] = v; else delete out[k];
    return out;
  };
  const stage = (s: Record<string, unknown>, isDefaults: boolean) => {
    const out: Record<string, unknown> = { ...s };
    if (set.length && (isDefaults || 'data' in s)) out.data = data(s.data, isDefaults);
    for (const [k, v] of top) if (isDefaults) out[k] = v; else delete out[k];
    return out;
  };
  return { ...rb, defaults: stage(rb.defaults, true), stages: rb.stages.map((s) => stage(s, false) as Runbook['stages'][number]) };
}

/** The state of a run folder's newest valid checkpoint, and how that run ended (null: it goes on). */
export async function stageProgress(runDir: string): Promise<{ state: TrainState; finished: DoneReason | null } | null> {
  const choice = await selectResume(runDir, { warn: () => {} }).catch(() => null);
  const state = choice ? await loadCheckpointState(choice.dir).catch(() => null) : null;
  return state ? { state, finished: finishedReason(state) } : null;
}

/** Whether a stage's newest checkpoint says it completed or stopped early. */
export async function stageFinished(runDir: string): Promise<boolean> {
  const f = (await stageProgress(runDir))?.finished;
  return f === 'completed' || f === 'earlyStop';
}

/** The first stage that has not finished (the last stage when all have). */
export async function firstUnfinishedStage(rb: Runbook): Promise<{ index: number; name: string; started: boolean; allDone: boolean }> {
  for (let i = 0; i < rb.stages.length; i++) {
    const dir = stageOut(rb, i);
    if (!(await stageFinished(dir))) return { index: i, name: rb.stages[i].name, started: fs.existsSync(dir), allDone: false };
  }
  const last = rb.stages.length - 1;
  return { index: last, name: rb.stages[last].name, started: true, allDone: true };
}

/** What each stage has reached so far, read from its newest valid checkpoint; never trains. */
export async function summarizeRunbook(rb: Runbook | string): Promise<StageSummary[]> {
  const book = typeof rb === 'string' ? loadRunbook(rb) : rb;
  const rows: StageSummary[] = [];
  for (let i = 0; i < book.stages.length; i++) {
    const out = stageOut(book, i);
    const progress = await stageProgress(out);
    const state = progress?.state ?? null;
    const hist = state?.metrics ?? [];
    const values = (k: number) => (hist[k] ? Object.fromEntries(Object.entries(hist[k].values).filter(([, v]) => v !== null)) as Metrics : null);
    rows.push({
      index: i, stage: book.stages[i].name, out,
      reason: progress?.finished ?? (state ? 'interrupted' : 'notStarted'),
      epochs: state?.epoch ?? 0, globalStep: state?.globalStep ?? 0,
      first: values(0), last: values(hist.length - 1),
      best: state?.best ? { metric: state.best.metric, value: state.best.value, epoch: state.best.epoch } : null,
      initFrom: null, seconds: Number.NaN, message: state ? '' : 'not started',
    });
  }
  return rows;
}

/** The metrics the stages produced, for the table's columns: the validation ones (else the training ones), in name order. */
export function stageTableColumns(rows: StageSummary[]): string[] {
  const names = new Set(rows.flatMap((r) => [...Object.keys(r.first ?? {}), ...Object.keys(r.last ?? {})]));
  const val = [...names].filter((n) => n.startsWith('val_'));
  return (val.length ? val : [...names]).sort();
}

/** A plain-text table of stage results: the metrics the stages produced, at each stage's first → last epoch. */
export function formatStageTable(rows: StageSummary[]): string {
  const cols = stageTableColumns(rows);
  const head = ['stage', 'status', 'epochs', ...cols.map((c) => `${c} (first → last)`), 'time'];
  const cell = (r: StageSummary, c: string) => {
    const a = r.first?.[c], b = r.last?.[c];
    if (b === undefined) return '-';
    return a === undefined ? b.toFixed(4) : `${a.toFixed(4)} → ${b.toFixed(4)}`;
  };
  const body = rows.map((r) => [`${r.index} ${r.stage}`, r.reason, String(r.epochs), ...cols.map((c) => cell(r, c)), Number.isNaN(r.seconds) ? '-' : `${r.seconds.toFixed(1)}s`]);
  return formatTextTable(head, body);
}
