// Who writes a checkpoint's files and commits them into place. The manager keeps policies,
// queueing, metadata, rotation and events on its own thread and hands only this job over:
// - 'worker' (default): a worker thread with its own event loop (write-thread.ts) writes, hashes,
//   fsyncs and renames (also rotation deletes and metadata.json), so a training loop that blocks
//   its thread in synchronous steps (e.g. onnxruntime's session.run) does not hold each of the
//   ~25 sequential file operations of a checkpoint back until its next step: one message each.
//   Tensor bytes are not copied: shared arena buffers are read in place, transfer-mode buffers move.
// - 'inline': the same job on the calling thread, through an injectable CkptFs and CommitTarget
//   (chosen automatically when OpenDeps.fs or OpenDeps.target is given: fault-injection tests).
import * as path from 'node:path';
import type { NamedTensor } from '../tensor.js';
import { ThreadClient, ThreadLost } from '../worker/client.js';
import type { SerializedError } from '../worker/spawn.js';
import type { CommitTarget } from './commit.js';
import { writeCheckpointFiles, type CheckpointMeta } from './dir.js';
import { CheckpointError, type CheckpointErrorCode } from './errors.js';
import { exists, nodeFs, type CkptFs } from './fsio.js';
import type { Manifest } from './manifest.js';
import { writeRunMetadata, type RunMetadata } from './metadata.js';
import type { TrainState } from './state.js';
import { isShared } from './snapshot.js';

export type WriterMode = 'worker' | 'inline';

export interface WriteJob {
  /** directory name wanted; `-2`, `-3`… are appended while it is in `taken` or exists on disk */
  base: string;
  taken: string[];
  tensors: NamedTensor[];
  state: TrainState;
  meta: Omit<CheckpointMeta, 'name'>;
}

export interface Written {
  name: string;
  /** the final (committed, durable) directory */
  dir: string;
  manifest: Manifest;
}

/** The manager's file operations after open(): one at a time, in the order asked. */
export interface CheckpointWriter {
  readonly mode: WriterMode;
  write(job: WriteJob): Promise<Written>;
  /** Delete a committed checkpoint (CommitTarget.remove). */
  remove(name: string): Promise<void>;
  writeMetadata(runDir: string, meta: RunMetadata): Promise<void>;
  close(): Promise<void>;
}

/** Pick a free name, stage, write every file (fsynced, manifest last), commit (rename + parent fsync); abort on failure. */
export async function writeAndCommit(target: CommitTarget, fs: CkptFs, job: WriteJob): Promise<Written> {
  let name = job.base;
  for (let i = 2; job.taken.includes(name) || (await exists(fs, path.join(target.root, name))); i++) name = `${job.base}-${i}`;
  const staged = await target.stage(name);
  try {
    const manifest = await writeCheckpointFiles(staged.dir, job.tensors, job.state, { ...job.meta, name }, fs);
    return { name, dir: await target.commit(staged), manifest };
  } catch (e) {
    await target.abort(staged).catch(() => undefined);
    throw e;
  }
}

export class InlineWriter implements CheckpointWriter {
  readonly mode = 'inline';
  constructor(private readonly target: CommitTarget, private readonly fs: CkptFs = nodeFs) {}
  write(job: WriteJob): Promise<Written> {
    return writeAndCommit(this.target, this.fs, job);
  }
  remove(name: string): Promise<void> {
    return this.target.remove(name);
  }
  writeMetadata(runDir: string, meta: RunMetadata): Promise<void> {
    return writeRunMetadata(runDir, meta, this.fs);
  }
  async close(): Promise<void> {}
}

/** A CheckpointError from the writer thread, with its code (structured clone drops an Error's fields). */
function decodeCheckpointError(s: SerializedError): Error | undefined {
  if (s.name !== 'CheckpointError') return undefined;
  return new CheckpointError(s.code as CheckpointErrorCode, s.message, { file: s.file as string | undefined, detail: s.detail as string | undefined });
}

export type ThreadOp =
  | { op: 'write'; root: string; job: WriteJob }
  | { op: 'remove'; root: string; name: string }
  | { op: 'metadata'; runDir: string; meta: RunMetadata };

/**
 * Runs the operations on a worker thread (started on first use) with AtomicRenameTarget + node:fs.
 * Each costs the calling thread one message, however many file calls it makes. If the thread
 * fails before it ever answered (e.g. workers unavailable here), it warns once and continues
 * with the inline writer (open() writes metadata.json first, so this shows up there).
 */
export class ThreadWriter implements CheckpointWriter {
  private readonly thread: ThreadClient<ThreadOp, unknown>;
  private inline: InlineWriter | null = null;

  constructor(
    private readonly root: string,
    private readonly fallback: () => InlineWriter,
    private readonly warn: (m: string) => void,
    module = 'src/checkpoint/write-thread.ts',
  ) {
    this.thread = new ThreadClient({ entry: { module }, name: 'checkpoint writer thread', decodeError: decodeCheckpointError });
  }

  get mode(): WriterMode {
    return this.inline ? 'inline' : 'worker';
  }

  write(job: WriteJob): Promise<Written> {
    // shared (arena) buffers are read in place; transfer-mode buffers move to the thread
    const transfer = [...new Set(job.tensors.map((t) => t.data.buffer).filter((b): b is ArrayBuffer => !isShared(b)))];
    return this.run({ op: 'write', root: this.root, job }, transfer, (w) => w.write(job)) as Promise<Written>;
  }

  async remove(name: string): Promise<void> {
    await this.run({ op: 'remove', root: this.root, name }, [], (w) => w.remove(name));
  }

  async writeMetadata(runDir: string, meta: RunMetadata): Promise<void> {
    await this.run({ op: 'metadata', runDir, meta }, [], (w) => w.writeMetadata(runDir, meta));
  }

  close(): Promise<void> {
    return this.thread.close();
  }

  private async run(op: ThreadOp, transfer: ArrayBuffer[], inline: (w: InlineWriter) => Promise<unknown>): Promise<unknown> {
    if (this.inline) return inline(this.inline);
    try {
      return await this.thread.request(op, transfer);
    } catch (e) {
      if (!(e instanceof ThreadLost) || this.thread.answered) throw e;
      if (!this.inline) {
        this.warn(`drivetrain: ${e.message}; writing checkpoints on the main thread instead (they become durable more slowly while training blocks it)`);
        this.inline = this.fallback();
      }
      return inline(this.inline); // moved (transfer-mode) tensors are gone: that write fails with a clear size error
    }
  }
}
