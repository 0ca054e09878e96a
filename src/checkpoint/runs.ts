// Run registry: `<base>/run_001/…` auto-numbered, or named; rows for a table of runs.
import * as path from 'node:path';
import { CheckpointError } from './errors.js';
import { nodeFs, type CkptFs } from './fsio.js';
import { readRunMetadata } from './metadata.js';
import { formatTextTable } from '../text-table.js';

export interface CreatedRun {
  name: string;
  runDir: string;
}

const RUN_RE = /^run_(\d+)$/;

/** Where runs live unless told otherwise: $DRIVETRAIN_RUNS or ./runs */
export function defaultRunsBase(): string {
  return process.env.DRIVETRAIN_RUNS || 'runs';
}

/** Create `<base>/<name>` or the next free `<base>/run_NNN` (mkdir is the atomic claim). */
export async function createRun(base: string, opts: { name?: string; fs?: CkptFs } = {}): Promise<CreatedRun> {
  const fs = opts.fs ?? nodeFs;
  await fs.mkdir(base, { recursive: true });
  if (opts.name) {
    if (!/^[A-Za-z0-9._-]+$/.test(opts.name) || opts.name.startsWith('.')) throw new CheckpointError('BAD_OPTIONS', `run name ${JSON.stringify(opts.name)}: use letters, digits, '.', '_' or '-'`);
    const runDir = path.join(base, opts.name);
    await fs.mkdir(runDir, { recursive: true });
    return { name: opts.name, runDir };
  }
  let n = Math.max(0, ...(await fs.readdir(base)).map((e) => Number(RUN_RE.exec(e)?.[1] ?? 0))) + 1;
  for (;; n++) {
    const name = `run_${String(n).padStart(3, '0')}`;
    try {
      await fs.mkdir(path.join(base, name));
      return { name, runDir: path.join(base, name) };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
}

export interface RunRow {
  run: string;
  dir: string;
  experiment: string | null;
  created: string | null;
  checkpoints: number;
  /** e.g. "val_loss=0.1234 (min) @ step 1200" */
  best: string | null;
  lastStep: number | null;
  /** problem reading the run, if any */
  error?: string;
}

/** One row per directory under `base` holding metadata.json (sorted by name). */
export async function listRuns(base: string, fs: CkptFs = nodeFs): Promise<RunRow[]> {
  let entries: string[];
  try {
    entries = await fs.readdir(base);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new CheckpointError('NOT_FOUND', `runs directory ${path.resolve(base)} does not exist; pass --base DIR pointing at the folder holding run_001, …`, { file: base });
    throw e;
  }
  const rows: RunRow[] = [];
  for (const run of entries.sort()) {
    const dir = path.join(base, run);
    try {
      if (!(await fs.stat(dir)).isDirectory()) continue;
      const m = await readRunMetadata(dir, fs);
      if (!m) continue;
      const last = m.checkpoints.reduce<number | null>((a, c) => (a === null || c.globalStep > a ? c.globalStep : a), null);
      rows.push({
        run, dir, experiment: m.experiment, created: m.created, checkpoints: m.checkpoints.length, lastStep: last,
        best: m.best ? `${m.best.metric}=${fmt(m.best.value)} (${m.best.mode}) @ step ${m.best.globalStep}` : null,
      });
    } catch (e) {
      rows.push({ run, dir, experiment: null, created: null, checkpoints: 0, best: null, lastStep: null, error: (e as Error).message });
    }
  }
  return rows;
}

const fmt = (v: number) => (Math.abs(v) >= 1e4 || (v !== 0 && Math.abs(v) < 1e-3) ? v.toExponential(3) : String(Number(v.toFixed(4))));

export function formatRunsTable(rows: RunRow[]): string {
  if (!rows.length) return '(no runs)';
  return formatTextTable(
    ['run', 'experiment', 'created', 'checkpoints', 'best', 'last step'],
    rows.map((r) => [r.run, r.experiment, r.created?.replace('T', ' ').slice(0, 19), r.error ? `error: ${r.error}` : r.checkpoints, r.best, r.lastStep]),
  );
}
