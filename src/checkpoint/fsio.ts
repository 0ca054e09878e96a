// The file-system calls the checkpoint layer makes, behind one injectable object so tests can
// inject ENOSPC / EACCES and log the order of operations.
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { CheckpointError } from './errors.js';

export type CkptFs = Pick<
  typeof fsp,
  'open' | 'mkdir' | 'rename' | 'rm' | 'readdir' | 'stat' | 'readFile' | 'writeFile' | 'unlink'
>;

export const nodeFs: CkptFs = fsp;

/** fsync a directory so renames/creations inside it survive a power loss. */
export async function fsyncDir(fs: CkptFs, dir: string): Promise<void> {
  const h = await fs.open(dir, 'r');
  try {
    await h.sync();
  } catch (e) {
    // some FUSE mounts (e.g. a mounted Google Drive) cannot fsync directories; the rename itself still happened
    if (!['EINVAL', 'ENOTSUP', 'EOPNOTSUPP'].includes((e as NodeJS.ErrnoException).code ?? '')) throw e;
  } finally {
    await h.close();
  }
}

/** Write a small file completely and fsync it. */
export async function writeFileSynced(fs: CkptFs, file: string, data: string | Uint8Array): Promise<void> {
  const h = await fs.open(file, 'w');
  try {
    await h.writeFile(data);
    await h.sync();
  } finally {
    await h.close();
  }
}

/** Replace a small file atomically: temp file beside it, fsync, rename, fsync the parent. */
export async function replaceFileAtomic(fs: CkptFs, file: string, data: string | Uint8Array): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  try {
    await writeFileSynced(fs, tmp, data);
    await fs.rename(tmp, file);
  } catch (e) {
    await fs.rm(tmp, { force: true }).catch(() => undefined);
    throw e;
  }
  await fsyncDir(fs, path.dirname(file));
}

export async function exists(fs: CkptFs, p: string): Promise<boolean> {
  try {
    await fs.stat(p);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
}

const FIX = 'Choose another output folder (--out DIR, or "out" in the config / notebook)';

/**
 * Why `dir` cannot be created or written, as a NOT_WRITABLE CheckpointError naming the cause and
 * the fix. Node reports some causes vaguely (recursive mkdir on a read-only file system says
 * ENOENT), so the nearest existing ancestor is inspected and the first missing folder is created
 * directly to learn the real errno.
 */
export async function explainDirError(fs: CkptFs, dir: string, e: unknown, what = 'run folder'): Promise<Error> {
  let code = (e as NodeJS.ErrnoException).code ?? '';
  if (!['EEXIST', 'ENOTDIR', 'ENOENT', 'EROFS', 'EACCES', 'EPERM', 'ENOSPC', 'EDQUOT'].includes(code)) return e as Error;
  const abs = path.resolve(dir);
  let cur = abs;
  let missing: string | null = null;
  for (;;) {
    const st = await fs.stat(cur).catch(() => null);
    if (st && !st.isDirectory()) {
      return new CheckpointError('NOT_WRITABLE', `cannot use ${abs} as the ${what}: ${cur} is a file, not a folder. ${FIX}, or move that file away.`, { file: cur, cause: e });
    }
    if (st) break;
    missing = cur;
    const up = path.dirname(cur);
    if (up === cur) break;
    cur = up;
  }
  if (missing && code === 'ENOENT') {
    try {
      await fs.mkdir(missing);
      return e as Error; // it works now (a race): let the caller's error stand
    } catch (e2) {
      code = (e2 as NodeJS.ErrnoException).code ?? code;
    }
  }
  const where = `${abs} cannot be ${missing ? 'created' : 'written'}`;
  const cause = fsCause(code, cur);
  if (!cause) return e as Error;
  const fix = code === 'ENOSPC' || code === 'EDQUOT' ? 'Free space there (e.g. drivetrain clean-checkpoints) or choose another output folder (--out DIR)' : `${FIX} that you can write, e.g. ./runs/<name>`;
  return new CheckpointError('NOT_WRITABLE', `${where}: ${cause}. ${fix}.`, { file: cur, cause: e });
}

/** Why a folder cannot be written, in words, for the error codes a user can fix; else undefined. */
export function fsCause(code: string, dir: string): string | undefined {
  const why: Record<string, string> = {
    EROFS: `${dir} is on a read-only file system`,
    EACCES: `permission denied in ${dir}`,
    EPERM: `permission denied in ${dir}`,
    ENOSPC: `the disk holding ${dir} is full`,
    EDQUOT: `the disk quota for ${dir} is exhausted`,
  };
  return why[code];
}

/** mkdir -p with a NOT_WRITABLE error that names the cause and the fix. */
export async function ensureDir(fs: CkptFs, dir: string, what = 'run folder'): Promise<void> {
  try {
    await fs.mkdir(dir, { recursive: true });
  } catch (e) {
    throw await explainDirError(fs, dir, e, what);
  }
}
