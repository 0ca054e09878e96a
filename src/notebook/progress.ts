// Renders the trainer's progress events in a notebook as ONE live block per training call (see
// live-block.ts), updated in place every few hundred ms: the lines that last (one per finished
// epoch, resume, warnings) above the bar, metrics, checkpoint and backup rows. Everything else
// (each save, each backup, the step-by-step detail) goes to the run's log file, `train.log` in
// the run folder. After the run returns (its saves and backups done), finish() puts the one
// closing message in the block. Outside notebooks: the terminal renderer.
import fs from 'node:fs';
import path from 'node:path';
import type { DoneReason, Metrics, TrainEvent } from '../train/events.js';
import { eventLine, movedNote, terminalRenderer } from '../train/progress.js';
import { metricPanels, type EpochRecord, type StepPoint } from './charts.js';
import { inNotebook, LiveDisplay, show } from './display.js';
import { escapeHtml } from './html.js';
import { blockHtml, blockText, type BlockState } from './live-block.js';
import { RateMeter } from './meter.js';
import { runMetrics } from './results.js';

export interface ProgressOptions {
  /** Minimum time between block updates (default 500 ms; 5 s in headless runs). */
  everyMs?: number;
  /** A loss chart inside the block (default true). */
  livePlot?: boolean;
  /** The stage's name, shown before the trainer's first event. */
  stage?: string;
  /** Where backups go (a store's description), or null when they are off. */
  backupTo?: string | null;
  /** File name of the detailed log inside the run folder (default train.log); null: none. */
  logName?: string | null;
  /** Clock (tests). */
  now?: () => number;
}

/** How a run ended, as the notebook helpers know it once the run has returned. */
export interface FinishInfo {
  reason: DoneReason;
  runDir: string;
  /** Epochs completed in the run. */
  epochsDone: number;
  globalStep: number;
  /** The trainer's message. */
  message: string;
}

export interface ProgressView {
  /** Pass to the trainer as `onEvent`. */
  listener: (e: TrainEvent) => void;
  /** Epoch metrics of the run so far (after a resume, from its log too). */
  readonly history: EpochRecord[];
  /** Latest backup line (or null when no backup event arrived). */
  readonly lastBackup: { ok: boolean; message: string } | null;
  /** Jupyter's Interrupt arrived: the block says the run is stopping and saving. */
  interrupting(): void;
  /** The run returned: the closing message goes into the block (and the log); returns it. */
  finish(r: FinishInfo): string;
  /** The run threw: the block says so (the error itself is the cell's error output). */
  fail(e: unknown): void;
}

/** A progress view for the current environment (notebook display, or the terminal renderer). */
export function notebookProgress(opts: ProgressOptions = {}): ProgressView {
  if (inNotebook()) return new NotebookBlock(opts);
  const history: EpochRecord[] = [];
  let lastBackup: ProgressView['lastBackup'] = null;
  const term = terminalRenderer();
  return {
    listener: (e) => {
      if (e.type === 'epoch') history.push({ epoch: e.epoch, values: { ...e.metrics } });
      if (e.type === 'backup') lastBackup = { ok: e.ok, message: e.message };
      term(e);
    },
    history,
    get lastBackup() {
      return lastBackup;
    },
    interrupting: () => {},
    finish: (r) => r.message,
    fail: () => {},
  };
}

/** What the run's log gets for an event: the terminal's verbose line, durable checkpoints too; no step lines. */
function logLine(e: TrainEvent): string | null {
  if (e.type === 'step') return null;
  const line = eventLine(e, true);
  if (line === null && e.type === 'checkpoint' && e.phase === 'durable') return `Checkpoint ${path.basename(e.path)} is durable (step ${e.globalStep})`;
  return line;
}

/** The run's detailed log: lines wait in memory until the run folder is known. */
class RunLog {
  private file: string | null = null;
  private pending: string[] = [];
  problem: string | null = null;

  constructor(private readonly name: string | null) {}

  get path(): string | null {
    return this.file;
  }

  open(runDir: string): void {
    if (this.file || !this.name || !runDir) return;
    this.file = path.join(runDir, this.name);
    const lines = this.pending;
    this.pending = [];
    for (const l of lines) this.write(l);
  }

  line(text: string | null): void {
    if (text === null) return;
    const l = `${new Date().toISOString()}  ${text}`;
    if (this.file) this.write(l);
    else if (this.name) this.pending.push(l);
  }

  private write(l: string): void {
    if (this.problem) return;
    try {
      fs.mkdirSync(path.dirname(this.file!), { recursive: true });
      fs.appendFileSync(this.file!, `${l}\n`);
    } catch (e) {
      this.problem = (e as Error).message; // the log never stops training
    }
  }
}

