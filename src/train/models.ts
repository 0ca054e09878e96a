// Models by name, the same way for built-ins and a user's own module: `createModel('resnet18', ctx)`
// or `resolveModel('./models/mine.ts#detector', ctx)`. Every factory gets a ModelContext made
// from the dataset (class names, input shape, whether there are boxes) and `modelOptions`.
// Built-ins: `glyph` (small CNN), `glyph-tiny` (MLP, for fast tests), `mnist` (small CNN
// classifier), `resnet18` / `resnet34` / `resnet` (BasicBlock ResNets, torchvision names under
// `backbone.`). Each is a Detector when the data has boxes, else a Classifier.
import { Conv2d, Flatten, Linear, MaxPool2d, ReLU, Sequential } from '../nn/layers.js';
import { crossEntropy, type Loss } from '../nn/loss.js';
import { Module } from '../nn/module.js';
import { ResNet, type ResNetOptions } from '../nn/resnet.js';
import { classifierSpec, detectionLoss, detectorSpec, type ModelSpec, type Task } from './detector.js';
import { isModuleRef, loadUserExport } from './user-module.js';

export type { ModelSpec } from './detector.js';

/** What a model factory knows about the data it will train on. */
export interface ModelContext {
  /** Class names from the dataset (their count is the number of classes). */
  classNames: string[];
  classes: number;
  /** Per-sample shape of the model's input column, e.g. [1, 32, 32]. */
  inputShape: number[];
  /** inputShape[0] and inputShape[1] for images [C, H, W]. */
  channels: number;
  size: number;
  /** 'detection' when the dataset has a `box` column, else 'classification'. */
  task: Task;
  /** `modelOptions` of the config (e.g. { width: 16, stem: 'small' }). */
  options: Record<string, unknown>;
}

/** A user module's export: a spec, or a factory of one. */
export type ModelFactory = (ctx: ModelContext) => ModelSpec | Promise<ModelSpec>;

/** A context from partial facts: `classes` as names or a count (names are then "0", "1", …). */
export function modelContext(c: { classes: number | readonly string[]; inputShape?: number[]; size?: number; channels?: number; task?: Task; options?: Record<string, unknown> }): ModelContext {
  const classNames = typeof c.classes === 'number' ? Array.from({ length: c.classes }, (_, i) => String(i)) : [...c.classes];
  const size = c.size ?? c.inputShape?.[1] ?? 32;
  const channels = c.channels ?? c.inputShape?.[0] ?? 1;
  return { classNames, classes: classNames.length, inputShape: c.inputShape ?? [channels, size, size], channels, size, task: c.task ?? 'detection', options: c.options ?? {} };
}

/** A full context, or partial facts for modelContext() (e.g. { size: 32, classes: 12 }). */
export type ContextInput = ModelContext | Parameters<typeof modelContext>[0];
const asContext = (c: ContextInput): ModelContext => ('classNames' in c && 'options' in c && 'task' in c ? (c as ModelContext) : modelContext(c));

function opt<T>(ctx: ModelContext, key: string, fallback: T, check: (v: unknown) => boolean, want: string): T {
  const v = ctx.options[key];
  if (v === undefined) return fallback;
  if (!check(v)) throw new Error(`modelOptions.${key}: expected ${want}, got ${JSON.stringify(v)}`);
  return v as T;
}
const posInt = (v: unknown) => Number.isInteger(v) && (v as number) > 0;

function taskSpec(ctx: ModelContext, backbone: Module, features: number): ModelSpec {
  return ctx.task === 'detection' ? detectorSpec(backbone, features, ctx.classes) : classifierSpec(backbone, features, ctx.classes);
}

/** Small CNN (3 conv + pool stages, fc 64) on [C, S, S] images. */
export function glyphModel(input: ContextInput): ModelSpec {
  const ctx = asContext(input);
  const w = opt(ctx, 'width', 16, posInt, 'a positive integer'), c = ctx.channels, s = ctx.size;
  const backbone = new Sequential({
    conv1: new Conv2d(c, w, 3, { padding: 1 }), relu1: new ReLU(), pool1: new MaxPool2d(2),
    conv2: new Conv2d(w, 2 * w, 3, { padding: 1 }), relu2: new ReLU(), pool2: new MaxPool2d(2),
    conv3: new Conv2d(2 * w, 2 * w, 3, { padding: 1 }), relu3: new ReLU(), pool3: new MaxPool2d(2),
    flatten: new Flatten(), fc: new Linear(2 * w * Math.floor(s / 8) ** 2, 64), relu4: new ReLU(), // each pool floors
  });
  return taskSpec(ctx, backbone, 64);
}

/** A tiny MLP on the same task (for fast tests). */
export function glyphTinyModel(c: ContextInput): ModelSpec {
  const ctx = asContext(c);
  const h = opt(ctx, 'hidden', 16, posInt, 'a positive integer');
  const backbone = new Sequential({ flatten: new Flatten(), fc: new Linear(ctx.inputShape.reduce((a, b) => a * b, 1), h), relu: new ReLU() });
  return taskSpec(ctx, backbone, h);
}

