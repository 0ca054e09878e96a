// Which checkpoint to resume from: the greatest global step that fully verifies.
import * as path from 'node:path';
import { isStagingName } from './commit.js';
import { readManifest, verifyCheckpoint } from './dir.js';
import { CheckpointError, isCheckpointError, type CheckpointErrorCode } from './errors.js';
import { nodeFs, type CkptFs } from './fsio.js';
import { MANIFEST_FILE, type Manifest } from './manifest.js';
import { CHECKPOINTS_DIR } from './metadata.js';

export interface ResumeChoice {
  dir: string;
  name: string;
  manifest: Manifest;
}

export interface ResumeOptions {
  fs?: CkptFs;
  warn?: (message: string) => void;
}

/** A checkpoint folder that failed a check, and which one. */
export interface RejectedCheckpoint {
  name: string;
  dir: string;
  /** the check that failed, e.g. `sha256 of the files` */
  check: string;
  message: string;
}

export interface ResumeScan {
  choice: ResumeChoice | null;
  rejected: RejectedCheckpoint[];
}

const CHECKS: Partial<Record<CheckpointErrorCode, string>> = {
  MISSING_FILE: 'files present',
  SIZE_MISMATCH: 'file sizes',
  HASH_MISMATCH: 'sha256 of the files',
  BAD_SCHEMA: 'manifest/state schema',
  BAD_FORMAT: 'safetensors format',
};

function rejected(name: string, dir: string, e: unknown): RejectedCheckpoint {
  const check = (isCheckpointError(e) && CHECKS[e.code]) || 'readable';
  return { name, dir, check, message: (e as Error).message };
}

async function listDir(fs: CkptFs, dir: string): Promise<string[]> {
  try {
    return await fs.readdir(dir);
  } catch (e) {
    if (['ENOENT', 'ENOTDIR'].includes((e as NodeJS.ErrnoException).code ?? '')) return [];
    throw e;
  }
}

/**
 * Among the run's checkpoints, the one with the greatest global step (newest creation time on
 * ties) that verifies completely, and every newer one that failed (with the check it failed).
 */
export async function scanResume(runDir: string, opts: ResumeOptions = {}): Promise<ResumeScan> {
  const fs = opts.fs ?? nodeFs;
  const warn = opts.warn ?? ((m: string) => console.warn(m));
  const root = path.join(runDir, CHECKPOINTS_DIR);
  const found: ResumeChoice[] = [];
  const bad: RejectedCheckpoint[] = [];
  for (const name of (await listDir(fs, root)).filter((n) => !isStagingName(n))) {
    const dir = path.join(root, name);
    try {
      found.push({ dir, name, manifest: await readManifest(dir, fs) });
    } catch (e) {
      bad.push(rejected(name, dir, e));
      warn(`drivetrain: skipping checkpoint ${dir}: ${(e as Error).message}`);
    }
  }
  found.sort((a, b) => b.manifest.globalStep - a.manifest.globalStep || (a.manifest.created < b.manifest.created ? 1 : -1));
  for (const c of found) {
    try {
      await verifyCheckpoint(c.dir, { fs });
      return { choice: c, rejected: bad };
    } catch (e) {
      bad.push(rejected(c.name, c.dir, e));
      warn(`drivetrain: skipping corrupt checkpoint ${c.dir}: ${(e as Error).message}`);
    }
  }
  return { choice: null, rejected: bad };
}

/**
 * The newest checkpoint that verifies (see scanResume); corrupt ones are skipped with a warning
 * naming them. Returns null when none verifies.
 */
export async function selectResume(runDir: string, opts: ResumeOptions = {}): Promise<ResumeChoice | null> {
  return (await scanResume(runDir, opts)).choice;
}

/** Names in a folder, sorted, at most `max` of them (`… and N more`). */
function listing(names: string[], max = 12): string {
  const shown = names.filter((n) => !isStagingName(n)).sort();
  return shown.length > max ? `${shown.slice(0, max).join(', ')} … and ${shown.length - max} more` : shown.join(', ');
}

