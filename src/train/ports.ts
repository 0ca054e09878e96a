// What the loop needs from the engine and the checkpoint core, as narrow structural types (the
// real ones are src/engine's Engine and src/checkpoint's CheckpointManager, wired in run.ts).
import type { TensorMap } from '../tensor.js';
import type { Batch, TensorDataset } from '../data/dataset.js';
import type { CheckpointManager } from '../checkpoint/manager.js';
import type { TrainState } from '../checkpoint/state.js';
import type { Metrics } from './events.js';

export interface LoopEngine {
  /** One optimiser step; returns the step's metrics (`loss`, extra outputs). */
  step(batch: Batch, hyper: { lr: Record<string, number> }): Metrics | Promise<Metrics>;
  /** Metrics of a batch without updating anything (may be a short last batch). */
  evaluate(batch: Batch): Metrics | Promise<Metrics>;
  getState(): TensorMap | Promise<TensorMap>;
  /**
   * Optional: the state for a checkpoint without waiting for its download (a GPU engine copies it
   * to the host between the next steps); the loop hands `tensors` to the checkpoint manager as is.
   */
  snapshotState?(): Promise<{ tensors: Promise<TensorMap> }>;
  /** Metric names of step() and evaluate() (renamed as the loop sees them): monitors are checked against them before the first step. */
  metricNames?: { train: string[]; eval: string[] };
  /** Where the engine runs ('cpu', 'webgpu'): recorded in checkpoints, so a resume can say it moved. */
  device?: string;
  setState(tensors: TensorMap, opts?: { weightsOnly?: boolean; strict?: boolean }): void | Promise<void>;
  /**
   * Optional resident path: the dataset the engine holds whole. Datasets that are views of it
   * (itself or Subsets) are fed by row with stepIndices / evaluateIndices (bitwise the same
   * results as step / evaluate on getBatch of those rows); others use getBatch + step.
   */
  data?: TensorDataset;
  stepIndices?(rows: Int32Array, hyper: { lr: Record<string, number> }): Metrics | Promise<Metrics>;
  evaluateIndices?(rows: Int32Array): Metrics | Promise<Metrics>;
}

/** The parts of CheckpointManager the loop uses. */
export type LoopCheckpoints = Pick<CheckpointManager, 'save' | 'shouldSave' | 'flush' | 'signalReceived' | 'runDir'>;

/**
 * A checkpoint to continue from (selected by the caller); `history`: the run's per-epoch records
 * up to it, from the metrics log (state.json keeps only the first and the last few).
 */
export interface ResumePoint { dir: string; tensors: TensorMap; state: TrainState; history?: TrainState['metrics'] }
