// Hand-written SVG line charts: one plot area with axes, ticks, lines and points whose <title>
// shows the value on hover. Plotting libraries can do this in Node (vega renders SVG without a
// DOM, for instance), but they are large dependency trees that every notebook would load for
// panels of polylines, axes and a legend.

export interface Series {
  name: string;
  /** `[x, y]`, or `[x, y, hover text]` for the point's tooltip. */
  points: ([number, number] | [number, number, string])[];
  /** Default: the next color of the palette. */
  color?: string;
  dashed?: boolean;
  /** Line width (default 2). */
  width?: number;
  opacity?: number;
  /** Draw a dot with a hover title at each point (default true). */
  dots?: boolean;
}

export interface ChartOptions {
  title?: string;
  xLabel?: string;
  width?: number;
  height?: number;
  /** y axis on log scale (positive values only; others are dropped). */
  logY?: boolean;
}

export const COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

/** About `count` round tick values covering [lo, hi]. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return [];
  // A range within rounding (means of equal values) is one value: steps that small never advance.
  if (hi - lo <= Math.max(Math.abs(lo), Math.abs(hi)) * 1e-9) {
    lo = hi = (lo + hi) / 2;
    const d = Math.abs(lo) > 0 ? Math.abs(lo) * 0.1 : 1;
    lo -= d;
    hi += d;
  }
  const raw = (hi - lo) / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const ticks: number[] = [];
  // From the last round value ≤ lo to the first ≥ hi, so every point lies inside the axis.
  const first = Math.floor(lo / step + 1e-9);
  for (let k = first; ticks.length < 100; k++) {
    const v = Number((k * step).toPrecision(12));
    ticks.push(v);
    if (v >= hi - step * 1e-9) break;
  }
  return ticks;
}

export function fmtTick(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e4 || a < 1e-3) return v.toExponential(1);
  return String(Number(v.toPrecision(4)));
}

/** A value for hover texts: 4 significant digits, exponent form for tiny and huge values. */
export function fmtValue(v: number): string {
  const a = Math.abs(v);
  return a !== 0 && (a < 1e-3 || a >= 1e5) ? v.toExponential(3) : String(Number(v.toPrecision(4)));
}

export interface PanelBox {
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface PanelOptions {
  title?: string;
  xLabel?: string;
  logY?: boolean;
  /** The x range to show (default: the data's). Panels of one figure share it. */
  xRange?: [number, number];
  /** Vertical dashed lines with a label at their top (stage boundaries). */
  marks?: { x: number; label: string }[];
  fontSize?: number;
}

/** Series with their non-finite (and, on log axes, non-positive) points dropped; empty ones left out. */
function usableSeries(series: Series[], logY: boolean): (Series & { color: string })[] {
  return series
    .map((s, i) => ({ ...s, color: s.color ?? COLORS[i % COLORS.length]!, points: s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y) && (!logY || y > 0)) }))
    .filter((s) => s.points.length > 0);
}

/**
 * Draws one plot area into `parts`: frame, y grid and ticks, x ticks, the lines, dots with hover
 * titles (`x: name = value` unless the point brings its own), the title and the x label. `box`
 * is the frame (ticks and labels go outside it).
 */
