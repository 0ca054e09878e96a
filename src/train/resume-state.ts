// The trainer's own fields in a checkpoint's state.json `extra` (the checkpoint core keeps
// `extra` free-form JSON). One schema, parsed by everything that reads them: the trainer when it
// resumes, runbook summaries and the notebook's stage discovery.
import { z } from 'zod';
import { CheckpointError } from '../checkpoint/errors.js';
import type { StateMismatchError } from '../engine/state.js';
import { UserError } from '../errors.js';
import type { TrainState } from '../checkpoint/state.js';
import { DONE_REASONS } from './events.js';

/** Running sums of the step metrics since the epoch began (the epoch means come from them). */
export const EpochSumsSchema = z.object({
  sums: z.record(z.string(), z.number()),
  count: z.number().int().nonnegative(),
});
export type EpochSums = z.infer<typeof EpochSumsSchema>;

export const ResumeFieldsSchema = z.preprocess(
  // checkpoints written before the rename keep the epoch sums under `acc`
  (v) => (v && typeof v === 'object' && 'acc' in v && !('epochSums' in v) ? { ...v, epochSums: (v as { acc: unknown }).acc } : v),
  z.object({
    epochSums: EpochSumsSchema.default({ sums: {}, count: 0 }),
    /** Set on the checkpoint that ended the run: `completed` or `earlyStop`; else null. */
    finished: z.enum(DONE_REASONS).nullable().default(null),
    /** Epoch of the early-stopping monitor's best value (state.earlyStop has no field for it). */
    earlyStopBestEpoch: z.number().int().nullable().default(null),
    /** The engine's device when the checkpoint was written (`cpu`, `webgpu`); null if unknown. */
    device: z.string().nullable().default(null),
  }),
);
export type ResumeFields = z.output<typeof ResumeFieldsSchema>;

export const emptyEpochSums = (): EpochSums => ({ sums: {}, count: 0 });

/** The resume fields of a checkpoint's state; a malformed `extra` fails naming the checkpoint. */
export function readResumeFields(state: TrainState, checkpointDir: string): ResumeFields {
  const r = ResumeFieldsSchema.safeParse(state.extra);
  if (r.success) return r.data;
  const issues = r.error.issues.map((i) => `extra.${i.path.join('.')}: ${i.message}`).join('; ');
  throw new CheckpointError('BAD_SCHEMA', `${checkpointDir}/state.json: ${issues}`, { file: checkpointDir, detail: issues });
}

/** How the run that wrote `state` ended (null: still running, interrupted, or unreadable fields). */
export function finishedReason(state: TrainState): ResumeFields['finished'] {
  const r = ResumeFieldsSchema.safeParse(state.extra);
  return r.success ? r.data.finished : null;
}

/** Epoch records a checkpoint keeps besides the first one (see stateHistory). */
export const STATE_HISTORY_TAIL = 3;

/**
 * The per-epoch history a checkpoint's state.json keeps: the first epoch and the last few, so
 * state.json stays the same size however long the run (the whole history is the run's metrics
 * log, backed up incrementally). Resume needs none of it: best, early stopping and the plateau
 * schedule have their own fields.
 */
export function stateHistory<T>(history: readonly T[]): T[] {
  if (history.length <= STATE_HISTORY_TAIL + 1) return [...history];
  return [history[0], ...history.slice(-STATE_HISTORY_TAIL)];
}

type Rec = TrainState['metrics'][number];
/** A history record with null metrics (NaN/Inf after JSON) back as NaN. */
export function withNaN(h: Rec): Rec & { values: Record<string, number> } {
  return { ...h, values: Object.fromEntries(Object.entries(h.values).map(([k, v]) => [k, v ?? NaN])) };
}

/** `extra` for a checkpoint (other keys of `extra` are not the trainer's and are not written). */
export function resumeExtra(f: ResumeFields): Record<string, unknown> {
  return { epochSums: f.epochSums, finished: f.finished, earlyStopBestEpoch: f.earlyStopBestEpoch, device: f.device };
}

/** A run folder whose checkpoint holds another model's tensors (the engine refused them). */
export class AnotherModelError extends UserError {}

const describeModel = (m: unknown, options: unknown): string =>
  `"${String(m)}"${options && typeof options === 'object' && Object.keys(options).length ? ` ${JSON.stringify(options)}` : ''}`;

/**
 * The error for a checkpoint whose tensors the engine refused (`e`, setState's list of
 * problems): the run was trained with another model; name both models and the way out.
 */
export function anotherModelError(dir: string, state: TrainState, now: { model: string; modelOptions: Record<string, unknown> }, e: StateMismatchError): Error {
  const rec = (state.extra.model ?? null) as { config?: { model?: unknown; modelOptions?: unknown } } | null;
  const was = rec?.config?.model !== undefined ? `model ${describeModel(rec.config.model, rec.config.modelOptions)}` : 'a model it did not record';
  const rank = (p: string) => (/^(missing |unexpected )?param\./.test(p) ? 0 : /^(missing |unexpected )?buffer\./.test(p) ? 1 : 2);
  const problems = [...e.problems].sort((a, b) => rank(a) - rank(b)); // the model's own weights first
  const shown = problems.slice(0, 3).join('; ') + (problems.length > 3 ? `; … ${problems.length - 3} more` : '');
  return new AnotherModelError(
    `this run was trained with another model (${was}; now ${describeModel(now.model, now.modelOptions)}): the checkpoint ${dir} does not fit it (${shown}). Use a new --out (or "out") for this model, or --resume none (resume: 'none') to start this run folder again.`,
    { cause: e },
  );
}
