// `drivetrain runs`, `drivetrain inspect <checkpoint>`, `drivetrain clean-checkpoints`.
import { InvalidArgumentError, type Command } from 'commander';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import {
  CHECKPOINTS_DIR, CheckpointManager, MANIFEST_FILE, METADATA_FILE, describeContents, defaultRunsBase, formatRunsTable, formatTextTable,
  listRuns, readManifest, selectResume, verifyCheckpoint, type Manifest,
} from '../checkpoint/index.js';

function positiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`expected a whole number >= 1, got ${JSON.stringify(v)}`);
  return n;
}

const mb = (b: number) => (b >= 1e6 ? `${(b / 1e6).toFixed(1)} MB` : b >= 1e3 ? `${(b / 1e3).toFixed(1)} kB` : `${b} B`);

async function isDir(p: string): Promise<boolean> {
  return (await fsp.stat(p).catch(() => null))?.isDirectory() ?? false;
}

/** A checkpoint dir as given, or the newest valid checkpoint of a run dir. */
async function resolveCheckpointPath(arg: string): Promise<string> {
  const p = path.resolve(arg);
  if (await fsp.stat(path.join(p, MANIFEST_FILE)).catch(() => null)) return p;
  if (await isDir(path.join(p, CHECKPOINTS_DIR))) {
    const c = await selectResume(p, { warn: (m) => console.error(m) });
    if (!c) throw new Error(`run ${p} has no valid checkpoint; ${await describeContents(path.join(p, CHECKPOINTS_DIR))}`);
    return c.dir;
  }
  if (!(await isDir(p))) throw new Error(`${p} does not exist; ${await describeContents(path.dirname(p))}`);
  throw new Error(`${p} is not a checkpoint (no ${MANIFEST_FILE}) nor a run directory (no ${CHECKPOINTS_DIR}/); ${await describeContents(p)}`);
}

function summary(dir: string, m: Manifest): string {
  const tensors = Object.entries(m.tensors);
  const bytes = tensors.reduce((a, [, t]) => a + t.range[1] - t.range[0], 0);
  const lines = [
    `checkpoint  ${dir}`,
    `name        ${m.name} (${m.kind})`,
    `created     ${m.created}`,
    `position    epoch ${m.epoch}, step in epoch ${m.stepInEpoch}, global step ${m.globalStep}`,
    `metrics     ${Object.entries(m.metrics).map(([k, v]) => `${k}=${v}`).join(' ') || '-'}`,
    `files       ${Object.entries(m.files).map(([f, x]) => `${f} ${mb(x.size)}`).join(', ')}`,
    `tensors     ${tensors.length} (${mb(bytes)})`,
    '',
    formatTextTable(['tensor', 'dtype', 'shape', 'bytes'], tensors.slice(0, 40).map(([n, t]) => [n, t.dtype, `[${t.shape.join(', ')}]`, t.range[1] - t.range[0]])),
  ];
  if (tensors.length > 40) lines.push(`… and ${tensors.length - 40} more`);
  return lines.join('\n');
}

async function runDirs(base: string, run?: string): Promise<string[]> {
  if (run) {
    const d = path.resolve(base, run);
    if (!(await isDir(d))) throw new Error(`run ${run} not found under ${path.resolve(base)}; ${await describeContents(base)}`);
    // Opening any folder as a run would write metadata.json into it (e.g. a runbook's folder of stages).
    if (!(await isDir(path.join(d, CHECKPOINTS_DIR))) && !(await fsp.stat(path.join(d, METADATA_FILE)).catch(() => null))) {
      throw new Error(`${d} is not a run (no ${CHECKPOINTS_DIR}/ or ${METADATA_FILE}); ${await describeContents(d)}. For the stages of a runbook run, pass --base ${path.join(base, run)} without --run`);
    }
    return [d];
  }
  return (await listRuns(base)).map((r) => r.dir);
}

export function register(program: Command): void {
  program
    .command('runs')
    .description('table of runs: experiment, created, checkpoints, best metric, last step')
    .option('--base <dir>', 'folder holding run_001, … (default $DRIVETRAIN_RUNS or ./runs)')
    .action(async (o: { base?: string }) => {
      console.log(formatRunsTable(await listRuns(o.base ?? defaultRunsBase())));
    });

  program
    .command('inspect <checkpoint>')
    .description('manifest summary and full verification of a checkpoint (or the newest valid one of a run dir)')
    .action(async (arg: string) => {
      const dir = await resolveCheckpointPath(arg);
      let m: Manifest;
      try {
        m = await readManifest(dir);
      } catch (e) {
        console.log(`checkpoint  ${dir}\nverify      FAILED: ${(e as Error).message}`);
        process.exitCode = 1;
        return;
      }
      console.log(summary(dir, m));
      try {
        await verifyCheckpoint(dir);
        console.log('\nverify      OK (presence, sizes, sha256 of every file and tensor, schemas)');
      } catch (e) {
        console.log(`\nverify      FAILED: ${(e as Error).message}`);
        process.exitCode = 1;
      }
    });

  program
    .command('clean-checkpoints')
    .description('delete old rotating checkpoints; always keeps the best, the newest and permanent ones')
    .option('--base <dir>', 'folder holding the runs (default $DRIVETRAIN_RUNS or ./runs)')
    .option('--run <name>', 'only this run (default: every run under --base)')
    .option('--keep-last <n>', 'rotating checkpoints to keep per run', positiveInt, 1)
    .action(async (o: { base?: string; run?: string; keepLast: number }) => {
      const base = o.base ?? defaultRunsBase();
      const dirs = await runDirs(base, o.run);
      if (!dirs.length) console.log(`no runs under ${path.resolve(base)}`);
      for (const d of dirs) {
        const m = await CheckpointManager.open(d, {}, { warn: (x) => console.error(x) });
        try {
          const gone = await m.prune({ lastN: o.keepLast });
          console.log(`${path.basename(d)}: deleted ${gone.length}${gone.length ? ` (${gone.join(', ')})` : ''}; kept ${m.checkpoints.map((c) => c.name).join(', ') || 'none'}`);
        } finally {
          await m.close();
        }
      }
    });
}