class NotebookBlock implements ProgressView {
  readonly history: EpochRecord[] = [];
  lastBackup: ProgressView['lastBackup'] = null;
  readonly listener = (e: TrainEvent): void => this.on(e);
  private readonly display = new LiveDisplay();
  private readonly meter = new RateMeter();
  private readonly log: RunLog;
  private readonly now: () => number;
  private readonly everyMs: number;
  private readonly s: BlockState;
  private readonly steps: StepPoint[] = [];
  private sums: Metrics = {};
  private count = 0;
  private t0: number;
  private epochT0: number;
  /** Duration of the epoch that just ended, shown until the next one steps. */
  private endedEpochSeconds: number | null = null;
  private lastShown = 0;
  private lastChart = 0;
  private started = false;
  private asked = false;
  private durable: { name: string; globalStep: number } | null = null;
  private backedUp: number | null = null;

  constructor(private readonly opts: ProgressOptions) {
    this.now = opts.now ?? Date.now;
    this.everyMs = opts.everyMs ?? (process.env.DRIVETRAIN_HEADLESS ? 5000 : 500);
    this.log = new RunLog(opts.logName === undefined ? 'train.log' : opts.logName);
    this.t0 = this.epochT0 = this.now();
    this.s = {
      stage: opts.stage ?? '', runDir: '', phase: 'training', epoch: 0, epochs: 0, step: 0, steps: 0, globalStep: 0, elapsed: 0, epochElapsed: 0,
      rate: null, running: {}, last: null, lr: {}, checkpoint: null, backup: null, backupTo: opts.backupTo ?? null, logFile: null, lines: [], note: null, chart: null,
    };
  }

  private on(e: TrainEvent): void {
    const s = this.s;
    this.log.line(logLine(e));
    switch (e.type) {
      case 'start':
        Object.assign(s, { stage: e.stage ?? s.stage, runDir: e.runDir, epochs: e.epochs, steps: e.stepsPerEpoch, epoch: e.startEpoch, step: 0 });
        this.t0 = this.epochT0 = this.now();
        this.log.open(e.runDir);
        s.logFile = this.log.path;
        this.started = true;
        return this.refresh(true);
      case 'resume':
        Object.assign(s, { epoch: e.epoch, step: e.stepInEpoch, globalStep: e.globalStep });
        this.seedChart(e.globalStep);
        s.lines.push(`Resuming from epoch ${e.epoch + 1}, step ${e.stepInEpoch} (global step ${e.globalStep}) from ${e.checkpoint}${movedNote(e.moved)}`);
        return this.refresh(true);
      case 'step':
        return this.onStep(e);
      case 'epoch':
        s.lines.push(eventLine(e)!);
        s.last = { epoch: e.epoch, metrics: { ...e.metrics } };
        this.history.push({ epoch: e.epoch, globalStep: s.globalStep, values: { ...e.metrics } });
        this.sums = {};
        this.count = 0;
        s.running = {};
        this.epochT0 = this.now();
        this.endedEpochSeconds = e.seconds;
        return this.refresh(true, true);
      case 'checkpoint':
        if (e.phase !== 'durable') return;
        this.durable = { name: path.basename(e.path), globalStep: e.globalStep };
        s.checkpoint = `${this.durable.name} (step ${e.globalStep}, epoch ${e.epoch + 1}) on disk`;
        return this.refresh(true);
      case 'backup':
        return this.onBackup(e);
      case 'earlyStop':
        s.lines.push(eventLine(e)!);
        return this.refresh(true);
      case 'log':
        s.lines.push(e.message);
        return this.refresh(false);
      case 'done':
        if (s.backupTo !== null && this.started) s.note = this.asked ? 'Saved; finishing the backup…' : 'Finishing the backups…';
        return this.refresh(true);
      case 'error':
        return;
    }
  }

  /** After a resume, the chart starts with what the run logged up to the resumed step. */
  private seedChart(globalStep: number): void {
    if (this.opts.livePlot === false || !this.s.runDir) return;
    try {
      const m = runMetrics(this.s.runDir);
      this.history.push(...m.epochs.filter((h) => (h.globalStep ?? 0) <= globalStep));
      this.steps.push(...m.steps.filter((p) => p.globalStep <= globalStep && p.values.loss !== undefined).map((p) => ({ globalStep: p.globalStep, values: { loss: p.values.loss! } })));
    } catch {
      /* an unreadable log only leaves the chart shorter */
    }
  }

  private onStep(e: Extract<TrainEvent, { type: 'step' }>): void {
    const s = this.s;
    Object.assign(s, { epoch: e.epoch, epochs: e.epochs, step: e.stepInEpoch, steps: e.stepsPerEpoch, globalStep: e.globalStep, lr: e.lr });
    this.meter.add(this.now(), e.globalStep);
    this.endedEpochSeconds = null;
    for (const [k, v] of Object.entries(e.metrics)) this.sums[k] = (this.sums[k] ?? 0) + v;
    this.count++;
    // The same names as the epoch's metrics: the step's `loss` is the epoch's `train_loss`.
    s.running = Object.fromEntries(Object.entries(this.sums).map(([k, v]) => [k === 'loss' ? 'train_loss' : k, v / this.count]));
    if (e.metrics.loss !== undefined) this.steps.push({ globalStep: e.globalStep, values: { loss: e.metrics.loss } });
    this.refresh(e.stepInEpoch === e.stepsPerEpoch);
  }

