// Reading/writing .ipynb (nbformat 4) and papermill-style parameter injection.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export type MultilineString = string | string[];

export interface NotebookOutput {
  output_type: 'stream' | 'display_data' | 'execute_result' | 'error';
  [key: string]: unknown;
}

export interface NotebookCell {
  cell_type: 'code' | 'markdown' | 'raw';
  id?: string;
  metadata: { tags?: string[]; [key: string]: unknown };
  source: MultilineString;
  outputs?: NotebookOutput[];
  execution_count?: number | null;
  [key: string]: unknown;
}

export interface Notebook {
  nbformat: number;
  nbformat_minor: number;
  metadata: Record<string, unknown>;
  cells: NotebookCell[];
}

export function sourceText(s: MultilineString): string {
  return Array.isArray(s) ? s.join('') : s;
}

/** nbformat stores text as a list of lines, each keeping its newline. */
export function toLines(text: string): string[] {
  return text.split(/(?<=\n)/).filter((l) => l.length > 0);
}

export function readNotebook(file: string): Notebook {
  let nb: Notebook;
  try {
    nb = JSON.parse(readFileSync(file, 'utf8')) as Notebook;
  } catch (err) {
    throw new Error(`cannot read notebook ${file}: ${(err as Error).message}`);
  }
  if (nb?.nbformat !== 4 || !Array.isArray(nb.cells)) {
    throw new Error(`${file} is not an nbformat 4 notebook (nbformat=${String(nb?.nbformat)}); open and re-save it in Jupyter`);
  }
  return nb;
}

/** Writes atomically (temp file + rename) so a killed run never leaves half a notebook. */
export function writeNotebook(file: string, nb: Notebook): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify(nb, null, 1) + '\n');
  renameSync(tmp, file);
}

/** `key=value` → [key, value]; the value is JSON when it parses, else the raw string. */
export function parseParam(arg: string): [string, unknown] {
  const eq = arg.indexOf('=');
  if (eq <= 0) throw new Error(`parameter "${arg}" must look like key=value (e.g. -p epochs=3)`);
  const key = arg.slice(0, eq).trim();
  if (!/^[A-Za-z_$][\w$]*$/.test(key)) throw new Error(`parameter name "${key}" is not a valid identifier`);
  const raw = arg.slice(eq + 1);
  try {
    return [key, JSON.parse(raw)];
  } catch {
    return [key, raw];
  }
}

/** Names declared at top level of a parameters cell (`const x = …`, `let y: T = …`). */
export function declaredNames(code: string): string[] {
  const names: string[] = [];
  for (const m of code.matchAll(/^\s*(?:export\s+)?(?:const|let|var)\s+([A-Za-z_$][\w$]*)/gm)) names.push(m[1]!);
  return names;
}

export type ParamKind = 'string' | 'number' | 'boolean' | 'other';

