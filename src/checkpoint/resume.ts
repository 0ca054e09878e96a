// Which checkpoint to resume from: the greatest global step that fully verifies.
import * as path from 'node:path';
import { isStagingName } from './commit.js';
import { readManifest, verifyCheckpoint } from './dir.js';
import { CheckpointError } from './errors.js';
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

async function listDir(fs: CkptFs, dir: string): Promise<string[]> {
  try {
    return await fs.readdir(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
}

/**
 * Among the run's checkpoints, the one with the greatest global step (newest creation time on
 * ties) that verifies completely; corrupt ones are skipped with a warning naming them.
 * Returns null when none verifies.
 */
export async function selectResume(runDir: string, opts: ResumeOptions = {}): Promise<ResumeChoice | null> {
  const fs = opts.fs ?? nodeFs;
  const warn = opts.warn ?? ((m: string) => console.warn(m));
  const root = path.join(runDir, CHECKPOINTS_DIR);
  const found: ResumeChoice[] = [];
  for (const name of (await listDir(fs, root)).filter((n) => !isStagingName(n))) {
    const dir = path.join(root, name);
    try {
      found.push({ dir, name, manifest: await readManifest(dir, fs) });
    } catch (e) {
      warn(`drivetrain: skipping checkpoint ${dir}: ${(e as Error).message}`);
    }
  }
  found.sort((a, b) => b.manifest.globalStep - a.manifest.globalStep || (a.manifest.created < b.manifest.created ? 1 : -1));
  for (const c of found) {
    try {
      await verifyCheckpoint(c.dir, { fs });
      return c;
    } catch (e) {
      warn(`drivetrain: skipping corrupt checkpoint ${c.dir}: ${(e as Error).message}`);
    }
  }
  return null;
}

/** A message listing what a directory contains, for "not found" errors. */
export async function describeContents(dir: string, fs: CkptFs = nodeFs): Promise<string> {
  let d = path.resolve(dir);
  while (!(await listDir(fs, d)).length && path.dirname(d) !== d) {
    try {
      await fs.stat(d);
      break;
    } catch {
      d = path.dirname(d);
    }
  }
  const entries = await listDir(fs, d);
  const shown = entries.filter((n) => !isStagingName(n)).sort();
  return shown.length ? `${d} contains: ${shown.join(', ')}` : `${d} is empty`;
}

/**
 * resume: 'none' → null; 'auto' → selectResume(runDir) (null if the run has none);
 * a path → that checkpoint dir (or a run dir, resolved with 'auto'), fully verified, else a
 * CheckpointError saying what is there instead.
 */
export async function resolveResume(runDir: string, resume: 'auto' | 'none' | string, opts: ResumeOptions = {}): Promise<ResumeChoice | null> {
  const fs = opts.fs ?? nodeFs;
  if (resume === 'none') return null;
  if (resume === 'auto') return selectResume(runDir, opts);
  const p = path.resolve(resume);
  const entries = await listDir(fs, p);
  if (!entries.includes(MANIFEST_FILE)) {
    if (entries.includes(CHECKPOINTS_DIR)) {
      const c = await selectResume(p, opts);
      if (c) return c;
      throw new CheckpointError('NOT_FOUND', `run ${p} has no valid checkpoint to resume from (${await describeContents(path.join(p, CHECKPOINTS_DIR), fs)})`, { file: p });
    }
    throw new CheckpointError('NOT_FOUND', `${p} is not a checkpoint (no ${MANIFEST_FILE}); ${await describeContents(entries.length ? p : path.dirname(p), fs)}`, { file: p });
  }
  const manifest = await verifyCheckpoint(p, { fs });
  return { dir: p, name: path.basename(p), manifest };
}