  private onBackup(e: Extract<TrainEvent, { type: 'backup' }>): void {
    const line = e.line ?? (e.ok ? `✓ ${e.message}` : `✗ Backup: ${e.message}`);
    this.lastBackup = { ok: e.ok, message: e.message };
    this.s.backup = { ok: e.ok, text: line };
    if (e.ok && line.startsWith('✓') && e.globalStep !== undefined) this.backedUp = e.globalStep;
    if (!e.ok && !/will retry/.test(line)) this.s.lines.push(line); // a backup given up on stays in view
    this.refresh(true);
  }

  private refresh(force: boolean, chart = false): void {
    if (!this.started) return;
    const now = this.now();
    if (!force && now - this.lastShown < this.everyMs) return;
    this.lastShown = now;
    const s = this.s;
    Object.assign(s, { elapsed: (now - this.t0) / 1000, epochElapsed: this.endedEpochSeconds ?? (now - this.epochT0) / 1000, rate: this.meter.rate() });
    // The loss chart: once there are steps to draw, then at most every 2 s (and at each epoch end).
    if (this.opts.livePlot !== false && this.steps.length > 0 && (chart || s.chart === null || now - this.lastChart >= Math.max(2000, this.everyMs))) {
      this.lastChart = now;
      s.chart = metricPanels([{ name: s.stage, epochs: this.history, steps: this.steps, stepsPerEpoch: s.steps }], { only: ['loss'], width: 440, panelHeight: 170, cols: 1 }).svg;
    }
    this.display.update({ 'text/html': blockHtml(s), 'text/plain': blockText(s) });
  }

  interrupting(): void {
    this.asked = true;
    this.s.phase = 'stopping';
    this.s.note = 'Interrupt received: finishing this step, then saving' + (this.s.backupTo !== null ? ' and backing up…' : '…');
    this.refresh(true);
  }

  finish(r: FinishInfo): string {
    this.log.open(r.runDir);
    if (r.reason === 'alreadyDone' && !this.started) return this.alreadyDone(r);
    const s = this.s;
    s.phase = r.reason === 'interrupted' ? 'interrupted' : r.reason === 'nonFinite' ? 'failed' : 'finished';
    s.note = r.reason === 'interrupted' && this.asked ? this.interruptedMessage(r) : `${r.message}${this.backupNote(r.globalStep)}`;
    s.logFile = this.log.path;
    this.log.line(s.note);
    this.refresh(true, true);
    return s.note;
  }

  fail(e: unknown): void {
    this.s.phase = 'failed';
    this.s.note = `Stopped by an error (below): ${e instanceof Error ? e.message : String(e)}`;
    this.log.line(this.s.note);
    this.refresh(true, true);
  }

  /** A finished stage run again: one line, no block. */
  private alreadyDone(r: FinishInfo): string {
    const how = /already stopped early/.test(r.message) ? 'stopped early' : 'finished';
    const name = this.s.stage || 'This run';
    const msg = `${name} has already ${how} (${r.epochsDone} epoch${r.epochsDone === 1 ? '' : 's'}, global step ${r.globalStep}, in ${r.runDir}): nothing to train. To train it again, set RUN to a new name.`;
    this.log.line(msg);
    const before = this.s.lines.map((l) => `${escapeHtml(l)}<br>`).join(''); // warnings, if any
    const html = `<div style="text-align:left;font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;font-size:13px">${before}<span style="color:#2a9d48">✓</span> ${escapeHtml(msg)}</div>`;
    show({ 'text/html': html, 'text/plain': [...this.s.lines, `✓ ${msg}`].join('\n') });
    return msg;
  }

  /** Where it stopped, what was saved and backed up, and what to do: the one message after an Interrupt. */
  private interruptedMessage(r: FinishInfo): string {
    const s = this.s;
    const where = s.steps > 0 && s.step === s.steps ? `after epoch ${s.epoch + 1}/${s.epochs}` : `at epoch ${s.epoch + 1}/${s.epochs}, step ${s.step}/${s.steps}`;
    const d = this.durable;
    const saved = !d ? 'No checkpoint was saved in this run.' : d.globalStep === r.globalStep ? `Saved checkpoint ${d.name}.` : `The newest checkpoint is ${d.name} (step ${d.globalStep}).`;
    return `Interrupted ${where} (global step ${r.globalStep}). ${saved}${this.backupNote(r.globalStep)} ${process.env.DRIVETRAIN_HEADLESS ? 'Run the notebook again to continue from there.' : 'Re-run this cell to continue from there.'}`;
  }

  private backupNote(step: number): string {
    const to = this.s.backupTo;
    if (to === null) return ' Backups are off (run the mount cell to back up).';
    if (this.backedUp === step) return ` Backed up to ${to}.`;
    return this.backedUp === null ? ` Nothing is backed up to ${to} yet.` : ` The newest backup on ${to} is step ${this.backedUp}.`;
  }
}
