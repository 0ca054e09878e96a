// Small HTML builders for cell output (tables, progress bars) with matching plain-text forms.
import { formatTextTable } from '../text-table.js';
import { escapeXml } from './svg.js';

export const escapeHtml = escapeXml;

export type Cell = string | number | boolean | null | undefined;

export function fmtCell(v: Cell): string {
  if (v === null || v === undefined) return '-';
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) return String(v);
    if (Number.isInteger(v)) return String(v);
    const a = Math.abs(v);
    return a !== 0 && (a < 1e-3 || a >= 1e5) ? v.toExponential(3) : v.toFixed(4);
  }
  return String(v);
}

/**
 * A table; with no headers (`[]`) it is a key/value list without a header row. Every cell says
 * its alignment (text left, numbers right): classic Notebook right-aligns and centres tables.
 */
export function htmlTable(headers: string[], rows: Cell[][], caption?: string): string {
  const numeric = headers.map((_, i) => rows.length > 0 && rows.every((r) => typeof r[i] === 'number' || r[i] === null || r[i] === undefined));
  const th = headers.map((h, i) => `<th style="text-align:${numeric[i] ? 'right' : 'left'};padding:2px 8px">${escapeHtml(h)}</th>`).join('');
  const body = rows
    .map((r) => `<tr>${r.map((c) => `<td style="padding:2px 8px;text-align:${typeof c === 'number' ? 'right' : 'left'};white-space:pre-wrap">${escapeHtml(fmtCell(c))}</td>`).join('')}</tr>`)
    .join('');
  const cap = caption ? `<caption style="text-align:left;font-weight:bold;padding:2px 0">${escapeHtml(caption)}</caption>` : '';
  const head = headers.length ? `<thead><tr>${th}</tr></thead>` : '';
  return `<table style="border-collapse:collapse;margin-left:0;margin-right:auto;table-layout:auto">${cap}${head}<tbody>${body}</tbody></table>`;
}

/** The text twin of htmlTable (numbers formatted as in the HTML). */
export function textTable(headers: string[], rows: Cell[][], caption?: string): string {
  return formatTextTable(headers, rows.map((r) => r.map(fmtCell)), caption);
}

/** `[#######.............]` with the given width. */
export function textBar(fraction: number, width = 20): string {
  const f = Math.min(1, Math.max(0, Number.isFinite(fraction) ? fraction : 0));
  const n = Math.round(f * width);
  return `[${'#'.repeat(n)}${'.'.repeat(width - n)}]`;
}

export function htmlBar(fraction: number, width = 240): string {
  const f = Math.min(1, Math.max(0, Number.isFinite(fraction) ? fraction : 0));
  return (
    `<span style="display:inline-block;width:${width}px;height:10px;background:rgba(128,128,128,.25);border-radius:3px;vertical-align:middle">` +
    `<span style="display:block;width:${(f * 100).toFixed(1)}%;height:100%;background:#4c9be8;border-radius:3px"></span></span>`
  );
}
