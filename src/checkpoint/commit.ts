// How a finished checkpoint becomes visible. A CommitTarget stages files somewhere invisible to
// readers and then publishes them in one step.
//
// AtomicRenameTarget (local dirs): stage = temp dir `.tmp-<name>-<pid>-<rand>` beside the target;
// the writer fsyncs every file (manifest.json last); commit = fsync the temp dir, rename it to
// `<name>`, fsync the parent. Removal = rename to `.del-…`, fsync parent, then delete.
//
// A commit-file variant for stores without atomic rename (e.g. Google Drive; implemented by the
// backup layer): upload the data files under their final names, then manifest.json (the commit
// record: a checkpoint without a manifest whose sizes/hashes match is ignored by readers), then
// overwrite a small pointer file (latest.json) naming the newest committed manifest. Readers
// follow the pointer, or scan manifests, and verify before use; garbage without a manifest is
// swept at startup, like the temp dirs here.
import * as path from 'node:path';
import { fsyncDir, nodeFs, type CkptFs } from './fsio.js';

export interface StagedCheckpoint {
  name: string;
  /** directory to write the checkpoint files into */
  dir: string;
}

export interface CommitTarget {
  /** Where checkpoints live once committed. */
  readonly root: string;
  stage(name: string): Promise<StagedCheckpoint>;
  /** Publish atomically; resolves with the final dir once the checkpoint is durable. */
  commit(staged: StagedCheckpoint): Promise<string>;
  abort(staged: StagedCheckpoint): Promise<void>;
  /** Delete a committed checkpoint; it disappears atomically from listings. */
  remove(name: string): Promise<void>;
  /** Remove staging/garbage left by a crashed process; returns what was removed. */
  cleanupLeftovers(): Promise<string[]>;
}

const TMP = '.tmp-';
const DEL = '.del-';
const rand = () => Math.random().toString(36).slice(2, 10);

export class AtomicRenameTarget implements CommitTarget {
  constructor(readonly root: string, private readonly fs: CkptFs = nodeFs) {}

  async stage(name: string): Promise<StagedCheckpoint> {
    await this.fs.mkdir(this.root, { recursive: true });
    const dir = path.join(this.root, `${TMP}${name}-${process.pid}-${rand()}`);
    await this.fs.mkdir(dir);
    return { name, dir };
  }

  async commit(staged: StagedCheckpoint): Promise<string> {
    const final = path.join(this.root, staged.name);
    await fsyncDir(this.fs, staged.dir);
    await this.fs.rename(staged.dir, final); // fails (ENOTEMPTY/EEXIST) rather than replacing
    await fsyncDir(this.fs, this.root);
    return final;
  }

  async abort(staged: StagedCheckpoint): Promise<void> {
    await this.fs.rm(staged.dir, { recursive: true, force: true });
  }

  async remove(name: string): Promise<void> {
    const trash = path.join(this.root, `${DEL}${name}-${rand()}`);
    await this.fs.rename(path.join(this.root, name), trash);
    await fsyncDir(this.fs, this.root);
    await this.fs.rm(trash, { recursive: true, force: true });
  }

  async cleanupLeftovers(): Promise<string[]> {
    let names: string[];
    try {
      names = await this.fs.readdir(this.root);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
    const gone = names.filter((n) => n.startsWith(TMP) || n.startsWith(DEL));
    for (const n of gone) await this.fs.rm(path.join(this.root, n), { recursive: true, force: true });
    return gone;
  }
}

export function isStagingName(name: string): boolean {
  return name.startsWith(TMP) || name.startsWith(DEL) || name.startsWith('.');
}
