// One writer per run directory: `<runDir>/.lock` holds { pid, host, started }. Created with
// O_EXCL; a lock whose process is dead (same host) is taken over with a warning.
import * as os from 'node:os';
import * as path from 'node:path';
import { CheckpointError } from './errors.js';
import { ensureDir, explainDirError, nodeFs, type CkptFs } from './fsio.js';

export interface LockInfo {
  pid: number;
  host: string;
  started: string;
  token: string;
}

export interface RunLock {
  readonly file: string;
  readonly info: LockInfo;
  release(): Promise<void>;
}

export const LOCK_FILE = '.lock';
const UNREADABLE = 'unreadable';
/** An unreadable lock younger than this may be one another opener has created and not yet written. */
const FRESH_MS = 2000;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function readLock(runDir: string, fs: CkptFs = nodeFs): Promise<LockInfo | null> {
  try {
    return JSON.parse(await fs.readFile(path.join(runDir, LOCK_FILE), 'utf8')) as LockInfo;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    if (e instanceof SyntaxError) return { pid: -1, host: os.hostname(), started: '?', token: UNREADABLE };
    throw e;
  }
}

export async function acquireRunLock(
  runDir: string,
  opts: { fs?: CkptFs; warn?: (msg: string) => void } = {},
): Promise<RunLock> {
  const fs = opts.fs ?? nodeFs;
  const warn = opts.warn ?? ((m: string) => console.warn(m));
  const file = path.join(runDir, LOCK_FILE);
  const info: LockInfo = { pid: process.pid, host: os.hostname(), started: new Date().toISOString(), token: Math.random().toString(36).slice(2) };
  await ensureDir(fs, runDir);
  const waitUntil = Date.now() + FRESH_MS + 500;
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      const h = await fs.open(file, 'wx');
      try {
        await h.writeFile(JSON.stringify(info));
        await h.sync();
      } finally {
        await h.close();
      }
      const back = await readLock(runDir, fs);
      if (back?.token !== info.token) continue; // lost a takeover race
      return {
        file,
        info,
        release: async () => {
          const cur = await readLock(runDir, fs).catch(() => null);
          if (cur?.token === info.token) await fs.rm(file, { force: true });
        },
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw await explainDirError(fs, runDir, e);
    }
    const held = await readLock(runDir, fs);
    if (!held) continue;
    const sameHost = held.host === os.hostname();
    if (held.pid === process.pid && sameHost) {
      throw new CheckpointError('LOCKED', `${runDir} is already open in this process (lock ${file}); close the other CheckpointManager first`, { file });
    }
    if (held.token === UNREADABLE && Date.now() < waitUntil && (await ageMs(fs, file)) < FRESH_MS) {
      // created (O_EXCL) but not yet written by another opener: wait for its content, do not take it over
      await new Promise((r) => setTimeout(r, 50));
      attempt--;
      continue;
    }
    if (sameHost && (held.pid <= 0 || !alive(held.pid))) {
      // another opener may have taken over the same stale lock since it was read: delete only that one
      if ((await readLock(runDir, fs))?.token !== held.token) continue;
      warn(`drivetrain: taking over stale lock ${file} (pid ${held.pid} started ${held.started} is not running)`);
      await fs.rm(file, { force: true });
      continue;
    }
    throw new CheckpointError(
      'LOCKED',
      `${runDir} is in use by pid ${held.pid} on ${held.host} since ${held.started}. Stop that process, use another run directory, or delete ${file} if you are sure it is gone.`,
      { file, detail: `pid ${held.pid}@${held.host}` },
    );
  }
  throw new CheckpointError('LOCKED', `could not acquire ${file} (contended); retry`, { file });
}

async function ageMs(fs: CkptFs, file: string): Promise<number> {
  try {
    return Date.now() - (await fs.stat(file)).mtimeMs;
  } catch {
    return Infinity; // gone: the next attempt creates it
  }
}
