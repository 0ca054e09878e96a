// `drivetrain backup --watch DIR --to <drive>`, `drivetrain backup --run <run folder> --to <drive>`
// and `drivetrain restore --from <drive> --into DIR`.
// <drive>: a local folder (e.g. /content/drive/MyDrive/backups) or `drive:folder/sub` (Google
// Drive API; credentials from DRIVETRAIN_DRIVE_TOKEN_FILE / _SERVICE_ACCOUNT / _ACCESS_TOKEN).
import { InvalidArgumentError, type Command } from 'commander';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { listRemoteRuns, restore } from '../backup/restore.js';
import { backupRunFolder } from '../backup/run-folder.js';
import { checkBackupTarget } from '../backup/target-check.js';
import { formatWatchEvent, watchFolder } from '../backup/watch.js';
import { checkQuota, storeFromTarget } from '../storage/mount.js';

function seconds(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`expected a number of seconds >= 0, got ${JSON.stringify(v)}`);
  return n;
}

function positiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`expected a whole number >= 1, got ${JSON.stringify(v)}`);
  return n;
}

interface BackupFlags { watch?: string; to: string; run?: string; name?: string; interval: number; stable: number; maxWait?: number; keep: number; once?: boolean; checkTimeout: number }

/** Bytes of the files under `dir` (not following links; hidden ones skipped as the watcher does). */
async function folderBytes(dir: string): Promise<number> {
  let n = 0;
  for (const d of await fsp.readdir(dir, { withFileTypes: true }).catch(() => [])) {
    if (d.name.startsWith('.')) continue;
    const p = path.join(dir, d.name);
    if (d.isDirectory()) n += await folderBytes(p);
    else if (d.isFile()) n += (await fsp.stat(p).catch(() => ({ size: 0 }))).size;
  }
  return n;
}
/** `backup --run DIR`: exit 1 (and say what) when a kept checkpoint is still not on the store. */
async function backupRun(f: BackupFlags): Promise<void> {
  if (!f.run) throw new InvalidArgumentError('give --run <run folder> (a drivetrain run) or --watch <folder> (files of any trainer)');
  const store = await storeFromTarget(f.to);
  const runName = f.name ?? path.basename(path.resolve(f.run));
  await checkBackupTarget(store, runName, { target: f.to, timeoutMs: f.checkTimeout * 1000 });
  const r = await backupRunFolder({ runDir: f.run, store, runName, lastN: f.keep, log: (m) => console.log(m) });
  if (r.missing.length) {
    console.error(`✗ Still not backed up to ${f.to}: ${r.missing.map((c) => `${c.name} (${c.why}, step ${c.globalStep})`).join(', ')}${r.lastError ? `; last error: ${r.lastError}` : ''}. Run this command again once the store is reachable.`);
    process.exitCode = 1;
    return;
  }
  console.log(r.uploaded.length ? `✓ ${r.run} is backed up to ${f.to} (uploaded: ${r.uploaded.join(', ')})` : `✓ ${r.run} was already backed up to ${f.to}; nothing to upload`);
}

interface RestoreFlags { from: string; run?: string; into?: string; checkpoint?: string; list?: boolean }

export function register(program: Command): void {
  program
    .command('backup')
    .description('Back up a drivetrain run folder (--run DIR: every kept checkpoint the store lacks, and the metrics log), or mirror a folder written by any trainer (--watch DIR, e.g. PyTorch last.pth/best.pth; files are uploaded once stable)')
    .option('--run <dir>', 'a drivetrain run folder to back up (finishes a run whose backups failed); with --watch: the name on the store (prefer --name)')
    .option('--watch <dir>', 'folder to mirror')
    .requiredOption('--to <drive>', 'a local folder, or drive:folder/sub for Google Drive')
    .option('--name <name>', 'name on the store (default: the folder name)')
    .option('--check-timeout <s>', 'longest wait for the store to answer the write check', seconds, 30)
    .option('--interval <s>', 'seconds between scans', seconds, 2)
    .option('--stable <s>', 'seconds a file must stay unchanged before upload', seconds, 5)
    .option('--max-wait <s>', 'a file that keeps changing is backed up anyway after this many seconds, in its newest complete version (default: max(30, 6 × --stable))', seconds)
    .option('--keep <n>', 'snapshots (--watch) or rotating checkpoints (--run) kept on the store', positiveInt, 3)
    .option('--once', 'upload what is stable now, then exit')
    .action(async (f: BackupFlags) => {
      if (!f.watch) return backupRun(f);
      const dir = path.resolve(f.watch);
      if (!(await fsp.stat(dir).catch(() => null))?.isDirectory()) throw new Error(`--watch ${f.watch}: no such folder`);
      const store = await storeFromTarget(f.to);
      // every kept snapshot may hold a different version of each file: warn now if the store cannot take them
      await checkQuota(store, (await folderBytes(dir)) * f.keep, (m) => console.error(m));
      const w = watchFolder({ dir, store, run: f.name ?? f.run, intervalMs: f.interval * 1000, stableMs: f.stable * 1000, maxWaitMs: f.maxWait === undefined ? undefined : f.maxWait * 1000, keepLast: f.keep, poll: !f.once });
      w.onEvent((e) => {
        const line = formatWatchEvent(e);
        if (line) (e.type === 'error' || e.type === 'incomplete' ? console.error : console.log)(e.type === 'done' ? `${line} → ${store.description}` : line);
      });
      if (f.once) {
        await w.scanOnce(); // first look: records sizes and times
        await new Promise((r) => setTimeout(r, f.stable * 1000));
        const ev = await w.scanOnce();
        if (!ev) console.log(`nothing new to back up in ${dir}`);
        await w.stop();
        return;
      }
      console.log(`Watching ${dir} → ${store.description} (Ctrl-C to stop)`);
      await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
      await w.stop();
    });

  program
    .command('restore')
    .description('Bring a backed-up run (or watched folder) back from Drive; the newest checkpoint that verifies wins')
    .requiredOption('--from <drive>', 'a local folder, or drive:folder/sub for Google Drive')
    .option('--run <name>', 'run name on the store (default: the most recently updated)')
    .option('--into <dir>', 'local folder to restore into (default runs/<run>; watched folders ./<run>)')
    .option('--checkpoint <name>', 'restore this checkpoint instead of the newest')
    .option('--list', 'list the runs on the store and exit')
    .action(async (f: RestoreFlags) => {
      const store = await storeFromTarget(f.from);
      if (f.list) {
        const runs = await listRemoteRuns(store);
        if (runs.length === 0) console.log(`no backed-up runs at ${store.description}`);
        for (const r of runs) console.log(`${r.run}\tlatest ${r.latest ?? '-'} (${r.kind === 'snapshot' ? 'snapshot' : 'step'} ${r.globalStep ?? '-'})\t${r.checkpoints} kept\tupdated ${r.updated}`);
        return;
      }
      const r = await restore({ from: store, run: f.run, into: f.into, name: f.checkpoint, log: (m) => console.log(m) });
      if (r.source === 'none') process.exitCode = 1;
    });
}
