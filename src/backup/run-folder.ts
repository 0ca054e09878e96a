// `drivetrain backup --run <run folder> --to <drive>`: finishes the backup of a drivetrain run
// after the fact (a run whose uploads failed or were cut off at the end, an unreachable Drive):
// every kept checkpoint the store lacks (newest, best, permanent) and the metrics log go up, then
// it says what, if anything, is still missing.
import * as path from 'node:path';
import { promises as fsp } from 'node:fs';
import { CHECKPOINTS_DIR, readRunMetadata } from '../checkpoint/metadata.js';
import { describeContents } from '../checkpoint/resume.js';
import { UserError } from '../errors.js';
import type { Store } from '../storage/store.js';
import { BackupRunner, formatBackupEvent } from './backup.js';
import { LOG_FILE } from './log-backup.js';
import { DEFAULT_KEEP, RunPublisher, type KeepPolicy } from './publish.js';
import { localCheckpoints, missingOnStore, type DueCheckpoint } from './reconcile.js';

export interface BackupRunOptions {
  runDir: string;
  store: Store;
  /** name on the store (default: the run folder's name) */
  runName?: string;
  /** rotating checkpoints the store keeps (default 3); the best rule comes from metadata.json */
  lastN?: number;
  log?: (line: string) => void;
}

export interface BackupRunResult { run: string; uploaded: string[]; missing: DueCheckpoint[]; lastError: string | null }

export async function backupRunFolder(o: BackupRunOptions): Promise<BackupRunResult> {
  const runDir = path.resolve(o.runDir);
  const log = o.log ?? ((m: string) => console.log(m));
  if (!(await fsp.stat(path.join(runDir, CHECKPOINTS_DIR)).catch(() => null))?.isDirectory()) {
    throw new UserError(`--run ${o.runDir}: not a drivetrain run folder (no ${CHECKPOINTS_DIR}/); ${await describeContents(runDir)}. To mirror another trainer's files use --watch DIR.`);
  }
  const meta = await readRunMetadata(runDir).catch(() => null);
  const keep: KeepPolicy = { ...DEFAULT_KEEP, lastN: o.lastN ?? DEFAULT_KEEP.lastN, ...(meta?.best ? { best: { monitor: meta.best.metric, mode: meta.best.mode, minDelta: meta.best.minDelta } } : {}) };
  const run = o.runName ?? path.basename(runDir);
  const uploaded: string[] = [];
  const runner = new BackupRunner({ store: o.store, runDir, runName: run, keep, catchUp: true, maxAttempts: 3, retryDelayMs: 2000 });
  runner.onEvent((e) => {
    if (e.type === 'done') uploaded.push(e.name);
    const line = formatBackupEvent(e);
    if (line) log(line.replace('; training continues', ''));
  });
  const st = await runner.close();
  // the log too, even when every checkpoint was already there
  await new RunPublisher(o.store, run, keep).publishLog(path.join(runDir, LOG_FILE)).catch((e: Error) => log(`✗ metrics log not backed up: ${e.message}`));
  const missing = missingOnStore(await localCheckpoints(runDir), keep, st.stored ?? []);
  return { run, uploaded, missing, lastError: st.lastError };
}
