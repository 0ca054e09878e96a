// Hand-written SVG line charts (loss and metrics per epoch). Plotting libraries can do this in
// Node (vega renders SVG without a DOM, for instance), but they are large dependency trees that
// every notebook would load for two charts of polylines, axes and a legend.

export interface Series {
  name: string;
  points: [number, number][];
  /** Default: the next color of the palette. */
  color?: string;
  dashed?: boolean;
}

export interface ChartOptions {
  title?: string;
  xLabel?: string;
  width?: number;
  height?: number;
  /** y axis on log scale (positive values only; others are dropped). */
  logY?: boolean;
}

const COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

/** About `count` round tick values covering [lo, hi]. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return [];
  if (lo === hi) {
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
  for (let k = first; ; k++) {
    const v = Number((k * step).toPrecision(12));
    ticks.push(v);
    if (v >= hi - step * 1e-9) break;
  }
  return ticks;
}

function fmtTick(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e4 || a < 1e-3) return v.toExponential(1);
  return String(Number(v.toPrecision(4)));
}

/** A line chart as a standalone SVG string. Empty series are skipped; no data gives a note. */
export function lineChart(series: Series[], opts: ChartOptions = {}): string {
  const W = opts.width ?? 560;
  const ty = (y: number) => (opts.logY ? Math.log10(y) : y);
  const usable = series
    .map((s, i) => ({ ...s, color: s.color ?? COLORS[i % COLORS.length]!, points: s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y) && (!opts.logY || y > 0)) }))
    .filter((s) => s.points.length > 0);
  // The legend goes in rows under the plot (inside, it would hide lines near the top).
  const m = { l: 56, r: 16, t: opts.title ? 28 : 12, b: 40 };
  const legend: { x: number; row: number }[] = [];
  let lx = 0, row = 0;
  for (const s of usable) {
    const w = 22 + s.name.length * 6.5 + 16; // sample line, label at ~6.5 px per character, gap
    if (lx > 0 && lx + w > W - m.l - m.r) [lx, row] = [0, row + 1];
    legend.push({ x: m.l + lx, row });
    lx += w;
  }
  const legendH = usable.length ? (row + 1) * 15 + 4 : 0;
  const H = opts.height ?? 300 + legendH;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
  ];
  if (opts.title) parts.push(`<text x="${W / 2}" y="17" text-anchor="middle" font-size="13" font-weight="bold">${escapeXml(opts.title)}</text>`);
  if (usable.length === 0) {
    parts.push(`<text x="${W / 2}" y="${H / 2}" text-anchor="middle" fill="#888">no data yet</text></svg>`);
    return parts.join('');
  }
  const xs = usable.flatMap((s) => s.points.map((p) => p[0]));
  const ys = usable.flatMap((s) => s.points.map((p) => ty(p[1])));
  let [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  if (x0 === x1) [x0, x1] = [x0 - 1, x1 + 1];
  const yt = niceTicks(Math.min(...ys), Math.max(...ys));
  const [y0, y1] = [yt[0]!, yt[yt.length - 1]!];
  const pw = W - m.l - m.r;
  const ph = H - m.t - m.b - legendH;
  const px = (x: number) => m.l + ((x - x0) / (x1 - x0)) * pw;
  const py = (y: number) => m.t + ph - ((ty(y) - y0) / (y1 - y0 || 1)) * ph;
  const pyT = (t: number) => m.t + ph - ((t - y0) / (y1 - y0 || 1)) * ph;
  for (const t of yt) {
    const y = pyT(t).toFixed(1);
    parts.push(`<line x1="${m.l}" x2="${m.l + pw}" y1="${y}" y2="${y}" stroke="#e5e5e5"/>`);
    parts.push(`<text x="${m.l - 6}" y="${y}" dy="0.32em" text-anchor="end" fill="#444">${escapeXml(fmtTick(opts.logY ? 10 ** t : t))}</text>`);
  }
  const intX = xs.every((x) => Number.isInteger(x));
  const xt = niceTicks(x0, x1, Math.min(8, Math.max(2, Math.round(x1 - x0)))).filter((t) => t >= x0 && t <= x1 && (!intX || Number.isInteger(t)));
  for (const t of xt) {
    parts.push(`<text x="${px(t).toFixed(1)}" y="${m.t + ph + 15}" text-anchor="middle" fill="#444">${escapeXml(fmtTick(t))}</text>`);
  }
  parts.push(`<rect x="${m.l}" y="${m.t}" width="${pw}" height="${ph}" fill="none" stroke="#999"/>`);
  if (opts.xLabel) parts.push(`<text x="${m.l + pw / 2}" y="${m.t + ph + 34}" text-anchor="middle" fill="#444">${escapeXml(opts.xLabel)}</text>`);
  usable.forEach((s, i) => {
    const dash = s.dashed ? ' stroke-dasharray="5 3"' : '';
    const pts = s.points.map(([x, y]) => `${px(x).toFixed(1)},${py(y).toFixed(1)}`);
    parts.push(`<polyline fill="none" stroke="${s.color}" stroke-width="2"${dash} points="${pts.join(' ')}"><title>${escapeXml(s.name)}</title></polyline>`);
    for (const p of pts) {
      const [cx, cy] = p.split(',');
      parts.push(`<circle cx="${cx}" cy="${cy}" r="2.5" fill="${s.color}"/>`);
    }
    const { x, row: r } = legend[i]!;
    const ly = m.t + ph + m.b + 6 + r * 15;
    parts.push(`<line x1="${x}" x2="${x + 18}" y1="${ly}" y2="${ly}" stroke="${s.color}" stroke-width="2"${dash}/>`);
    parts.push(`<text x="${x + 22}" y="${ly}" dy="0.32em" fill="#222">${escapeXml(s.name)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('');
}

export interface EpochRecord {
  /** 0-based epoch as the trainer reports it; plotted 1-based. */
  epoch: number;
  values: Record<string, number>;
}

/** Splits per-epoch metrics into a loss chart (`*loss*`) and a chart of the other metrics. */
export function metricsCharts(history: EpochRecord[], title = ''): { losses: string; others: string | null; keys: string[] } {
  const keys = [...new Set(history.flatMap((h) => Object.keys(h.values)))].sort();
  // A metric and its val_ twin share a color; the validation line is dashed.
  const base = (k: string) => k.replace(/^(val|train)_/, '');
  const bases = [...new Set(keys.map(base))];
  const toSeries = (ks: string[]): Series[] =>
    ks.map((k) => ({
      name: k,
      points: history.filter((h) => k in h.values).map((h) => [h.epoch + 1, h.values[k]!] as [number, number]),
      color: COLORS[bases.indexOf(base(k)) % COLORS.length],
      dashed: k.startsWith('val_'),
    }));
  const lossKeys = keys.filter((k) => /loss/i.test(k));
  const otherKeys = keys.filter((k) => !/loss/i.test(k) && !/^(lr|time|seconds)/.test(k));
  const t = title ? `${title}: ` : '';
  return {
    losses: lineChart(toSeries(lossKeys), { title: `${t}loss per epoch`, xLabel: 'epoch' }),
    others: otherKeys.length ? lineChart(toSeries(otherKeys), { title: `${t}metrics per epoch`, xLabel: 'epoch' }) : null,
    keys,
  };
}
