// Training configuration and runbooks (zod). Errors name the key path, e.g.
// `stages[1].lrGroups.head: expected number, received string`.
import crypto from 'node:crypto';
import { z } from 'zod';
import { EarlyStopSchema } from './early-stop.js';
import { ScheduleSchema } from './schedule.js';

export const CheckpointPolicySchema = z.object({
  /** Save `last` at the end of every epoch. */
  saveLast: z.boolean().default(true),
  /** A `recovery` checkpoint every N global steps (mid-epoch). */
  saveSteps: z.number().int().positive().nullable().default(null),
  /** A `recovery` checkpoint when this many seconds passed since the last save. */
  saveIntervalS: z.number().positive().nullable().default(null),
  /** Rotating checkpoints kept. */
  keepLast: z.number().int().positive().default(2),
  /** Keep a `best` checkpoint by this metric (null: no best). */
  monitor: z.string().nullable().default('val_loss'),
  mode: z.enum(['min', 'max']).default('min'),
  minDelta: z.number().nonnegative().default(0),
  /** Keep `epoch-NNN` permanently every K epochs. */
  permanentEvery: z.number().int().positive().nullable().default(null),
  /**
   * Bytes the run's checkpoints may take on disk: old rotating ones are deleted before a save
   * that would exceed it; a save that cannot fit even then is refused before anything is written.
   */
  diskCapBytes: z.number().int().positive().nullable().default(null),
}).strict();

export const DataSchema = z.object({
  name: z.enum(['glyphs', 'mnist']).default('glyphs'),
  /** Samples generated (glyphs) or loaded (mnist), before the validation split. */
  n: z.number().int().positive().default(4096),
  valFraction: z.number().min(0).lt(1).default(0.125),
  seed: z.number().int().nonnegative().default(0),
  /** Glyph image side (32–64). */
  size: z.number().int().min(32).max(64).default(32),
  /** Glyph pixel noise: standard deviation range as a fraction of full scale. */
  noise: z.tuple([z.number().min(0), z.number().min(0)]).default([0.03, 0.12]),
  /** Glyphs: up to this many faint distractor strokes per image. */
  clutter: z.number().int().min(0).default(0),
}).strict();

export const TrainConfigSchema = z.object({
  /** A model from the registry (src/train/models.ts): `glyph`, `glyph-tiny`, `mnist`. */
  model: z.string().default('glyph'),
  data: DataSchema.default(DataSchema.parse({})),
  epochs: z.number().int().positive(),
  batchSize: z.number().int().positive().default(32),
  optimizer: z.enum(['sgd', 'adamw']).default('sgd'),
  /** Learning rate of every group without its own entry in `lrGroups`. */
  lr: z.number().positive(),
  /** Per parameter group learning rates, e.g. `{ "backbone": 2e-5, "head": 5e-5 }`. */
  lrGroups: z.record(z.string(), z.number().nonnegative()).default({}),
  /** SGD momentum, or AdamW's β1 (β2 = 0.999), as in Ultralytics-style scripts. */
  momentum: z.number().min(0).lt(1).default(0.9),
  weightDecay: z.number().nonnegative().default(0),
  /** Parameter groups held fixed, e.g. `["backbone"]`. */
  freeze: z.array(z.string()).default([]),
  schedule: ScheduleSchema.default({ type: 'constant', warmupSteps: 0 }),
  earlyStopping: EarlyStopSchema.nullable().default(null),
  checkpoint: CheckpointPolicySchema.default(CheckpointPolicySchema.parse({})),
  /** The run directory (checkpoints, metrics.jsonl). */
  out: z.string().min(1).default('runs/train'),
  seed: z.number().int().nonnegative().default(0),
  device: z.enum(['cpu', 'webgpu', 'auto']).default('cpu'),
  threads: z.number().int().positive().optional(),
  /** `auto` (newest valid checkpoint of `out`), `none`, or a checkpoint path. */
  resume: z.string().default('auto'),
  /** Initialise weights (only) from a checkpoint dir or .safetensors file; fresh optimizer. */
  initFrom: z.string().nullable().default(null),
  /** Load only these parameter groups from `initFrom` (e.g. `["backbone"]`); default all. */
  initGroups: z.array(z.string()).nullable().default(null),
  /** Validate at each epoch end (needs data.valFraction > 0). */
  validate: z.boolean().default(true),
  /** Stop after this many global steps (for tests and smoke runs). */
  maxSteps: z.number().int().positive().nullable().default(null),
}).strict();

export type TrainConfig = z.infer<typeof TrainConfigSchema>;
export type TrainConfigInput = z.input<typeof TrainConfigSchema>;

/**
 * A runbook stage: train-config keys over the runbook's `defaults` (objects such as `data` and
 * `checkpoint` merge key by key), plus `name`, `out` and `initFrom`. The merged config of each
 * stage is validated by TrainConfigSchema when the runbook is parsed.
 */
export const StageSchema = z.object({
  name: z.string().regex(/^[A-Za-z0-9_.-]+$/, 'use letters, digits, _ . - only'),
  /** `previous` (default: the previous stage's best, weights only), `none`, or a path. */
  initFrom: z.string().nullable().optional(),
  /** Stage output dir; default `<runbook out>/<stage name>`. */
  out: z.string().optional(),
}).catchall(z.unknown());

