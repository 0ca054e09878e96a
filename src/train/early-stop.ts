// Early stopping on any metric. The counters are plain JSON saved with every checkpoint, so a
// resumed run stops at the same epoch an uninterrupted one would.
import { z } from 'zod';

export const EarlyStopSchema = z.object({
  monitor: z.string().default('train_loss'),
  mode: z.enum(['min', 'max']).default('min'),
  /** An improvement must beat the best by more than this. */
  minDelta: z.number().nonnegative().default(0),
  /** Epochs without improvement before stopping. */
  patience: z.number().int().positive(),
}).strict();
export type EarlyStopConfig = z.infer<typeof EarlyStopSchema>;

/** Field names match the checkpoint core's state.json `earlyStop` (bestEpoch goes in `extra`). */
export const EarlyStopStateSchema = z.object({
  monitor: z.string(),
  best: z.number().nullable(),
  bestEpoch: z.number().int().nullable(),
  badEpochs: z.number().int().nonnegative(),
  stopped: z.boolean(),
});
export type EarlyStopState = z.infer<typeof EarlyStopStateSchema>;

export function initialEarlyStop(monitor: string): EarlyStopState {
  return { monitor, best: null, bestEpoch: null, badEpochs: 0, stopped: false };
}

/** Epoch-end update (Lightning's EarlyStopping semantics): returns the new state. */
export function updateEarlyStop(cfg: EarlyStopConfig, state: EarlyStopState, epoch: number, metrics: Record<string, number>): EarlyStopState {
  const v = metrics[cfg.monitor];
  if (v === undefined) throw new Error(`early stopping monitors "${cfg.monitor}", which this run does not produce (have: ${Object.keys(metrics).join(', ')})`);
  const improved = Number.isFinite(v) && (state.best === null || (cfg.mode === 'min' ? v < state.best - cfg.minDelta : v > state.best + cfg.minDelta));
  if (improved) return { monitor: cfg.monitor, best: v, bestEpoch: epoch, badEpochs: 0, stopped: false };
  const badEpochs = state.badEpochs + 1;
  return { ...state, badEpochs, stopped: badEpochs >= cfg.patience };
}