/** The kind of each parameter from its initializer (`let A = 'x'` → string, `let N = 0` → number). */
export function declaredKinds(code: string): Record<string, ParamKind> {
  const kinds: Record<string, ParamKind> = {};
  for (const m of code.matchAll(/^\s*(?:export\s+)?(?:const|let|var)\s+([A-Za-z_$][\w$]*)\s*(?::\s*([^=]+?))?\s*=\s*([^;\n]*)/gm)) {
    const [, name, type, init] = m as unknown as [string, string, string | undefined, string];
    const t = type?.trim();
    const v = init.trim();
    kinds[name] =
      t === 'string' || (!t && /^(['"`]).*\1$/.test(v)) ? 'string'
      : t === 'number' || (!t && /^-?\d/.test(v)) ? 'number'
      : t === 'boolean' || (!t && /^(true|false)$/.test(v)) ? 'boolean'
      : 'other';
  }
  return kinds;
}

/** Fits a parsed `-p` value to the parameter's kind: `RUN=123` stays the string "123". */
function coerce(name: string, value: unknown, kind: ParamKind | undefined): unknown {
  if (kind === 'string' && typeof value !== 'string') return JSON.stringify(value);
  if ((kind === 'number' || kind === 'boolean') && typeof value !== kind) {
    throw new Error(`parameter ${name} must be a ${kind} (the parameters cell declares it so), got ${JSON.stringify(value)}`);
  }
  return value;
}

/**
 * Inserts a cell tagged `injected-parameters` right after the cell tagged `parameters`
 * (papermill convention) and returns the new notebook. Overrides the parameters cell does not
 * declare are left out and listed in `ignored` (like papermill, so one set of `-p` values can
 * serve several notebooks); with `strict` they are an error instead.
 */
export function injectParameters(nb: Notebook, params: Record<string, unknown>, strict = false): { notebook: Notebook; ignored: string[] } {
  const keys = Object.keys(params);
  if (keys.length === 0) return { notebook: nb, ignored: [] };
  const idx = nb.cells.findIndex((c) => c.cell_type === 'code' && c.metadata?.tags?.includes('parameters'));
  if (idx < 0) throw new Error('this notebook has no cell tagged "parameters", so -p overrides cannot be applied');
  const known = declaredNames(sourceText(nb.cells[idx]!.source));
  const kinds = declaredKinds(sourceText(nb.cells[idx]!.source));
  const ignored = keys.filter((k) => !known.includes(k));
  if (strict && ignored.length) {
    throw new Error(`unknown parameter(s) ${ignored.join(', ')}; the parameters cell declares: ${known.join(', ') || '(nothing)'}`);
  }
  const used = keys.filter((k) => known.includes(k));
  if (used.length === 0) return { notebook: nb, ignored };
  // Assignments inside a block: tslab would print the value of a top-level last expression.
  const lines = used.map((k) => `  ${k} = ${JSON.stringify(coerce(k, params[k], kinds[k]))};`);
  const code = ['// Parameters injected by `drivetrain notebook run -p`', '{', ...lines, '}'].join('\n');
  const cell: NotebookCell = {
    cell_type: 'code',
    id: 'injected-parameters',
    metadata: { tags: ['injected-parameters'] },
    source: toLines(code),
    outputs: [],
    execution_count: null,
  };
  return { notebook: { ...nb, cells: [...nb.cells.slice(0, idx + 1), cell, ...nb.cells.slice(idx + 1)] }, ignored };
}

/** Copy with every code cell's outputs and execution count cleared (for committing). */
export function clearOutputs(nb: Notebook): Notebook {
  return {
    ...nb,
    cells: nb.cells.map((c) => (c.cell_type === 'code' ? { ...c, outputs: [], execution_count: null } : c)),
  };
}

/** Collects one cell's outputs the way nbclient does: streams merged, displays updatable by id. */
export class OutputCollector {
  readonly outputs: NotebookOutput[] = [];
  private byDisplayId = new Map<string, NotebookOutput[]>();

  stream(name: string, text: string): void {
    const last = this.outputs[this.outputs.length - 1];
    if (last?.output_type === 'stream' && last.name === name) last.text = (last.text as string) + text;
    else this.outputs.push({ output_type: 'stream', name, text });
  }

  display(data: Record<string, unknown>, metadata: Record<string, unknown>, displayId?: string): void {
    const out: NotebookOutput = { output_type: 'display_data', data, metadata: metadata ?? {} };
    this.outputs.push(out);
    if (displayId) this.byDisplayId.set(displayId, [...(this.byDisplayId.get(displayId) ?? []), out]);
  }

  /** Returns false when the display id belongs to another cell (then it is left alone). */
  update(data: Record<string, unknown>, metadata: Record<string, unknown>, displayId: string): boolean {
    const outs = this.byDisplayId.get(displayId);
    if (!outs) return false;
    for (const o of outs) {
      o.data = data;
      o.metadata = metadata ?? {};
    }
    return true;
  }

  other(out: NotebookOutput): void {
    this.outputs.push(out);
  }

  /** Final form: stream text split into lines as nbformat writers do. */
  finish(): NotebookOutput[] {
    return this.outputs.map((o) => (o.output_type === 'stream' ? { ...o, text: toLines(o.text as string) } : o));
  }
}