export const RunbookSchema = z.object({
  name: z.string().default('runbook'),
  description: z.string().optional(),
  /** Base output directory; each stage writes `<out>/<stage name>`. */
  out: z.string().default('runs/runbook'),
  defaults: z.record(z.string(), z.unknown()).default({}),
  stages: z.array(StageSchema).min(1),
}).strict();
export type Runbook = z.infer<typeof RunbookSchema>;
export type Stage = z.infer<typeof StageSchema>;

const isPlain = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** `defaults` then `stage` keys; plain objects (data, checkpoint, …) merge one level deep. */
export function mergeStage(defaults: Record<string, unknown>, stage: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...defaults };
  for (const [k, v] of Object.entries(stage)) {
    const d = out[k];
    out[k] = isPlain(d) && isPlain(v) && k !== 'schedule' ? { ...d, ...v } : v;
  }
  return out;
}

/** The merged (not yet initFrom-resolved) config input of stage `i`. */
export function stageInput(rb: Runbook, i: number): Record<string, unknown> {
  const { name, initFrom, out, ...rest } = rb.stages[i];
  void name; void initFrom; void out;
  return mergeStage(rb.defaults, rest);
}

/** `a.b[2].c` from an issue's path. */
function keyPath(path: readonly PropertyKey[]): string {
  let p = '';
  for (const k of path) p += typeof k === 'number' ? `[${k}]` : p ? `.${String(k)}` : String(k);
  return p;
}

type Issue = z.ZodError['issues'][number];

/** `a.b[2].c: message` lines for every issue (`prefix(issue)` is put before each path). */
export function configIssues(err: z.ZodError, prefix: (i: Issue) => string = () => ''): string[] {
  return err.issues.map((i) => {
    const p = prefix(i) + keyPath(i.path);
    const keys = (i as { keys?: string[] }).keys;
    let msg = i.message;
    if (i.code === 'unrecognized_keys' && keys) msg = `unknown key${keys.length > 1 ? 's' : ''} ${keys.map((k) => `"${k}"`).join(', ')}`;
    else if (i.code === 'invalid_type' && /received undefined/.test(i.message)) msg = 'missing (required)';
    return `  ${p.replace(/\.$/, '') || '(top level)'}: ${msg}`;
  });
}

export function formatConfigError(err: z.ZodError, what = 'config'): string {
  return `invalid ${what}:\n${configIssues(err).join('\n')}`;
}

export class ConfigError extends Error {}

export function parseTrainConfig(input: unknown, what = 'train config'): TrainConfig {
  const r = TrainConfigSchema.safeParse(input);
  if (!r.success) throw new ConfigError(formatConfigError(r.error, what));
  return r.data;
}

export function parseRunbook(input: unknown, what = 'runbook'): Runbook {
  const r = RunbookSchema.safeParse(input);
  if (!r.success) throw new ConfigError(formatConfigError(r.error, what));
  const rb = r.data;
  const problems: string[] = [];
  const names = new Set<string>();
  rb.stages.forEach((s, i) => {
    if (names.has(s.name)) problems.push(`  stages[${i}].name: duplicate stage name "${s.name}"`);
    names.add(s.name);
    const c = TrainConfigSchema.safeParse({ ...stageInput(rb, i), initFrom: null });
    if (!c.success) {
      // name the key where the user wrote it: in the stage, or in defaults
      const where = (iss: Issue): string => {
        const keys = (iss as { keys?: string[] }).keys;
        const top = iss.path.length ? String(iss.path[0]) : keys?.[0];
        if (iss.code === 'invalid_type' && iss.path.length === 1 && !(top! in s) && !(top! in rb.defaults)) return `stages[${i}].`;
        return top !== undefined && top in s ? `stages[${i}].` : 'defaults.';
      };
      for (const line of configIssues(c.error, where)) if (!problems.includes(line)) problems.push(line);
    }
  });
  if (problems.length) throw new ConfigError(`invalid ${what}:\n${problems.join('\n')}`);
  return rb;
}

function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v && typeof v === 'object') return Object.fromEntries(Object.keys(v).sort().map((k) => [k, canonical((v as Record<string, unknown>)[k])]));
  return v;
}

/**
 * Hash of what determines the training trajectory (model, data, optimizer, learning rates,
 * schedule, seed, batch size, freezing). Not hashed: epochs, early stopping, checkpoint policy,
 * out, resume, device, threads, maxSteps — changing those and resuming is legitimate.
 */
export function configHash(c: TrainConfig): string {
  const { model, data, batchSize, optimizer, lr, lrGroups, momentum, weightDecay, freeze, schedule, seed, initFrom, initGroups } = c;
  const json = JSON.stringify(canonical({ model, data, batchSize, optimizer, lr, lrGroups, momentum, weightDecay, freeze, schedule, seed, initFrom, initGroups }));
  return crypto.createHash('sha256').update(json).digest('hex').slice(0, 16);
}
