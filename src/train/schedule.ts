// Learning-rate schedules as pure functions of the position in training plus a small saved state
// (only reduce-on-plateau has one). The engine takes the learning rate as a graph input, so a
// schedule never rebuilds a graph. The factor multiplies every group's base learning rate.
import { z } from 'zod';

export const ScheduleSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('constant'), warmupSteps: z.number().int().nonnegative().default(0) }).strict(),
  z.object({
    type: z.literal('step'),
    /** Multiply by `gamma` every `stepEpochs` epochs. */
    stepEpochs: z.number().int().positive(),
    gamma: z.number().positive().default(0.1),
    warmupSteps: z.number().int().nonnegative().default(0),
  }).strict(),
  z.object({
    type: z.literal('cosine'),
    /** Final factor at the last step (default 0). */
    minFactor: z.number().min(0).max(1).default(0),
    warmupSteps: z.number().int().nonnegative().default(0),
  }).strict(),
  z.object({
    type: z.literal('plateau'),
    monitor: z.string().default('val_loss'),
    mode: z.enum(['min', 'max']).default('min'),
    factor: z.number().positive().lt(1).default(0.1),
    patience: z.number().int().nonnegative().default(2),
    minDelta: z.number().nonnegative().default(0),
    minFactor: z.number().min(0).default(0),
    warmupSteps: z.number().int().nonnegative().default(0),
  }).strict(),
]);
export type ScheduleConfig = z.infer<typeof ScheduleSchema>;
export type ScheduleInput = z.input<typeof ScheduleSchema>;

/** Saved schedule state: the plateau factor and its counters. */
export const ScheduleStateSchema = z.object({
  factor: z.number(),
  best: z.number().nullable(),
  bad: z.number().int().nonnegative(),
});
export type ScheduleState = z.infer<typeof ScheduleStateSchema>;

export function initialScheduleState(): ScheduleState {
  return { factor: 1, best: null, bad: 0 };
}

export interface SchedulePosition {
  /** Global step about to run (0-based). */
  globalStep: number;
  /** Epoch of that step (0-based). */
  epoch: number;
  /** Steps in the whole run (epochs × steps per epoch). */
  totalSteps: number;
}

/** The factor applied to the base learning rates at `pos`. */
export function scheduleFactor(cfg: ScheduleConfig, pos: SchedulePosition, state: ScheduleState): number {
  let f: number;
  switch (cfg.type) {
    case 'constant': f = 1; break;
    case 'step': f = Math.pow(cfg.gamma, Math.floor(pos.epoch / cfg.stepEpochs)); break;
    case 'cosine': {
      const span = Math.max(1, pos.totalSteps - cfg.warmupSteps);
      const t = Math.min(1, Math.max(0, (pos.globalStep - cfg.warmupSteps) / span));
      f = cfg.minFactor + (1 - cfg.minFactor) * 0.5 * (1 + Math.cos(Math.PI * t));
      break;
    }
    case 'plateau': f = state.factor; break;
  }
  if (cfg.warmupSteps > 0 && pos.globalStep < cfg.warmupSteps) f *= (pos.globalStep + 1) / cfg.warmupSteps;
  return f;
}

/** Reduce-on-plateau's epoch-end update (PyTorch's ReduceLROnPlateau, threshold_mode 'abs'). */
export function updatePlateau(cfg: ScheduleConfig, state: ScheduleState, metrics: Record<string, number>): ScheduleState {
  if (cfg.type !== 'plateau') return state;
  const v = metrics[cfg.monitor];
  if (v === undefined) throw new Error(`reduce-on-plateau monitors "${cfg.monitor}", which this run does not produce (have: ${Object.keys(metrics).join(', ')})`);
  const improved = state.best === null || (cfg.mode === 'min' ? v < state.best - cfg.minDelta : v > state.best + cfg.minDelta);
  if (improved) return { factor: state.factor, best: v, bad: 0 };
  const bad = state.bad + 1;
  if (bad > cfg.patience) return { factor: Math.max(cfg.minFactor, state.factor * cfg.factor), best: state.best, bad: 0 };
  return { factor: state.factor, best: state.best, bad };
}
