// The backup's public shapes (options, events, status) and the event lines, shared by the main
// thread and the backup thread without importing backup.ts (tslab cannot load import cycles).
import type { Store } from '../storage/store.js';
import { formatBytes } from '../storage/store.js';
import type { KeepPolicy } from './publish.js';

/** What the checkpoint manager's onDurable gives (DurableEvent); only `dir` is required. */
export interface DurableInfo {
  dir: string;
  name?: string;
  kind?: string;
  globalStep?: number;
  metrics?: Record<string, number>;
}

export interface BackupOptions {
  store: Store;
  runDir: string;
  /** Folder name of the run on the store (default: the run folder's name). */
  runName?: string;
  /** Store-side retention; default the checkpoint core's default (lastN 3, recoveryN 1). Pass the run's `keep` options. */
  keep?: KeepPolicy;
  /** Tensors/files above this are cut into chunks of this size (default 64 MiB). */
  chunkBytes?: number;
  /** Parallel blob uploads (default 4). */
  concurrency?: number;
  /** Attempts per checkpoint before giving up on it (default 5), and the pause between them (default 5 s). */
  maxAttempts?: number;
  retryDelayMs?: number;
  /** On start, back up the kept local checkpoints the store lacks: newest, best, permanent (default true). */
  catchUp?: boolean;
  /**
   * Run the uploads on a worker thread with its own event loop (default: when the store has a
   * spec(), i.e. a plain LocalDirStore or a GoogleDriveStore made with createDriveAuth). Custom or
   * in-memory stores cannot cross threads and run on the main thread; `true` with such a store throws.
   */
  thread?: boolean;
}

export type BackupEvent =
  | { type: 'queued'; name: string; globalStep: number; pending: number }
  | { type: 'skipped'; name: string; globalStep: number; reason: string }
  | { type: 'progress'; name: string; globalStep: number; uploadedBytes: number; newBytes: number }
  | { type: 'done'; name: string; globalStep: number; newBytes: number; reusedBytes: number; seconds: number; deleted: string[] }
  | { type: 'error'; name: string; globalStep: number; error: string; attempt: number; willRetry: boolean };

export interface BackupStatus {
  store: string;
  run: string;
  /** checkpoints waiting (not counting the one uploading) */
  pending: number;
  /** bytes of the waiting checkpoints plus what the current one still has to upload (upper bound) */
  pendingBytes: number;
  uploading: { name: string; globalStep: number; uploadedBytes: number; newBytes: number } | null;
  lastBackedUp: { name: string; globalStep: number; at: string; newBytes: number; reusedBytes: number } | null;
  lastError: string | null;
  failures: number;
  /** checkpoints the store's index lists, as this backup last knew it */
  stored?: string[];
}

export interface Backup {
  enqueue(info: DurableInfo): void;
  /** On the backup thread: its latest report (reports arrive when this event loop turns). */
  status(): BackupStatus;
  onEvent(listener: (e: BackupEvent) => void): () => void;
  /** Resolves when everything queued so far is backed up (or given up); never rejects. */
  flush(): Promise<BackupStatus>;
  /** Flush, then stop the backup thread (if any); enqueue() afterwards throws. */
  close(): Promise<BackupStatus>;
  /**
   * Stop now without waiting: what is queued is dropped and an upload in flight is cut off (its
   * temp files are swept by the next backup); returns the last status. enqueue() afterwards throws.
   */
  abandon(): Promise<BackupStatus>;
}


/** `✓ Backed up step 1500 (12.3 MB new, 480 MB reused)` and friends; null for quiet events. */
export function formatBackupEvent(e: BackupEvent): string | null {
  switch (e.type) {
    case 'done': return `✓ Backed up step ${e.globalStep} (${formatBytes(e.newBytes)} new, ${formatBytes(e.reusedBytes)} reused)`;
    case 'error': return `✗ BACKUP FAILED for step ${e.globalStep} (${e.name}, attempt ${e.attempt}): ${e.error}${e.willRetry ? ' — will retry' : ' — giving up on this checkpoint'}; training continues`;
    case 'skipped': return `… Backup skipped step ${e.globalStep} (${e.reason})`;
    default: return null;
  }
}