/** MNIST-sized CNN classifier (2 conv + pool stages, fc 64); always a Classifier. */
export function mnistModel(c: ContextInput): ModelSpec {
  const ctx = asContext(c);
  const w = opt(ctx, 'width', 8, posInt, 'a positive integer'), s = ctx.size;
  const backbone = new Sequential({
    conv1: new Conv2d(ctx.channels, w, 3, { padding: 1 }), relu1: new ReLU(), pool1: new MaxPool2d(2),
    conv2: new Conv2d(w, 2 * w, 3, { padding: 1 }), relu2: new ReLU(), pool2: new MaxPool2d(2),
    flatten: new Flatten(), fc: new Linear(2 * w * Math.floor(s / 4) ** 2, 64), relu3: new ReLU(),
  });
  return classifierSpec(backbone, 64, ctx.classes);
}

/** ResNet backbone (torchvision names under `backbone.`) with the task's head; options width, stem, layers. */
export function resnetModel(c: ContextInput, layers?: number[]): ModelSpec {
  const ctx = asContext(c);
  const o: ResNetOptions = {
    layers: layers ?? opt(ctx, 'layers', [2, 2, 2, 2], (v) => Array.isArray(v) && v.length > 0 && v.every(posInt), 'block counts per stage, e.g. [2, 2, 2, 2]'),
    width: opt(ctx, 'width', 64, posInt, 'a positive integer'),
    stem: opt(ctx, 'stem', 'imagenet' as const, (v) => v === 'imagenet' || v === 'small', '"imagenet" or "small"'),
    inChannels: ctx.channels,
  };
  if (layers && ctx.options.layers !== undefined) throw new Error('modelOptions.layers: resnet18/resnet34 fix the layers; use model "resnet" to choose them');
  const backbone = new ResNet(o);
  return taskSpec(ctx, backbone, backbone.features);
}

export const MODELS: Record<string, ModelFactory> = {
  glyph: glyphModel,
  'glyph-tiny': glyphTinyModel,
  mnist: mnistModel,
  resnet18: (ctx) => resnetModel(ctx, [2, 2, 2, 2]),
  resnet34: (ctx) => resnetModel(ctx, [3, 4, 6, 3]),
  resnet: (ctx) => resnetModel(ctx),
};


/** A built-in model. `ctx` may be partial, e.g. { size: 32, classes: 12 }. */
export function createModel(name: string, ctx: ContextInput): ModelSpec {
  const f = MODELS[name];
  if (!f) throw new Error(`model: unknown model "${name}" (known: ${Object.keys(MODELS).join(', ')}; or your own module as "./path/file.ts#export")`);
  const spec = f(asContext(ctx));
  if (spec instanceof Promise) throw new Error(`model ${name}: the factory is async; use resolveModel()`);
  return spec;
}

/** A built-in name or a user module (`./models/mine.ts#detector`) as a checked ModelSpec. */
export async function resolveModel(ref: string, ctx: ContextInput): Promise<ModelSpec> {
  const c = asContext(ctx);
  if (!isModuleRef(ref)) return createModel(ref, c);
  const value = await loadUserExport(ref, 'model');
  const made = typeof value === 'function' ? await (value as ModelFactory)(c) : value;
  return checkSpec(made, ref, c);
}

const isModule = (m: unknown): m is Module<any, any> =>
  !!m && typeof (m as Module).forward === 'function' && typeof (m as Module).parameters === 'function' && typeof (m as Module).namedChildren === 'function';

/**
 * A user's spec with defaults filled in: `input` 'image', `loss` by task (detection when the model
 * returns { cls, box }), `groups` the top-level children with parameters, no metric renames.
 */
export function checkSpec(value: unknown, ref: string, ctx: ModelContext): ModelSpec {
  const where = `model ${ref}`;
  const v = (isModule(value) ? { model: value } : value) as Partial<ModelSpec> | null;
  if (!v || typeof v !== 'object' || !isModule(v.model)) {
    throw new Error(`${where}: expected a model spec { model, loss?, input?, groups? }, a Module, or a function (ctx) returning one; got ${value === null ? 'null' : typeof value}`);
  }
  const model = v.model;
  const own = model.parameters().filter((p) => p.module === model).map((p) => p.name);
  if (!v.groups && own.length) throw new Error(`${where}: the root module has its own parameters (${own.join(', ')}); give the spec groups (parameter-name prefixes), or put them in child modules`);
  const groups = v.groups ?? model.namedChildren().filter(([, m]) => m.parameters().length > 0).map(([n]) => n);
  if (!groups.length) throw new Error(`${where}: the model has no parameters`);
  for (const gname of groups) {
    if (typeof gname !== 'string') throw new Error(`${where}: groups must be parameter-name prefixes (strings), got ${JSON.stringify(gname)}`);
  }
  const task = v.task ?? ctx.task;
  const loss: Loss = v.loss ?? (task === 'detection' ? detectionLoss() : crossEntropy({ target: 'label' }));
  if (!Array.isArray(loss.targets) || typeof loss.build !== 'function') throw new Error(`${where}: loss must be a drivetrain Loss ({ targets, build }), e.g. crossEntropy({ target: 'label' })`);
  const rename = v.rename ?? (v.loss ? {} : task === 'detection' ? { cls_accuracy: 'acc' } : { accuracy: 'acc' });
  return { model, loss, input: v.input ?? 'image', groups, rename, task };
}
