// The datasets a train config names, with what travels with the run: class names (the number of
// classes always comes from them) and the image preprocessing predict/export reproduce. Sources:
// images from disk (data.path: class folders, images + CSV, YOLO), the built-ins (glyphs, mnist)
// or a user module's dataset factory (data.name `./data/mine.ts#shapes`).
import type { Batch, Dataset, TensorDataset } from '../data/dataset.js';
import { trainValSplit } from '../data/dataset.js';
import { augmentActive } from '../data/augment.js';
import { diskDatasets, trainView } from '../data/disk-datasets.js';
import { DataError } from '../data/errors.js';
import { glyphDataset, GLYPH_CLASSES } from '../data/glyphs.js';
import type { ImageData } from '../data/image-dataset.js';
import { mnistDatasets } from '../data/mnist-digits.js';
import { DEFAULT_BUDGET_BYTES } from '../engine/device-data.js';
import type { TrainConfig } from './config.js';
import { grayPreprocess, loadUserDatasets, type Preprocess, type RunDatasets } from './data-source.js';
import { modelContext, type ModelContext, type ModelSpec } from './models.js';
import { tensorRows } from './resident-data.js';

const MNIST_CLASSES = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];

/** Built-in datasets: glyphs (generated from data.seed) or MNIST, split train/val; the training view augmented when asked. */
export function buildDatasets(cfg: TrainConfig): { train: Dataset; val?: Dataset; classNames: string[] } {
  const d = cfg.data;
  if (d.name === 'mnist') {
    const nVal = Math.round(d.n * d.valFraction);
    const m = mnistDatasets(d.n - nVal, Math.max(nVal, 1));
    return { train: trainView(m.train, null, d.augment), val: nVal > 0 ? m.test : undefined, classNames: [...MNIST_CLASSES] };
  }
  if (d.name !== 'glyphs') throw new Error(`data.name ${d.name} is a module: use loadDatasets()`);
  const all = glyphDataset({ n: d.n, seed: d.seed, size: d.size, noise: d.noise as [number, number], clutter: d.clutter });
  const { train, val } = trainValSplit(all, d.valFraction, d.seed);
  return { train: trainView(all, train.indices, d.augment), val: val.length ? val : undefined, classNames: [...GLYPH_CLASSES] };
}

/** How a disk dataset's image files became its `image` column (for predict and export). */
function diskPreprocess(img: ImageData, cfg: TrainConfig): Preprocess {
  const c = img.channels;
  const per = (v: number[] | undefined, fallback: number) => Array.from({ length: c }, (_, i) => v?.[i] ?? v?.[0] ?? fallback);
  return { channels: c, height: img.size, width: img.size, resize: cfg.data.resize ?? 'stretch', scale: 1 / 255, mean: per(cfg.data.mean, 0), std: per(cfg.data.std, 1) };
}

/** The datasets of `cfg`: from disk, built-in or a user module's. */
export async function loadDatasets(cfg: TrainConfig, log?: (message: string) => void): Promise<RunDatasets> {
  const d = cfg.data;
  if (augmentActive(d.augment)) log?.(`Augmenting training images (seeded by seed ${cfg.seed}, epoch and sample): ${Object.entries(d.augment).filter(([, v]) => v > 0).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  if (d.path !== undefined) {
    const r = await diskDatasets({
      path: d.path, ann: d.ann, format: d.format, size: d.size, channels: d.channels, resize: d.resize, mean: d.mean, std: d.std,
      classes: d.classes, cacheDir: d.cacheDir, valFraction: d.valFraction, seed: d.seed, augment: d.augment, log,
    });
    return { train: r.train, val: r.val, classNames: r.data.classes, preprocess: diskPreprocess(r.data, cfg), image: r.data };
  }
  if (d.name !== 'glyphs' && d.name !== 'mnist') return loadUserDatasets(cfg);
  const b = buildDatasets(cfg);
  return { ...b, preprocess: grayPreprocess(d.name === 'mnist' ? 28 : d.size) };
}

/** Datasets handed to train(): their class names, else those of the configured built-in data. */
export function givenDatasets(d: { train: Dataset; val?: Dataset; classNames?: string[] }, cfg: TrainConfig): RunDatasets {
  const own = d.classNames ?? (d.train as { classNames?: string[] }).classNames;
  if (own) return { train: d.train, val: d.val, classNames: own, preprocess: null };
  const name = cfg.data.name;
  if (cfg.data.path === undefined && (name === 'glyphs' || name === 'mnist')) return { train: d.train, val: d.val, classNames: name === 'mnist' ? [...MNIST_CLASSES] : [...GLYPH_CLASSES], preprocess: null };
  throw new Error('train(): the datasets given have no class names; pass datasets: { train, val, classNames }');
}

/** What the model factory learns from the data: classes, the input column's shape, boxes or not. */
export function contextFromData(cfg: TrainConfig, classNames: string[], sample: Record<string, { shape: number[] }>): ModelContext {
  const input = sample.image ? 'image' : Object.keys(sample)[0];
  return modelContext({ classes: classNames, inputShape: sample[input].shape.slice(1), task: sample.box ? 'detection' : 'classification', options: cfg.modelOptions });
}

/** A model whose loss reads a column the data lacks (a detector on class folders) gets a message that says what to use. */
export function checkModelFits(spec: ModelSpec, sample: Batch, cfg: TrainConfig, image?: ImageData): void {
  const missing = spec.loss.targets.filter((t) => !sample[t]);
  if (!missing.length) return;
  const where = image ? `${image.identity.root} is a ${image.task} dataset` : 'the dataset';
  if (missing.includes('box')) throw new DataError(`model "${cfg.model}" is a detector and needs a box per image, but ${where} without boxes: give the annotation CSV (--ann FILE with filename,class,x,y,w,h), or a model that classifies`);
  throw new DataError(`model "${cfg.model}": its loss reads ${missing.join(', ')}, which ${where} does not have (it has ${Object.keys(sample).join(', ')})`);
}

/**
 * The in-memory dataset the engine holds whole (stepIndices), or undefined: not a view of one, or
 * too big as float32 inputs (a 4× copy of uint8 images); those are fed batch by batch instead.
 */
export function residentBase(ds: Dataset, warn: (m: string) => void, limit = DEFAULT_BUDGET_BYTES): TensorDataset | undefined {
  const r = tensorRows(ds);
  if (!r) return undefined;
  const bytes = Object.values(r.base.columns).reduce((sum, c) => sum + c.data.length * (c.transform ? 4 : c.data.BYTES_PER_ELEMENT), 0);
  if (bytes <= limit) return r.base;
  const gib = (b: number) => `${(b / 2 ** 30).toFixed(1)} GiB`;
  warn(`The dataset takes ${gib(bytes)} as float32 inputs, over ${gib(limit)}: batches are made from the uint8 images step by step instead of holding it whole`);
  return undefined;
}
