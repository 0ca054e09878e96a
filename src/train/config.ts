// Training configuration and runbooks (zod). Errors name the key path, e.g.
// `stages[1].lrGroups.head: expected number, received string`.
import crypto from 'node:crypto';
import { z } from 'zod';
import { UserError } from '../errors.js';
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

/** Seeded augmentation of the training images (off unless set; validation is never augmented). */
export const AugmentSchema = z.object({
  /** Probability of a horizontal flip (boxes flip too). */
  hflip: z.number().min(0).max(1).default(0),
  /** Largest random shift per axis, as a fraction of the image side (boxes move too, never cut). */
  translate: z.number().min(0).max(0.5).default(0),
  /** Brightness factor from [1 − b, 1 + b]. */
  brightness: z.number().min(0).max(1).default(0),
  /** Contrast factor from [1 − c, 1 + c]. */
  contrast: z.number().min(0).max(1).default(0),
}).strict();

/** Keys that only datasets from disk (data.path) use. */
const DISK_KEYS = ['ann', 'format', 'channels', 'resize', 'mean', 'std', 'classes', 'cacheDir'] as const;

/** A built-in dataset, or a user module exporting a dataset factory: `./data/mine.ts#shapes` (see src/train/data-source.ts). */
export const DataNameSchema = z.union([z.enum(['glyphs', 'mnist']), z.string().regex(/#|\.(ts|mts|js|mjs)$/, 'use "glyphs", "mnist" or a module "./path/file.ts#export"')]);

export const DataSchema = z.object({
  name: DataNameSchema.default('glyphs'),
  /** Samples generated (glyphs) or loaded (mnist), before the validation split; built-in datasets only. */
  n: z.number().int().positive().default(4096),
  valFraction: z.number().min(0).lt(1).default(0.125),
  /** Glyph generation and the train/validation split. */
  seed: z.number().int().nonnegative().default(0),
  /** Image side: glyphs 32–64; images from disk are resized to size × size (`--img-size`). */
  size: z.number().int().min(8, 'images are at least 8×8 pixels (--img-size 8 or more)').max(1024, 'images are resized to at most 1024×1024 pixels (--img-size 1024 or less)').default(32),
  /** Glyph pixel noise: standard deviation range as a fraction of full scale. */
  noise: z.tuple([z.number().min(0), z.number().min(0)]).default([0.03, 0.12]),
  /** Glyphs: up to this many faint distractor strokes per image. */
  clutter: z.number().int().min(0).default(0),
  /** A dataset from disk (`--data DIR`): class sub-folders, images + `ann` CSV, or YOLO images/ + labels/. */
  path: z.string().min(1).optional(),
  /** Annotation CSV (`--ann`): filename,class,x,y,w,h (or x1,y1,x2,y2) in pixels, or filename,class. */
  ann: z.string().min(1).optional(),
  format: z.enum(['auto', 'folder', 'csv', 'yolo']).optional(),
  /** 1 (grayscale) or 3 (RGB); default 'auto': 1 when every image is stored grayscale. */
  channels: z.union([z.literal('auto'), z.literal(1), z.literal(3)]).optional(),
  /** 'stretch' (default) or 'letterbox' (keep the aspect ratio, pad with black). */
  resize: z.enum(['stretch', 'letterbox']).optional(),
  /** Per-channel mean and std of pixels in [0, 1] (one value or one per channel). */
  mean: z.array(z.number()).min(1).max(3).optional(),
  std: z.array(z.number().positive()).min(1).max(3).optional(),
  /** Class names in label order (default: sorted names found in the data, or its classes.txt). */
  classes: z.array(z.string().min(1)).min(1).optional(),
  /** Folder of the decoded-image cache (default ~/.cache/drivetrain/images); null: no cache. */
  cacheDir: z.string().min(1).nullable().optional(),
  augment: AugmentSchema.optional(),
  /** Passed to a user dataset factory as `options`. */
  options: z.record(z.string(), z.unknown()).optional(),
}).strict().superRefine((d, ctx) => {
  if (d.path === undefined) {
    for (const k of DISK_KEYS) if (d[k] !== undefined) ctx.addIssue({ code: 'custom', path: [k], message: 'applies to datasets from disk only: set data.path (--data DIR) too' });
    if (d.name === 'glyphs' && (d.size < 32 || d.size > 64)) ctx.addIssue({ code: 'custom', path: ['size'], message: `glyph images are 32–64 pixels, got ${d.size}` });
  } else if (d.name === 'mnist') {
    ctx.addIssue({ code: 'custom', path: ['name'], message: '"mnist" is a built-in dataset; leave data.name out when data.path names your own data' });
  } else if (d.name !== 'glyphs') {
    ctx.addIssue({ code: 'custom', path: ['name'], message: `data.name "${d.name}" (a dataset module) and data.path (--data) both name the data: keep one` });
  }
});

export const TrainConfigSchema = z.object({
  /** A model from the registry (src/train/models.ts: glyph, glyph-tiny, mnist, resnet18, resnet34, resnet) or a user module `./models/mine.ts#detector`. */
  model: z.string().default('glyph'),
  /** Options of the model factory (e.g. { "width": 16, "stem": "small" } for the resnets). */
  modelOptions: z.record(z.string(), z.unknown()).default({}),
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
  /** BatchNorm layers of the frozen groups keep their running statistics and normalise with them (PyTorch: `backbone.eval()`). */
  freezeBn: z.boolean().default(false),
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
  /** Renames `initFrom` names by prefix before matching, e.g. { "": "backbone.", "fc": null } for a torchvision state_dict (null drops). */
  initMap: z.record(z.string(), z.string().nullable()).nullable().default(null),
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

export const isPlain = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

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

/** A config, flag or runbook the user has to change; the message names the key and the fix. */
export class ConfigError extends UserError {}

/** A runbook stage that starts from an earlier stage's best checkpoint, which does not exist yet. */
export class StageOrderError extends ConfigError {
  /** `stageCount`: the runbook's number of stages (which notebook runs `needsStage` depends on it). */
  constructor(message: string, readonly needsStage: number, readonly stageCount?: number) {
    super(message);
  }
}

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

/** Keys hashed only when set, so runs from before they existed keep their hash. */
function optionalKeys(c: TrainConfig): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (Object.keys(c.modelOptions).length) out.modelOptions = c.modelOptions;
  if (c.initMap) out.initMap = c.initMap;
  if (c.freezeBn) out.freezeBn = true;
  return out;
}

/** The data keys each source reads (others are unused there and not hashed). */
const DATA_KEYS = {
  disk: ['path', 'ann', 'format', 'size', 'channels', 'resize', 'mean', 'std', 'classes', 'valFraction', 'seed'],
  glyphs: ['name', 'n', 'seed', 'size', 'noise', 'clutter', 'valFraction'],
  mnist: ['name', 'n', 'valFraction'],
  module: ['name', 'n', 'seed', 'size', 'valFraction', 'options'],
} as const;

let dataDefaults: Record<string, unknown> | undefined;

/** The data keys the run's source reads, without those at their default (so a new key with a default leaves old hashes alone). */
function hashedData(d: TrainConfig['data']): Record<string, unknown> {
  const source = d.path !== undefined ? 'disk' : d.name === 'glyphs' || d.name === 'mnist' ? d.name : 'module';
  dataDefaults ??= DataSchema.parse({}) as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const k of DATA_KEYS[source]) {
    const v = (d as Record<string, unknown>)[k];
    if (v !== undefined && JSON.stringify(v) !== JSON.stringify(dataDefaults[k])) out[k] = v;
  }
  const augment = Object.entries(d.augment ?? {}).filter(([, v]) => v !== 0);
  if (augment.length) out.augment = Object.fromEntries(augment);
  return out;
}

/** What a run is beyond its config, hashed with it: the model's parameters and the data as loaded. */
export interface RunIdentity {
  /** Parameter name → shape. */
  params: Record<string, number[]>;
  /** The class list in label order, the number of samples and, for images, their channels. */
  data: { classes: string[]; samples: number; channels?: number };
}

function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v && typeof v === 'object') return Object.fromEntries(Object.keys(v).sort().map((k) => [k, canonical((v as Record<string, unknown>)[k])]));
  return v;
}

/**
 * Hash of what determines the training trajectory (model and its parameter shapes, the data the
 * source reads and its class list, optimizer, learning rates, schedule, seed, batch size,
 * freezing). Not hashed: epochs, early stopping, checkpoint policy, out, resume, device,
 * threads, maxSteps — changing those and resuming is legitimate — nor data keys the source does
 * not read or that are at their default.
 */
export function configHash(c: TrainConfig, identity?: RunIdentity): string {
  const { model, batchSize, optimizer, lr, lrGroups, momentum, weightDecay, freeze, schedule, seed, initFrom, initGroups } = c;
  const json = JSON.stringify(canonical({
    model, data: hashedData(c.data), batchSize, optimizer, lr, lrGroups, momentum, weightDecay, freeze, schedule, seed, initFrom, initGroups,
    ...optionalKeys(c), ...(identity ? { params: identity.params, dataset: identity.data } : {}),
  }));
  return crypto.createHash('sha256').update(json).digest('hex').slice(0, 16);
}
