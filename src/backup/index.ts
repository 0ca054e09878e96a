// Background incremental backup to a Store, and one-call restore (DESIGN.md §4).
export { startBackup, formatBackupEvent, type Backup, type BackupOptions, type BackupEvent, type BackupStatus, type DurableInfo } from './backup.js';
export { restore, listRemoteRuns, type RestoreOptions, type RestoreResult, type RemoteRun } from './restore.js';
export { RunPublisher, readIndex, readStoreManifest, DEFAULT_KEEP, type KeepPolicy, type SnapshotInfo, type PublishResult } from './publish.js';
export { watchFolder, type WatchOptions, type FolderWatcher } from './watch.js';
export { backupRunFolder, type BackupRunOptions, type BackupRunResult } from './run-folder.js';
export { checkBackupTarget, BackupTargetError, type TargetCheckOptions } from './target-check.js';
export { localCheckpoints, keptCheckpoints, missingOnStore, type LocalCheckpoint, type DueCheckpoint } from './reconcile.js';
export { restoreLog, readLogPointer, LOG_FILE, type LogPointer } from './log-backup.js';
export { planCheckpoint, planFiles, DEFAULT_CHUNK_BYTES, type PlannedFile, type PlannedSegment } from './segments.js';
export {
  StoreManifestSchema, StoreIndexSchema, INDEX_FILE, BLOBS_DIR, MANIFESTS_DIR, blobPath, manifestPath, indexPath, safeJoin,
  type StoreManifest, type StoreIndex, type IndexEntry,
} from './format.js';