export function drawPanel(parts: string[], box: PanelBox, series: Series[], opts: PanelOptions = {}): void {
  const logY = opts.logY === true;
  const fs = opts.fontSize ?? 11;
  const ty = (y: number) => (logY ? Math.log10(y) : y);
  const usable = usableSeries(series, logY);
  if (opts.title) parts.push(`<text x="${box.x + box.w / 2}" y="${box.y - 7}" text-anchor="middle" font-size="${fs + 1}" font-weight="bold">${escapeXml(opts.title)}</text>`);
  parts.push(`<rect x="${box.x}" y="${box.y}" width="${box.w}" height="${box.h}" fill="none" stroke="#999"/>`);
  if (usable.length === 0) {
    parts.push(`<text x="${box.x + box.w / 2}" y="${box.y + box.h / 2}" text-anchor="middle" fill="#888">no data yet</text>`);
    return;
  }
  const xs = usable.flatMap((s) => s.points.map((p) => p[0]));
  const ys = usable.flatMap((s) => s.points.map((p) => ty(p[1])));
  const min = (a: number[]) => a.reduce((m, v) => (v < m ? v : m), Infinity); // no spread: series may be long
  const max = (a: number[]) => a.reduce((m, v) => (v > m ? v : m), -Infinity);
  let [x0, x1] = opts.xRange ?? [min(xs), max(xs)];
  if (x0 === x1) [x0, x1] = [x0 - 1, x1 + 1];
  const yt = niceTicks(min(ys), max(ys), Math.max(2, Math.min(5, Math.floor(box.h / 40))));
  const [y0, y1] = [yt[0]!, yt[yt.length - 1]!];
  const px = (x: number) => box.x + ((x - x0) / (x1 - x0)) * box.w;
  const pyT = (t: number) => box.y + box.h - ((t - y0) / (y1 - y0 || 1)) * box.h;
  const py = (y: number) => pyT(ty(y));
  for (const t of yt) {
    const y = pyT(t).toFixed(1);
    parts.push(`<line x1="${box.x}" x2="${box.x + box.w}" y1="${y}" y2="${y}" stroke="#e5e5e5"/>`);
    parts.push(`<text x="${box.x - 6}" y="${y}" dy="0.32em" text-anchor="end" fill="#444">${escapeXml(fmtTick(logY ? 10 ** t : t))}</text>`);
  }
  const intX = xs.every((x) => Number.isInteger(x));
  const want = Math.min(Math.max(2, Math.floor(box.w / 60)), Math.max(2, Math.round(x1 - x0)));
  const xt = niceTicks(x0, x1, want).filter((t) => t >= x0 - 1e-9 && t <= x1 + 1e-9 && (!intX || Number.isInteger(t)));
  for (const t of xt) parts.push(`<text x="${px(t).toFixed(1)}" y="${box.y + box.h + fs + 4}" text-anchor="middle" fill="#444">${escapeXml(fmtTick(t))}</text>`);
  const marks = opts.marks ?? [];
  marks.forEach((m, k) => {
    const x = px(m.x);
    parts.push(`<line x1="${x.toFixed(1)}" x2="${x.toFixed(1)}" y1="${box.y}" y2="${box.y + box.h}" stroke="#888" stroke-dasharray="3 3"/>`);
    // Labels on two alternating rows, each cut to the room before the next label of its row.
    const room = (k + 2 < marks.length ? px(marks[k + 2]!.x) : box.x + box.w) - x - 4;
    const chars = Math.max(1, Math.floor(room / ((fs - 2) * 0.6)));
    const label = m.label.length > chars ? `${m.label.slice(0, Math.max(1, chars - 1))}…` : m.label;
    parts.push(`<text x="${(x + 3).toFixed(1)}" y="${box.y + (fs - 1) * (1 + (k % 2))}" font-size="${fs - 2}" fill="#666">${escapeXml(label)}<title>${escapeXml(m.label)}</title></text>`);
  });
  if (opts.xLabel) parts.push(`<text x="${box.x + box.w / 2}" y="${box.y + box.h + 2 * fs + 8}" text-anchor="middle" fill="#444">${escapeXml(opts.xLabel)}</text>`);
  for (const s of usable) {
    const dash = s.dashed ? ' stroke-dasharray="5 3"' : '';
    const op = s.opacity !== undefined ? ` stroke-opacity="${s.opacity}"` : '';
    const pts = s.points.map(([x, y]) => [px(x).toFixed(1), py(y).toFixed(1)] as const);
    parts.push(`<polyline fill="none" stroke="${s.color}" stroke-width="${s.width ?? 2}"${dash}${op} points="${pts.map((p) => p.join(',')).join(' ')}"><title>${escapeXml(s.name)}</title></polyline>`);
    if (s.dots === false) continue;
    s.points.forEach((p, k) => {
      const tip = p[2] ?? `${fmtValue(p[0])}: ${s.name} = ${fmtValue(p[1])}`;
      parts.push(`<circle cx="${pts[k]![0]}" cy="${pts[k]![1]}" r="2.5" fill="${s.color}"><title>${escapeXml(tip)}</title></circle>`);
    });
  }
}

/** Legend entries in rows of at most `width` px; returns the rows' height. */
export function drawLegend(parts: string[], x0: number, y0: number, width: number, series: Series[]): number {
  let lx = 0;
  let row = 0;
  series.forEach((s, i) => {
    const w = 22 + s.name.length * 6.5 + 16; // sample line, label at ~6.5 px per character, gap
    if (lx > 0 && lx + w > width) [lx, row] = [0, row + 1];
    const x = x0 + lx;
    const y = y0 + row * 15;
    const color = s.color ?? COLORS[i % COLORS.length]!;
    const dash = s.dashed ? ' stroke-dasharray="5 3"' : '';
    parts.push(`<line x1="${x}" x2="${x + 18}" y1="${y}" y2="${y}" stroke="${color}" stroke-width="${Math.max(2, s.width ?? 2)}"${dash}${s.opacity !== undefined ? ` stroke-opacity="${s.opacity}"` : ''}/>`);
    parts.push(`<text x="${x + 22}" y="${y}" dy="0.32em" fill="#222">${escapeXml(s.name)}</text>`);
    lx += w;
  });
  return series.length ? (row + 1) * 15 + 4 : 0;
}

export function svgOpen(w: number, h: number): string[] {
  return [`<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" font-family="sans-serif" font-size="11">`, `<rect width="${w}" height="${h}" fill="white"/>`];
}

/** A line chart as a standalone SVG string, legend under the plot. Empty series are skipped; no data gives a note. */
export function lineChart(series: Series[], opts: ChartOptions = {}): string {
  const W = opts.width ?? 560;
  const usable = usableSeries(series, opts.logY === true);
  const m = { l: 56, r: 16, t: opts.title ? 28 : 12, b: 40 };
  // The legend goes in rows under the plot (inside, it would hide lines near the top).
  const legendH = drawLegend([], 0, 0, W - m.l - m.r, usable);
  const H = opts.height ?? 300 + legendH;
  const parts = svgOpen(W, H);
  const box = { x: m.l, y: m.t, w: W - m.l - m.r, h: H - m.t - m.b - legendH };
  drawPanel(parts, box, usable, { title: opts.title, xLabel: opts.xLabel, logY: opts.logY });
  drawLegend(parts, m.l, box.y + box.h + m.b + 6, box.w, usable);
  parts.push('</svg>');
  return parts.join('');
}
