// Before a run's first step: can its backups be written at all? The run's folder on the store is
// created and a small file written and deleted there, within a time limit. A folder target that
// is a file, read-only or not ours, missing Drive credentials or an unreachable Drive fail here
// with the cause and the fix, instead of every backup failing later while training goes on.
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../errors.js';
import { fsCause } from '../checkpoint/fsio.js';
import { LocalDirStore } from '../storage/local-store.js';
import { storeFromSpec } from '../storage/mount.js';
import type { Store } from '../storage/store.js';

export class BackupTargetError extends UserError {}

export interface TargetCheckOptions {
  /** Longest wait for the store to answer (default 30 s). */
  timeoutMs?: number;
  /** How the user named the target, for messages (default the store's description). */
  target?: string;
}

const FIX = 'Give a folder you can write (--gdrive-backup DIR, or mount(DIR) in a notebook), or leave backups off';

/** Throws a BackupTargetError when the run's backup folder on `store` cannot be written. */
export async function checkBackupTarget(store: Store, run: string, o: TargetCheckOptions = {}): Promise<void> {
  const timeoutMs = o.timeoutMs ?? 30_000;
  const target = o.target ?? store.description;
  const probe = await probeStore(store, timeoutMs);
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((r) => { timer = setTimeout(() => r('late'), timeoutMs); });
  try {
    const r = await Promise.race([writeAndDelete(probe, run).then(() => 'ok' as const), late]);
    if (r === 'late') throw new BackupTargetError(`the backup target ${target} did not answer within ${Math.round(timeoutMs / 1000)} s (is the network or Drive down?). Check the connection and try again, or train without backups (leave --gdrive-backup off).`);
  } catch (e) {
    if (e instanceof BackupTargetError) throw e;
    throw store instanceof LocalDirStore ? await explainLocal(store.root, target, e) : driveError(target, e);
  } finally {
    clearTimeout(timer);
  }
}

/** A Drive store reopened with few retries, so an unreachable Drive fails in seconds (not after minutes of backoff). */
async function probeStore(store: Store, timeoutMs: number): Promise<Store> {
  const spec = store.spec?.() ?? null;
  if (spec?.kind !== 'drive') return store;
  return storeFromSpec({ ...spec, attempts: 2, baseDelayMs: 300, maxDelayMs: 1000, timeoutMs: Math.min(timeoutMs, spec.timeoutMs ?? timeoutMs) });
}

async function writeAndDelete(store: Store, run: string): Promise<void> {
  const p = `${run}/.write-check-${process.pid}`;
  await store.mkdir(run);
  await store.write(p, Buffer.from('drivetrain backup write check\n'));
  await store.delete(p);
}

function driveError(target: string, e: unknown): BackupTargetError {
  const msg = (e as Error)?.message ?? String(e);
  return new BackupTargetError(`cannot back up to ${target}: ${msg}. Check the Drive credentials (DRIVETRAIN_DRIVE_TOKEN_FILE / _SERVICE_ACCOUNT / _ACCESS_TOKEN), the folder (DRIVETRAIN_DRIVE_FOLDER_ID) and the network, or train without backups.`, { cause: e });
}

/** Why a local folder cannot take backups: a file in the way, read-only, no permission, full. */
async function explainLocal(root: string, target: string, e: unknown): Promise<BackupTargetError> {
  let cur = path.resolve(root);
  for (;;) {
    const st = await fsp.stat(cur).catch(() => null);
    if (st && !st.isDirectory()) return new BackupTargetError(`cannot back up to ${target}: ${cur} is a file, not a folder. ${FIX}.`, { cause: e });
    if (st) break;
    const up = path.dirname(cur);
    if (up === cur) break;
    cur = up;
  }
  const code = (e as NodeJS.ErrnoException)?.code ?? '';
  return new BackupTargetError(`cannot back up to ${target}: ${fsCause(code, cur) ?? (e as Error)?.message ?? String(e)}. ${FIX}.`, { cause: e });
}
