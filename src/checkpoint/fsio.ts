// The file-system calls the checkpoint layer makes, behind one injectable object so tests can
// inject ENOSPC / EACCES and log the order of operations.
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';

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
