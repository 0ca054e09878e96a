// Connects a run's checkpoint manager to src/backup: every durable checkpoint is queued for
// background upload, and backup events become progress events (`✓ Backed up step …`).
import type { CheckpointManager } from '../checkpoint/manager.js';
import { formatBackupEvent, startBackup, type Backup } from '../backup/backup.js';
import { storeFromTarget } from '../storage/mount.js';
import type { Store } from '../storage/store.js';
import type { Emitter } from './events.js';

/**
 * `{ to: 'folder' | 'drive:folder' }` (as `--gdrive-backup`), or an opened Store. `thread`: see
 * BackupOptions.thread (default: on a worker thread when the store allows it).
 */
export type BackupOption = ({ to: string } | { store: Store }) & { runName?: string; thread?: boolean };

export interface RunBackup {
  backup: Backup;
  /** Wait until everything queued is uploaded (or given up); never throws. */
  flush(): Promise<void>;
  /** Flush, detach from the manager and end the backup thread. */
  stop(): Promise<void>;
}

export async function startRunBackup(opt: BackupOption, manager: CheckpointManager, events: Emitter): Promise<RunBackup> {
  const store = 'store' in opt ? opt.store : await storeFromTarget(opt.to);
  const backup = startBackup({ store, runDir: manager.runDir, runName: opt.runName, keep: manager.options.keep, thread: opt.thread });
  const offEvents = backup.onEvent((e) => {
    const line = formatBackupEvent(e);
    if (!line) return;
    events.emit({ type: 'backup', ok: e.type !== 'error', message: line.replace(/^[✓✗…]\s*/, ''), line, globalStep: e.globalStep });
  });
  const offDurable = manager.onDurable((d) => backup.enqueue(d));
  const flush = async () => { await backup.flush(); };
  return {
    backup,
    flush,
    stop: async () => {
      offDurable();
      await backup.close(); // flushes, then ends the backup thread
      offEvents();
    },
  };
}
