// Public API of the trainer: train(), runStage(), runRunbook() and their parts.
export { train, bestCheckpoint, checkpointOptions, type TrainOptions, type TrainSummary } from './run.js';
export { buildDatasets, loadDatasets, contextFromData } from './datasets.js';
export { initWeights, initSource, type InitSpec } from './init-weights.js';
export { loadUserDatasets, grayPreprocess, type Preprocess, type RunDatasets, type DatasetContext, type DatasetFactory } from './data-source.js';
export { isModuleRef, parseModuleRef, importUserModule, loadUserExport, type ModuleRef } from './user-module.js';
export { openRunModel, resolveCheckpoint, bestOrNewest, runModelInfo, RunModelInfoSchema, type RunModel, type RunModelInfo } from './run-model.js';
export { Detector, DetectionHeads, Classifier, boxIoU, detectionLoss, detectorSpec, classifierSpec, type Task, type DetectionLossOptions } from './detector.js';
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
export { createModel, resolveModel, checkSpec, modelContext, glyphModel, glyphTinyModel, mnistModel, resnetModel, MODELS, type ModelSpec, type ModelContext, type ModelFactory, type ContextInput } from './models.js';
export { createEngine, type TrainEngine } from './engine-adapter.js';
export { startRunBackup, prepareRunBackup, DEFAULT_FLUSH_TIMEOUT_S, type BackupOption, type BackupOutcome, type PreparedBackup, type RunBackup } from './backup-link.js';
export type { LoopEngine, LoopCheckpoints, ResumePoint } from './ports.js';
