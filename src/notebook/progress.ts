// Renders the trainer's progress events in a notebook: one live HTML status block updated every
// few steps, a live loss/metrics plot updated per epoch, and compact text lines for the lasting
// events (epochs, resume, backups, early stop). Outside notebooks: the terminal renderer.
import type { Metrics, TrainEvent } from '../train/events.js';
import { eventLine, movedNote, terminalRenderer } from '../train/progress.js';
import { inNotebook, LiveDisplay } from './display.js';
import { escapeHtml, fmtCell, htmlBar, textBar } from './html.js';
import { metricsCharts, type EpochRecord } from './svg.js';

export interface ProgressOptions {
  /** Minimum time between status updates (default 500 ms; 5 s in headless runs). */
  everyMs?: number;
  /** Update the plot after every epoch (default true). */
  livePlot?: boolean;
  /** Where text lines go (default console.log). */
  print?: (line: string) => void;
}

export interface ProgressView {
  /** Pass to the trainer as `onEvent`. */
  listener: (e: TrainEvent) => void;
  /** Epoch metrics seen so far. */
  readonly history: EpochRecord[];
  /** Latest backup line (or null when no backup event arrived). */
  readonly lastBackup: { ok: boolean; message: string } | null;
}

interface State {
  stage: string;
  epoch: number;
  epochs: number;
  step: number;
  steps: number;
  globalStep: number;
  metrics: Metrics;
  lr: Record<string, number>;
  checkpoint: string;
  note: string;
}

/** One compact line (terminals and text-only front-ends); backups, epochs and the end are printed as their own lines. */
function statusText(s: State): string {
  const m = Object.entries(s.metrics).slice(0, 3).map(([k, v]) => `${k}=${fmtCell(v)}`).join(' ');
  return `${s.stage ? `[${s.stage}] ` : ''}epoch ${s.epoch + 1}/${s.epochs} ${textBar(s.steps ? s.step / s.steps : 0)} step ${s.step}/${s.steps}${m ? ` ${m}` : ''}`;
}

function statusHtml(s: State, backup: ProgressView['lastBackup']): string {
  const row = (k: string, v: string) => `<tr><td style="padding:1px 8px;color:#555">${escapeHtml(k)}</td><td style="padding:1px 8px">${v}</td></tr>`;
  const metrics = Object.entries(s.metrics).map(([k, v]) => `${escapeHtml(k)}=${escapeHtml(fmtCell(v))}`).join(' &nbsp; ');
  const lr = Object.entries(s.lr).map(([k, v]) => `${escapeHtml(k)}=${escapeHtml(fmtCell(v))}`).join(' &nbsp; ');
  return [
    `<div style="font-family:sans-serif;font-size:13px"><b>${escapeHtml(s.stage || 'training')}</b>`,
    '<table style="border-collapse:collapse">',
    row('epoch', `${htmlBar(s.epochs ? (s.epoch + (s.steps ? s.step / s.steps : 0)) / s.epochs : 0)} ${s.epoch + 1} / ${s.epochs}`),
    row('step', `${htmlBar(s.steps ? s.step / s.steps : 0)} ${s.step} / ${s.steps} (global ${s.globalStep})`),
    metrics ? row('metrics', metrics) : '',
    lr ? row('lr', lr) : '',
    s.checkpoint ? row('checkpoint', escapeHtml(s.checkpoint)) : '',
    backup ? row('backup', `<span style="color:${backup.ok ? '#2a7d2a' : '#c0392b'}">${escapeHtml(backup.message)}</span>`) : '',
    s.note ? row('note', escapeHtml(s.note)) : '',
    '</table></div>',
  ].join('');
}

/** A progress view for the current environment (notebook display, or the terminal renderer). */
export function notebookProgress(opts: ProgressOptions = {}): ProgressView {
  const history: EpochRecord[] = [];
  let lastBackup: ProgressView['lastBackup'] = null;
  const view: ProgressView = {
    listener: () => {},
    history,
    get lastBackup() {
      return lastBackup;
    },
  };
  const record = (e: TrainEvent) => {
    if (e.type === 'epoch') history.push({ epoch: e.epoch, values: { ...e.metrics } });
    if (e.type === 'backup') lastBackup = { ok: e.ok, message: e.message };
  };
  if (!inNotebook()) {
    const term = terminalRenderer();
    view.listener = (e) => {
      record(e);
      term(e);
    };
    return view;
  }
  const print = opts.print ?? ((l: string) => console.log(l));
  const everyMs = opts.everyMs ?? (process.env.DRIVETRAIN_HEADLESS ? 5000 : 500);
  const status = new LiveDisplay();
  const plot = opts.livePlot === false ? null : new LiveDisplay();
  const s: State = { stage: '', epoch: 0, epochs: 0, step: 0, steps: 0, globalStep: 0, metrics: {}, lr: {}, checkpoint: '', note: '' };
  let last = 0;
  const refresh = (force: boolean) => {
    const now = Date.now();
    if (!force && now - last < everyMs) return;
    last = now;
    status.update({ 'text/html': statusHtml(s, lastBackup), 'text/plain': statusText(s) });
  };
  view.listener = (e) => {
    record(e);
    switch (e.type) {
      case 'start':
        Object.assign(s, { stage: e.stage ?? '', epochs: e.epochs, steps: e.stepsPerEpoch, epoch: e.startEpoch });
        print(eventLine(e)!);
        refresh(true);
        break;
      case 'resume':
        Object.assign(s, { epoch: e.epoch, step: e.stepInEpoch, globalStep: e.globalStep, note: `resumed from ${e.checkpoint}` });
        print(`Resuming from epoch ${e.epoch + 1}, step ${e.stepInEpoch} (global step ${e.globalStep}) from ${e.checkpoint}${movedNote(e.moved)}`);
        refresh(true);
        break;
      case 'step':
        Object.assign(s, { epoch: e.epoch, epochs: e.epochs, step: e.stepInEpoch, steps: e.stepsPerEpoch, globalStep: e.globalStep, metrics: e.metrics, lr: e.lr });
        refresh(e.stepInEpoch === e.stepsPerEpoch);
        break;
      case 'epoch': {
        print(eventLine(e)!);
        s.metrics = { ...e.metrics };
        refresh(true);
        if (plot) {
          const c = metricsCharts(history, s.stage);
          plot.update({ 'text/html': c.losses + (c.others ?? ''), 'image/svg+xml': c.losses, 'text/plain': `(plot: ${c.keys.join(', ')} over ${history.length} epochs)` });
        }
        break;
      }
      case 'checkpoint':
        if (eventLine(e)) print(eventLine(e)!);
        if (e.phase === 'durable') {
          s.checkpoint = `${e.kind} @ step ${e.globalStep} (${e.path})`;
          refresh(false);
        }
        break;
      case 'backup':
        print(eventLine(e)!);
        refresh(true);
        break;
      case 'earlyStop':
        print(eventLine(e)!);
        break;
      case 'log':
        print(e.message);
        break;
      case 'done':
        s.note = e.message;
        refresh(true);
        print(e.message);
        break;
      case 'error':
        s.note = `error: ${e.message}`;
        refresh(true);
        break;
    }
  };
  return view;
}
