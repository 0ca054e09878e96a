// Errors in the user's data: each problem names the file (and line) and what to fix, and the
// error lists several at once so one pass over the data finds them all. A small class of this
// layer's own; there is no project-wide user-error base class on this branch yet.

export interface DataProblem {
  /** The file the problem is in (an annotation file, an image, a folder). */
  file: string;
  /** 1-based line in `file`, for text annotation files. */
  line?: number;
  message: string;
}

/** Problems listed in a message; the rest are counted. */
const SHOWN = 10;

export const problemAt = (p: DataProblem): string => (p.line !== undefined ? `${p.file} line ${p.line}` : p.file);

export class DataError extends Error {
  override readonly name = 'DataError';
  constructor(summary: string, readonly problems: DataProblem[] = []) {
    const lines = problems.slice(0, SHOWN).map((p) => `  ${problemAt(p)}: ${p.message}`);
    if (problems.length > SHOWN) lines.push(`  … and ${problems.length - SHOWN} more`);
    super(lines.length ? `${summary}:\n${lines.join('\n')}` : summary);
  }
}

/** Collects problems while a data source is read; `check()` throws them together. */
export class Problems {
  readonly list: DataProblem[] = [];
  add(file: string, line: number | undefined, message: string): void {
    this.list.push({ file, line, message });
  }
  get count(): number {
    return this.list.length;
  }
  /** Throws the problems so far, in file and line order. */
  check(summary: string): void {
    if (!this.list.length) return;
    const sorted = [...this.list].sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : (a.line ?? 0) - (b.line ?? 0)));
    throw new DataError(`${summary} (${sorted.length} problem${sorted.length > 1 ? 's' : ''})`, sorted);
  }
}
