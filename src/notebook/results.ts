// The results cell: a stage's plots (one panel per metric, per-step values, train and val per
// epoch), the whole run's plot across its stages, the per-epoch table, the best checkpoint and
// what is backed up.
import fs from 'node:fs';
import { readRunMetadata } from '../checkpoint/metadata.js';
import { listRemoteRuns, type RemoteRun } from '../backup/restore.js';
import type { Runbook } from '../train/config.js';
import { MetricsLog } from '../train/metrics-log.js';
import { stageIndex, stageOut, type StageSummary } from '../train/runbook.js';
import { metricPanels, type EpochRecord, type StageData, type StepPoint } from './charts.js';
import { show, showHtml } from './display.js';
import { userError } from './errors.js';
import { fmtCell, htmlTable, textTable, type Cell } from './html.js';
import { orderedMetrics } from './live-block.js';
import { mountedStore } from './session.js';

export interface PlotOptions {
  runbook?: string;
  run?: string;
  /** Loss panels on a log axis. */
  logY?: boolean;
}

/** Per-epoch and per-step metrics of a run folder, from its metrics.jsonl (the last record of an epoch or step wins). */
export function runMetrics(runDir: string): { epochs: EpochRecord[]; steps: StepPoint[] } {
  const epochs = new Map<number, EpochRecord>();
  const steps = new Map<number, StepPoint>();
  for (const r of new MetricsLog(runDir).read()) {
    const values: Record<string, number> = {};
    for (const [k, v] of Object.entries(r)) if (typeof v === 'number' && !['epoch', 'globalStep'].includes(k)) values[k] = v;
    if (r.type === 'epoch') epochs.set(r.epoch, { epoch: r.epoch, globalStep: r.globalStep, values });
    else if (r.type === 'step') steps.set(r.globalStep, { globalStep: r.globalStep, values });
  }
  return { epochs: [...epochs.values()].sort((a, b) => a.epoch - b.epoch), steps: [...steps.values()].sort((a, b) => a.globalStep - b.globalStep) };
}

/** Per-epoch metrics of a run folder, from its metrics.jsonl. */
export function epochHistory(runDir: string): EpochRecord[] {
  return runMetrics(runDir).epochs;
}

/** The stages of a runbook that have metrics so far, in order. */
export function runStages(rb: Runbook): StageData[] {
  const out: StageData[] = [];
  rb.stages.forEach((st, i) => {
    const dir = stageOut(rb, i);
    if (!fs.existsSync(dir)) return;
    const m = runMetrics(dir);
    if (m.epochs.length || m.steps.length) out.push({ name: st.name, ...m });
  });
  return out;
}

/** The run's plot: every stage with metrics so far on one epoch axis, a dashed line where each starts. */
export function showRunPlot(rb: Runbook, opts: { logY?: boolean } = {}): StageData[] {
  const stages = runStages(rb);
  if (!stages.length) return stages;
  const { svg, panels } = metricPanels(stages, { title: `run ${rb.name}: ${stages.map((s) => s.name).join(' → ')}`, logY: opts.logY });
  show({ 'image/svg+xml': svg, 'text/plain': `(run plot of ${stages.map((s) => s.name).join(', ')}: ${panels.join(', ')})` });
  return stages;
}

function table(headers: string[], rows: Cell[][], caption?: string): void {
  showHtml(htmlTable(headers, rows, caption), textTable(headers, rows, caption));
}

/**
 * Plots, per-epoch table, best checkpoint and backup status of a stage (by name/index, or the
 * summary runStage returned); then, when earlier stages of the runbook have metrics too, the
 * plot of the whole run. `rb` is the runbook the stage belongs to.
 */
export async function showResults(rb: Runbook, stage: string | number | StageSummary, opts: { logY?: boolean; remoteName: (stage: string) => string }): Promise<{ runDir: string; history: EpochRecord[] }> {
  let runDir: string;
  let name: string;
  if (typeof stage === 'object') {
    [runDir, name] = [stage.out, stage.stage];
  } else {
    const i = stageIndex(rb, stage);
    [runDir, name] = [stageOut(rb, i), rb.stages[i]!.name];
  }
  if (!fs.existsSync(runDir)) throw userError(`stage ${name} has no run folder ${runDir} yet: run its train cell first`);
  const m = runMetrics(runDir);
  const { svg, panels } = metricPanels([{ name, ...m }], { title: `${name}: per step and per epoch`, logY: opts.logY });
  show({ 'image/svg+xml': svg, 'text/plain': `(plots of ${name}: ${panels.join(', ')} over ${m.epochs.length} epochs)` });
  if (rb.stages.some((s) => s.name === name) && runStages(rb).length > 1) showRunPlot(rb, opts);
  const keys = orderedMetrics(Object.fromEntries(m.epochs.flatMap((h) => Object.keys(h.values)).map((k) => [k, 0]))).map(([k]) => k);
  table(['epoch', ...keys], m.epochs.map((h) => [h.epoch + 1, ...keys.map((k) => h.values[k])]), `${name}: metrics per epoch`);
  await summaryTable(runDir, name, opts.remoteName(name));
  return { runDir, history: m.epochs };
}

async function summaryTable(runDir: string, name: string, remoteName: string): Promise<void> {
  const meta = await readRunMetadata(runDir).catch(() => null);
  const best = meta?.best;
  const lines: [string, Cell][] = [
    ['run folder', runDir],
    ['best checkpoint', best ? `${best.name}: ${best.metric}=${fmtCell(best.value)} at step ${best.globalStep}` : 'none yet'],
    ['checkpoints', meta ? meta.checkpoints.map((c) => c.name).join(', ') : '-'],
    ['log', fs.existsSync(`${runDir}/train.log`) ? `${runDir}/train.log` : '-'],
  ];
  const store = mountedStore();
  if (store) {
    const remote = (await listRemoteRuns(store).catch(() => [] as RemoteRun[])).find((r) => r.run === remoteName);
    lines.push(['backup', remote ? `${remote.checkpoints} checkpoint(s) on ${store.description}, newest ${remote.latest} (step ${remote.globalStep})` : `nothing backed up yet to ${store.description}`]);
  } else {
    lines.push(['backup', 'off (run the mount cell in 00-setup-and-restore to back up)']);
  }
  table([], lines, `${name}: summary`);
}