/**
 * A message saying what is at `dir` for "not found" errors: its contents, or, when it does not
 * exist, its parent's contents if the parent exists (a mistyped name), else that neither exists
 * (never the contents of some far ancestor such as `/`).
 */
export async function describeContents(dir: string, fs: CkptFs = nodeFs): Promise<string> {
  const d = path.resolve(dir);
  const isDir = async (p: string) => (await fs.stat(p).catch(() => null))?.isDirectory() ?? false;
  if (await isDir(d)) {
    const names = await listDir(fs, d);
    return names.filter((n) => !isStagingName(n)).length ? `${d} contains: ${listing(names)}` : `${d} is empty`;
  }
  const parent = path.dirname(d);
  if (await fs.stat(d).catch(() => null)) return `${d} is a file`;
  if (!(await isDir(parent))) return `${d} does not exist (nor does ${parent})`;
  const names = await listDir(fs, parent);
  return `${d} does not exist; ${parent} contains: ${listing(names) || 'nothing'}`;
}

/** The error for resume 'auto' when the run has checkpoints and none of them verifies. */
export function noValidCheckpointError(runDir: string, bad: RejectedCheckpoint[]): CheckpointError {
  const lines = bad.map((r) => `  ${r.name}: failed the ${r.check} check: ${r.message}`);
  return new CheckpointError('NO_VALID_CHECKPOINT', [
    `resume 'auto': ${runDir} has ${bad.length} checkpoint(s) and none of them verifies; refusing to start again at epoch 1 over them:`,
    ...lines,
    `To start fresh anyway: --resume none (resume: 'none' in a config or notebook); new checkpoints are written beside the corrupt ones.`,
    `To continue from the backup instead: drivetrain restore --from <drive> --run ${path.basename(runDir)} --into ${runDir}, then run the same command again.`,
  ].join('\n'), { file: path.join(runDir, CHECKPOINTS_DIR), detail: bad.map((r) => `${r.name}: ${r.check}`).join('; ') });
}

/**
 * resume: 'none' → null; 'auto' → the newest checkpoint that verifies (null for a run without
 * checkpoints; a NO_VALID_CHECKPOINT error when it has some and none verifies);
 * a path → that checkpoint dir (or a run dir, resolved with 'auto'), fully verified, else a
 * CheckpointError saying what is there instead.
 */
export async function resolveResume(runDir: string, resume: 'auto' | 'none' | string, opts: ResumeOptions = {}): Promise<ResumeChoice | null> {
  const fs = opts.fs ?? nodeFs;
  if (resume === 'none') return null;
  if (resume === 'auto') {
    const s = await scanResume(runDir, opts);
    if (!s.choice && s.rejected.length) throw noValidCheckpointError(path.resolve(runDir), s.rejected);
    return s.choice;
  }
  const p = path.resolve(resume);
  const entries = await listDir(fs, p);
  if (!entries.includes(MANIFEST_FILE)) {
    if (entries.includes(CHECKPOINTS_DIR)) {
      const c = await selectResume(p, opts);
      if (c) return c;
      throw new CheckpointError('NOT_FOUND', `run ${p} has no valid checkpoint to resume from (${await describeContents(path.join(p, CHECKPOINTS_DIR), fs)})`, { file: p });
    }
    const own = listing(await listDir(fs, path.join(runDir, CHECKPOINTS_DIR)));
    throw new CheckpointError('NOT_FOUND', [
      `--resume ${resume}: not a checkpoint (no ${MANIFEST_FILE}); ${await describeContents(p, fs)}.`,
      `Give a checkpoint folder (<run>/${CHECKPOINTS_DIR}/<name>), a run folder, 'auto' or 'none'.`,
      own ? `This run's checkpoints (${path.join(path.resolve(runDir), CHECKPOINTS_DIR)}): ${own}.` : '',
    ].filter(Boolean).join(' '), { file: p });
  }
  const manifest = await verifyCheckpoint(p, { fs });
  return { dir: p, name: path.basename(p), manifest };
}
