// The one plain-text table of the CLI, runbook summaries and notebook text output: columns
// padded to their widest cell, two spaces apart, a dashed rule under the header row.

export type TextCell = string | number | null | undefined;

/** `headers` empty: no header row (a key/value list). null/undefined cells show as `-`. */
export function formatTextTable(headers: string[], rows: TextCell[][], caption?: string): string {
  const body = rows.map((r) => r.map((c) => (c === null || c === undefined ? '-' : String(c))));
  const all = headers.length ? [headers, ...body] : body;
  const n = Math.max(headers.length, ...body.map((r) => r.length));
  const w = Array.from({ length: n }, (_, i) => Math.max(0, ...all.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(w[i]!)).join('  ').trimEnd();
  const head = headers.length ? [line(headers), w.map((k) => '-'.repeat(k)).join('  ')] : [];
  return [...(caption ? [caption] : []), ...head, ...body.map(line)].join('\n');
}
