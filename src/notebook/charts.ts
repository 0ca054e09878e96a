// Training plots as small multiples: one panel per metric (loss, cls_loss, box_loss, acc, …),
// each on its own y axis, with the per-step values (faint), the epoch means (train, solid) and
// validation (val, dashed); loss panels optionally on a log axis; several stages side by side on
// one x axis for the whole run, with a dashed line where each stage starts. Hovering a dot
// shows its value (SVG <title>).
import { drawLegend, drawPanel, escapeXml, fmtValue, svgOpen, type Series } from './svg.js';

export interface EpochRecord {
  /** 0-based epoch as the trainer reports it; plotted 1-based (at the epoch's end). */
  epoch: number;
  /** Global step at the end of the epoch, when known (places per-step values on the epoch axis). */
  globalStep?: number;
  values: Record<string, number>;
}

export interface StepPoint {
  globalStep: number;
  values: Record<string, number>;
}

export interface StageData {
  name: string;
  epochs: EpochRecord[];
  steps?: StepPoint[];
  /** Steps per epoch, when known (else derived from the epoch records' global steps). */
  stepsPerEpoch?: number;
}

export interface PanelsOptions {
  title?: string;
  /** Loss panels on a log axis. */
  logY?: boolean;
  width?: number;
  cols?: number;
  panelHeight?: number;
  /** Only these metrics (panel names such as 'loss', 'acc'). */
  only?: string[];
}

const TRAIN = '#1f77b4';
const VAL = '#ff7f0e';
const MAX_STEP_POINTS = 300;
const ORDER = ['loss', 'cls_loss', 'box_loss', 'acc', 'box_iou'];

/** The panel a metric belongs to: `train_loss`, `val_loss` and per-step `loss` all go to `loss`. */
export function panelOf(key: string): string | null {
  if (/^(lr|time|seconds)/.test(key)) return null;
  return key.replace(/^(train|val)_/, '');
}

function stepsPerEpoch(s: StageData): number | null {
  if (s.stepsPerEpoch) return s.stepsPerEpoch;
  const r = s.epochs.find((e) => e.globalStep !== undefined && e.globalStep > 0);
  return r ? r.globalStep! / (r.epoch + 1) : null;
}

/** Means of consecutive runs of points, so that at most `max` remain. */
export function downsample(points: [number, number][], max = MAX_STEP_POINTS): [number, number][] {
  if (points.length <= max) return points;
  const k = Math.ceil(points.length / max);
  const out: [number, number][] = [];
  for (let i = 0; i < points.length; i += k) {
    const chunk = points.slice(i, i + k);
    out.push([chunk.reduce((a, p) => a + p[0], 0) / chunk.length, chunk.reduce((a, p) => a + p[1], 0) / chunk.length]);
  }
  return out;
}

function panelNames(stages: StageData[], only?: string[]): string[] {
  const keys = new Set<string>();
  for (const s of stages) {
    for (const e of s.epochs) for (const k of Object.keys(e.values)) keys.add(k);
    for (const p of s.steps ?? []) for (const k of Object.keys(p.values)) keys.add(k);
  }
  const names = [...new Set([...keys].map(panelOf).filter((n): n is string => n !== null))];
  const rank = (n: string) => (ORDER.includes(n) ? ORDER.indexOf(n) : ORDER.length);
  return names.filter((n) => !only || only.includes(n)).sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}

/** The series of one panel over all stages (x in epochs, stage after stage). */
function panelSeries(stages: StageData[], offsets: number[], name: string): Series[] {
  const trainKey = name === 'loss' ? 'train_loss' : name;
  const stepKey = name === 'loss' ? 'loss' : name;
  const multi = stages.length > 1;
  const out: Series[] = [];
  stages.forEach((s, i) => {
    const label = (e: EpochRecord, k: string) => `${multi ? `${s.name} ` : ''}epoch ${e.epoch + 1}: ${k} = ${fmtValue(e.values[k]!)}`;
    const spe = stepsPerEpoch(s);
    const steps = spe ? (s.steps ?? []).filter((p) => stepKey in p.values).map((p) => [offsets[i]! + p.globalStep / spe, p.values[stepKey]!] as [number, number]) : [];
    const pick = (k: string) => s.epochs.filter((e) => k in e.values).map((e) => [offsets[i]! + e.epoch + 1, e.values[k]!, label(e, k)] as [number, number, string]);
    const train = pick(trainKey).length ? pick(trainKey) : pick(`train_${name}`);
    out.push(
      { name: 'per step', points: downsample(steps), color: TRAIN, width: 1, opacity: 0.35, dots: false },
      { name: 'train', points: train, color: TRAIN },
      { name: 'val', points: pick(`val_${name}`), color: VAL, dashed: true },
    );
  });
  return out;
}

/** Small multiples of the stages' metrics as one SVG; `panels` lists the metrics drawn. */
export function metricPanels(stages: StageData[], opts: PanelsOptions = {}): { svg: string; panels: string[] } {
  const names = panelNames(stages, opts.only);
  const W = opts.width ?? 920;
  const cols = Math.max(1, Math.min(opts.cols ?? 3, names.length || 1));
  const rows = Math.max(1, Math.ceil(names.length / cols));
  const cellW = W / cols;
  const cellH = opts.panelHeight ?? 200;
  const head = (opts.title ? 22 : 4) + 20;
  const H = head + rows * cellH + 14;
  const parts = svgOpen(W, H);
  if (opts.title) parts.push(`<text x="${W / 2}" y="16" text-anchor="middle" font-size="13" font-weight="bold">${escapeXml(opts.title)}</text>`);
  const legend: Series[] = [
    { name: 'per step', points: [], color: TRAIN, width: 1, opacity: 0.35 },
    { name: 'train (epoch mean)', points: [], color: TRAIN },
    { name: 'val', points: [], color: VAL, dashed: true },
  ];
  drawLegend(parts, 48, head - 12, W - 60, legend);
  const offsets: number[] = [];
  let total = 0;
  for (const s of stages) {
    offsets.push(total);
    const spe = stepsPerEpoch(s);
    const lastStep = (s.steps ?? []).reduce((m, p) => Math.max(m, p.globalStep), 0);
    total += Math.max(s.epochs.length ? Math.max(...s.epochs.map((e) => e.epoch + 1)) : 0, spe ? Math.ceil(lastStep / spe) : 0);
  }
  const marks = stages.length > 1 ? stages.map((s, i) => ({ x: offsets[i]!, label: s.name })) : [];
  const hasSteps = stages.some((s) => stepsPerEpoch(s) && s.steps?.length);
  const xRange: [number, number] = [hasSteps || stages.length > 1 ? 0 : 1, Math.max(1, total)];
  if (!names.length) parts.push(`<text x="${W / 2}" y="${head + cellH / 2}" text-anchor="middle" fill="#888">no data yet</text>`);
  names.forEach((name, k) => {
    const [c, r] = [k % cols, Math.floor(k / cols)];
    const box = { x: c * cellW + 48, y: head + r * cellH + 22, w: cellW - 62, h: cellH - 22 - 34 };
    const log = opts.logY === true && /loss/.test(name);
    drawPanel(parts, box, panelSeries(stages, offsets, name), { title: `${name}${log ? ' (log)' : ''}`, xLabel: r === rows - 1 ? 'epoch' : undefined, logY: log, xRange, marks });
  });
  parts.push('</svg>');
  return { svg: parts.join(''), panels: names };
}
