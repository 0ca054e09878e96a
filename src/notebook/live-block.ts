// The live block of a training cell as HTML and as its text twin: the lasting lines (one per
// finished epoch, resume and warnings) above a box with the epoch bar (tqdm's n/total
// [elapsed<remaining, rate]), the stage bar, the current metrics, the learning rates, the newest
// durable checkpoint, the backup status, the run's log file and a small loss chart.
//
// Inline styles only, and no <table>: classic Notebook 6 right-aligns and centres table cells,
// JupyterLab stripes them, and VS Code's dark themes need text colours that inherit.
import type { Metrics } from '../train/events.js';
import { escapeHtml, fmtCell } from './html.js';
import { fmtDuration, fmtRate } from './meter.js';

export type BlockPhase = 'training' | 'stopping' | 'finished' | 'interrupted' | 'failed';

export interface BlockState {
  stage: string;
  runDir: string;
  phase: BlockPhase;
  /** 0-based epoch being trained. */
  epoch: number;
  epochs: number;
  /** Steps done in the epoch. */
  step: number;
  steps: number;
  globalStep: number;
  /** Seconds since this call started training, and since the epoch started. */
  elapsed: number;
  epochElapsed: number;
  rate: number | null;
  /** Running means of the epoch so far, named as the epoch metrics (train_loss, cls_loss, …). */
  running: Metrics;
  last: { epoch: number; metrics: Metrics } | null;
  lr: Record<string, number>;
  checkpoint: string | null;
  backup: { ok: boolean; text: string } | null;
  /** Where backups go, or null when they are off. */
  backupTo: string | null;
  logFile: string | null;
  /** The lasting lines shown above the box. */
  lines: string[];
  /** What is happening now or how it ended (interrupt, finish, error). */
  note: string | null;
  chart: string | null;
}

/** Same order as the epoch lines: train_loss cls_loss box_loss acc first, val_* after the rest. */
export function orderedMetrics(m: Metrics): [string, number][] {
  const rank = (k: string) => {
    const i = ['train_loss', 'loss', 'cls_loss', 'box_loss', 'acc'].indexOf(k.replace(/^val_/, ''));
    return (k.startsWith('val_') ? 100 : 0) + (i >= 0 ? i : 10);
  };
  return Object.entries(m).sort((a, b) => rank(a[0]) - rank(b[0]));
}

const fraction = (n: number, of: number) => (of > 0 ? Math.min(1, Math.max(0, n / of)) : 0);

function progress(s: BlockState): { epochFrac: number; done: number; total: number; epochEta: number | null; totalEta: number | null } {
  const total = s.epochs * s.steps;
  const done = Math.min(total, s.epoch * s.steps + s.step);
  const eta = (left: number) => (s.rate ? left / s.rate : null);
  return { epochFrac: fraction(s.step, s.steps), done, total, epochEta: eta(s.steps - s.step), totalEta: eta(total - done) };
}

/** tqdm's unicode bar: `|████▌     |`. */
export function unicodeBar(f: number, width = 20): string {
  const cells = Math.max(0, Math.min(1, Number.isFinite(f) ? f : 0)) * width;
  const full = Math.floor(cells);
  const rest = full < width ? ' ▏▎▍▌▋▊▉'[Math.floor((cells - full) * 8)]! : '';
  return `|${'█'.repeat(full)}${rest}${' '.repeat(width - full - rest.length)}|`;
}

/** `[elapsed<remaining]` while training, `[elapsed]` once it has ended. */
const timing = (s: BlockState, eta: number | null) => (s.phase === 'training' || s.phase === 'stopping' ? `[${fmtDuration(s.elapsed)}<${fmtDuration(eta)}]` : `[${fmtDuration(s.elapsed)}]`);
const metricText = (m: [string, number][]) => m.map(([k, v]) => `${k}=${fmtCell(v)}`).join(' ');
const trainPart = (m: Metrics) => orderedMetrics(m).filter(([k]) => !k.startsWith('val_'));
const valPart = (m: Metrics) => orderedMetrics(m).filter(([k]) => k.startsWith('val_'));
const trainMetrics = (s: BlockState) => (Object.keys(s.running).length ? s.running : s.last?.metrics ?? {});
const stateWord: Record<BlockPhase, string> = { training: 'training', stopping: 'stopping…', finished: 'finished', interrupted: 'interrupted', failed: 'failed' };

/** The text twin: the lines, then one status line and a line per row that has something to say. */
export function blockText(s: BlockState): string {
  const p = progress(s);
  const head = `${s.stage ? `[${s.stage}] ` : ''}Epoch ${Math.min(s.epoch + 1, s.epochs)}/${s.epochs} ${unicodeBar(p.epochFrac)} ${s.step}/${s.steps} [${fmtDuration(s.epochElapsed)}<${fmtDuration(p.epochEta)}, ${fmtRate(s.rate)}]`;
  const metrics = metricText(trainPart(trainMetrics(s)));
  const out = [...s.lines, `${head}${metrics ? ` ${metrics}` : ''}`];
  if (s.last && valPart(s.last.metrics).length) out.push(`  val (epoch ${s.last.epoch + 1}): ${metricText(valPart(s.last.metrics))}`);
  out.push(`  total: ${p.done}/${p.total} steps ${timing(s, p.totalEta)} (${stateWord[s.phase]})`);
  if (s.checkpoint) out.push(`  checkpoint: ${s.checkpoint}`);
  out.push(`  backup: ${s.backupTo === null ? 'off (run the mount cell to back up)' : s.backup ? `${s.backup.ok ? '' : '✗ '}${s.backup.text}` : `to ${s.backupTo}, nothing backed up yet`}`);
  if (s.note) out.push(s.note);
  return out.join('\n');
}

