// Typed errors of the checkpoint layer: every failure names the file and what differs.
export type CheckpointErrorCode =
  | 'MISSING_FILE' // a file of the checkpoint is absent
  | 'SIZE_MISMATCH' // a file's size differs from the manifest
  | 'HASH_MISMATCH' // a file's or tensor's sha256 differs from the manifest
  | 'BAD_SCHEMA' // state.json / manifest.json / metadata.json fails its schema
  | 'BAD_FORMAT' // tensors.safetensors is not a valid safetensors file
  | 'WRITE_FAILED' // a background write failed (cause attached)
  | 'DISK_CAP' // the save would exceed the run's disk cap
  | 'LOCKED' // another live process holds the run directory
  | 'NOT_FOUND' // a checkpoint or run directory does not exist
  | 'NO_VALID_CHECKPOINT' // the run has checkpoints but none verifies (resume 'auto' refuses to start over)
  | 'NOT_WRITABLE' // the run directory cannot be created or written (a file in the way, read-only, no permission)
  | 'CLOSED' // the manager was closed
  | 'BAD_OPTIONS'; // invalid options

export class CheckpointError extends Error {
  readonly code: CheckpointErrorCode;
  readonly file?: string;
  readonly detail?: string;

  constructor(code: CheckpointErrorCode, message: string, opts: { file?: string; detail?: string; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'CheckpointError';
    this.code = code;
    this.file = opts.file;
    this.detail = opts.detail;
  }
}

export function isCheckpointError(e: unknown, code?: CheckpointErrorCode): e is CheckpointError {
  return e instanceof CheckpointError && (code === undefined || e.code === code);
}
