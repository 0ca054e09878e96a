// Public API of the trainer: train(), runStage(), runRunbook() and their parts.
export { train, buildDatasets, bestCheckpoint, loadWeights, checkpointOptions, type TrainOptions, type TrainSummary, type BuiltDatasets } from './run.js';
export { runStage, runRunbook, loadRunbook, stageConfig, stageIndex, formatStageTable, type StageSummary } from './runbook.js';
export {
  TrainConfigSchema, RunbookSchema, StageSchema, CheckpointPolicySchema, DataSchema, AugmentSchema, parseTrainConfig, parseRunbook, configHash,
  ConfigError, formatConfigError, mergeStage, stageInput,
  type TrainConfig, type TrainConfigInput, type Runbook, type Stage,
} from './config.js';
export { Trainer, groupLrs, validate, type TrainerOptions, type TrainerSummary, type TrainerHooks, type TrainerControl, type StepRecord } from './trainer.js';
export { ResumeFieldsSchema, readResumeFields, finishedReason, type ResumeFields } from './resume-state.js';
export { Emitter, formatEpochLine, type TrainEvent, type EventListener, type DoneReason, type Metrics as TrainMetrics } from './events.js';
export { terminalRenderer, type TerminalOptions } from './progress.js';
export { MetricsLog, type MetricsRecord as MetricsLogRecord } from './metrics-log.js';
export { ScheduleSchema, scheduleFactor, updatePlateau, initialScheduleState, type ScheduleConfig, type ScheduleState } from './schedule.js';
export { EarlyStopSchema as EarlyStoppingSchema, updateEarlyStop, initialEarlyStop, type EarlyStopConfig, type EarlyStopState } from './early-stop.js';
export { createModel, glyphModel, glyphTinyModel, MODELS, type ModelSpec } from './models.js';
export { createEngine, type TrainEngine } from './engine-adapter.js';
export { startRunBackup, type BackupOption, type RunBackup } from './backup-link.js';
export type { LoopEngine, LoopCheckpoints, ResumePoint } from './ports.js';