const MONO = "font-family:SFMono-Regular,Menlo,Consolas,'DejaVu Sans Mono',monospace";
const dim = (h: string) => `<span style="opacity:.65">${h}</span>`;

function bar(f: number, color = '#4c9be8', width = 260): string {
  return (
    `<span style="display:inline-block;vertical-align:middle;width:${width}px;max-width:45vw;height:10px;border-radius:5px;background:rgba(128,128,128,.25);overflow:hidden">` +
    `<span style="display:block;height:100%;width:${(f * 100).toFixed(1)}%;background:${color}"></span></span>`
  );
}

function chips(m: [string, number][]): string {
  return m.map(([k, v]) => `<span style="display:inline-block;margin-right:14px;white-space:nowrap">${dim(escapeHtml(k))} <span style="${MONO};font-weight:600">${escapeHtml(fmtCell(v))}</span></span>`).join('');
}

function row(label: string, value: string): string {
  return `<div style="opacity:.65;white-space:nowrap;text-align:left">${escapeHtml(label)}</div><div style="text-align:left;min-width:0">${value}</div>`;
}

function badge(phase: BlockPhase): string {
  const color = { training: '#4c9be8', stopping: '#d08a00', finished: '#2a9d48', interrupted: '#d08a00', failed: '#d0393b' }[phase];
  return `<span style="margin-left:8px;padding:0 7px;border-radius:9px;font-size:11px;border:1px solid ${color};color:${color}">${stateWord[phase]}</span>`;
}

function backupHtml(s: BlockState): string {
  if (s.backupTo === null) return dim('off (run the mount cell to back up)');
  if (!s.backup) return `${dim('to')} ${escapeHtml(s.backupTo)} ${dim('— nothing backed up yet')}`;
  return `<span style="color:${s.backup.ok ? '#2a9d48' : '#d0393b'}">${s.backup.ok ? '✓' : '✗'}</span> ${escapeHtml(s.backup.text.replace(/^[✓✗]\s*/, ''))} ${dim(`→ ${escapeHtml(s.backupTo)}`)}`;
}

/** The HTML of the block. */
export function blockHtml(s: BlockState): string {
  const p = progress(s);
  const color = s.phase === 'failed' ? '#d0393b' : s.phase === 'finished' ? '#2a9d48' : s.phase === 'training' ? '#4c9be8' : '#d08a00';
  const nums = (t: string) => `<span style="${MONO};margin-left:8px">${escapeHtml(t)}</span>`;
  const rows = [
    row(`epoch ${Math.min(s.epoch + 1, s.epochs)}/${s.epochs}`, bar(p.epochFrac, color) + nums(`${s.step}/${s.steps} [${fmtDuration(s.epochElapsed)}<${fmtDuration(p.epochEta)}, ${fmtRate(s.rate)}]`)),
    row('total', bar(fraction(p.done, p.total), color) + nums(`${p.done}/${p.total} steps ${timing(s, p.totalEta)}`)),
  ];
  const train = trainPart(trainMetrics(s));
  if (train.length) rows.push(row(Object.keys(s.running).length ? `train (epoch ${s.epoch + 1})` : `train (epoch ${s.last!.epoch + 1})`, chips(train)));
  if (s.last && valPart(s.last.metrics).length) rows.push(row(`val (epoch ${s.last.epoch + 1})`, chips(valPart(s.last.metrics))));
  if (Object.keys(s.lr).length) rows.push(row('lr', chips(Object.entries(s.lr))));
  rows.push(row('checkpoint', s.checkpoint ? `<span style="color:#2a9d48">✓</span> ${escapeHtml(s.checkpoint)}` : dim('none yet')));
  rows.push(row('backup', backupHtml(s)));
  if (s.logFile) rows.push(row('log', `<span style="${MONO};font-size:12px">${escapeHtml(s.logFile)}</span>`));
  const note = s.note
    ? `<div style="margin-top:8px;padding:6px 10px;border-left:3px solid ${color};background:rgba(128,128,128,.08);text-align:left">${escapeHtml(s.note)}</div>`
    : '';
  const lines = s.lines.length
    ? `<pre style="margin:0 0 8px;padding:0;border:0;background:none;color:inherit;${MONO};font-size:12px;line-height:1.45;white-space:pre-wrap;text-align:left">${escapeHtml(s.lines.join('\n'))}</pre>`
    : '';
  return [
    `<div class="drivetrain-progress" style="font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;font-size:13px;line-height:1.5;text-align:left;color:inherit">`,
    lines,
    '<div style="display:inline-block;max-width:100%;box-sizing:border-box;border:1px solid rgba(128,128,128,.35);border-radius:6px;padding:8px 12px">',
    `<div><b>${escapeHtml(s.stage || 'training')}</b>${badge(s.phase)} ${dim(escapeHtml(s.runDir))}</div>`,
    `<div style="display:grid;grid-template-columns:max-content minmax(0,1fr);column-gap:14px;row-gap:2px;align-items:center;margin-top:6px">${rows.join('')}</div>`,
    note,
    s.chart ? `<div style="margin-top:8px">${s.chart}</div>` : '',
    '</div></div>',
  ].join('');
}
