// Public API of the checkpoint layer.
export { CheckpointError, isCheckpointError, type CheckpointErrorCode } from './errors.js';
export { nodeFs, type CkptFs } from './fsio.js';
export {
  SAFETENSORS_DTYPE, dtypeFromSafetensors, encodeHeader, parseHeader, readSafetensors, readSafetensorsHeader,
  writeSafetensors, writeSafetensorsTo,
  type ReadResult, type SafetensorsHeader, type TensorLayout, type WriteResult, type WrittenTensor,
} from './safetensors.js';
export {
  TrainStateSchema, parseTrainState, StateSchemaError,
  type TrainState, type TrainStateInput, type MetricsRecord as TrainMetricsRecord, type BestRecord as TrainBestRecord,
} from './state.js';
export {
  ManifestSchema, parseManifest, CHECKPOINT_KINDS, MANIFEST_FILE, MANIFEST_FORMAT, MANIFEST_VERSION, STATE_FILE, TENSORS_FILE,
  type CheckpointKind, type Manifest,
} from './manifest.js';
export { AtomicRenameTarget, type CommitTarget, type StagedCheckpoint } from './commit.js';
export { writeCheckpointFiles, loadCheckpoint, loadCheckpointState, verifyCheckpoint, readManifest, type LoadedCheckpoint, type CheckpointMeta } from './dir.js';
export {
  savePolicies, combineSavePolicies, savePolicyFromOptions, selectDeletions, findBest, isImprovement, CheckpointOptionsSchema,
  type CheckpointEvent, type SaveDecision, type SavePolicy, type SaveContext, type CheckpointOptions, type CheckpointOptionsInput, type BestOptions, type KeptCheckpoint,
} from './policy.js';
export { acquireRunLock, readLock, LOCK_FILE, type LockInfo, type RunLock } from './lock.js';
export { readRunMetadata, RunMetadataSchema, METADATA_FILE, CHECKPOINTS_DIR, type RunMetadata, type CheckpointRecord } from './metadata.js';
export { CheckpointManager, type DurableEvent, type DeletedEvent, type SaveHandle, type SaveOptions, type OpenDeps, type Listener } from './manager.js';
export { type WriterMode } from './writer.js';
export { selectResume, scanResume, resolveResume, describeContents, noValidCheckpointError, type ResumeChoice, type ResumeOptions, type ResumeScan, type RejectedCheckpoint } from './resume.js';
export { formatTextTable } from '../text-table.js';
export { createRun, defaultRunsBase, listRuns, formatRunsTable, type CreatedRun, type RunRow } from './runs.js';
