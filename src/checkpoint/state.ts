// state.json: the training state stored beside the tensors. Only the position fields are
// required; everything else has a default so a trainer can fill in what it has.
import { z } from 'zod';

const json: z.ZodType<unknown> = z.unknown();

export const MetricsRecordSchema = z.object({
  epoch: z.number().int().nonnegative(),
  globalStep: z.number().int().nonnegative().optional(),
  /** e.g. { train_loss: 0.31, val_loss: 0.42, val_acc: 0.9 }; null = not finite (NaN/Inf become null in JSON) */
  values: z.record(z.string(), z.number().nullable()),
  time: z.string().optional(),
});

export const BestSchema = z.object({
  metric: z.string(),
  value: z.number(),
  epoch: z.number().int().nonnegative(),
  globalStep: z.number().int().nonnegative(),
});

export const EarlyStopSchema = z.object({
  monitor: z.string(),
  best: z.number().nullable(),
  /** epochs in a row without improvement */
  badEpochs: z.number().int().nonnegative(),
  stopped: z.boolean().default(false),
});

export const SamplerStateSchema = z.object({
  seed: z.number().int(),
  epoch: z.number().int().nonnegative(),
  /** index of the next batch (or sample) within the epoch's order */
  position: z.number().int().nonnegative(),
});

export const TrainStateSchema = z.object({
  /** epoch the state belongs to (the trainer defines whether an epoch-end save stores e or e+1) */
  epoch: z.number().int().nonnegative(),
  /** steps already completed in `epoch` */
  stepInEpoch: z.number().int().nonnegative(),
  /** steps completed since the start of the run */
  globalStep: z.number().int().nonnegative(),
  metrics: z.array(MetricsRecordSchema).default([]),
  best: BestSchema.nullable().default(null),
  earlyStop: EarlyStopSchema.nullable().default(null),
  /** named generator states, free-form JSON (e.g. { dropout: { s: [..] }, shuffle: {...} }) */
  rng: z.record(z.string(), json).default({}),
  sampler: SamplerStateSchema.nullable().default(null),
  /** LR schedule state, free-form */
  schedule: z.record(z.string(), json).default({}),
  configHash: z.string().default(''),
  stage: z.string().optional(),
  extra: z.record(z.string(), json).default({}),
});

/** Parsed (defaults filled) training state. */
export type TrainState = z.output<typeof TrainStateSchema>;
/** What callers may pass: only epoch, stepInEpoch, globalStep are required. */
export type TrainStateInput = z.input<typeof TrainStateSchema>;
export type MetricsRecord = z.output<typeof MetricsRecordSchema>;
export type BestRecord = z.output<typeof BestSchema>;

export function parseTrainState(value: unknown, file = 'state.json'): TrainState {
  const r = TrainStateSchema.safeParse(value);
  if (!r.success) {
    const issues = r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new StateSchemaError(`${file}: ${issues}`, issues);
  }
  return r.data;
}

/** Thrown by parseTrainState; the manager wraps it into CheckpointError('BAD_SCHEMA'). */
export class StateSchemaError extends Error {
  constructor(message: string, readonly issues: string) {
    super(message);
    this.name = 'StateSchemaError';
  }
}
