// The datasets of a train config with what travels with the run: class names (the number of
// classes always comes from here) and the image preprocessing that predict/export reproduce.
// data.name: a built-in (glyphs, mnist; see buildDatasets) or a user module exporting a dataset
// factory, `./data/mine.ts#shapes`: (ctx) => a Dataset with `classNames`, or
// { train, val?, classNames, preprocess? }; a single dataset is split by data.valFraction / seed.
import { trainValSplit, type Dataset } from '../data/dataset.js';
import type { ImageData } from '../data/image-dataset.js';
import type { ResizeMode } from '../data/image-decode.js';
import type { TrainConfig } from './config.js';
import { loadUserExport } from './user-module.js';

/** How an image file becomes the model's input: value = (pixel · scale − mean[c]) / std[c], pixel 0…255, layout [C, H, W]. */
export interface Preprocess {
  /** 1: grayscale, 3: RGB. */
  channels: number;
  height: number;
  width: number;
  /** Images of another size: 'stretch' to height × width, or 'letterbox' (aspect kept, black padding). */
  resize: ResizeMode;
  scale: number;
  mean: number[];
  std: number[];
}

export interface RunDatasets {
  train: Dataset;
  val?: Dataset;
  classNames: string[];
  /** null when the input is not an image (or the factory did not say). */
  preprocess: Preprocess | null;
  /** A dataset from disk (data.path): its layout, identity and decode cache. */
  image?: ImageData;
}

/** What a dataset factory gets. */
export interface DatasetContext {
  n: number;
  seed: number;
  valFraction: number;
  size: number;
  /** data.options of the config. */
  options: Record<string, unknown>;
  config: TrainConfig;
}

export type DatasetFactory = (ctx: DatasetContext) => unknown;

const isDataset = (d: unknown): d is Dataset => !!d && typeof (d as Dataset).length === 'number' && typeof (d as Dataset).getBatch === 'function';

/** Grayscale [1, S, S] images scaled to [0, 1], as the built-in datasets are. */
export function grayPreprocess(size: number): Preprocess {
  return { channels: 1, height: size, width: size, resize: 'stretch', scale: 1 / 255, mean: [0], std: [1] };
}

/** The datasets of a user module named by data.name (`./data/mine.ts#shapes`). */
export async function loadUserDatasets(cfg: TrainConfig): Promise<RunDatasets> {
  const name = cfg.data.name;
  const factory = await loadUserExport(name, 'data.name');
  const d = cfg.data;
  const made = typeof factory === 'function' ? await (factory as DatasetFactory)({ n: d.n, seed: d.seed, valFraction: d.valFraction, size: d.size, options: d.options ?? {}, config: cfg }) : factory;
  return userDatasets(made, name, cfg);
}

function userDatasets(made: unknown, ref: string, cfg: TrainConfig): RunDatasets {
  const where = `data.name ${ref}`;
  const obj = made as { train?: unknown; val?: unknown; classNames?: unknown; preprocess?: unknown } | null;
  let train: Dataset, val: Dataset | undefined;
  if (isDataset(made)) {
    const split = trainValSplit(made, cfg.data.valFraction, cfg.data.seed);
    train = split.train;
    val = split.val.length ? split.val : undefined;
  } else if (obj && isDataset(obj.train)) {
    train = obj.train;
    if (obj.val !== undefined && !isDataset(obj.val)) throw new Error(`${where}: val must be a Dataset ({ length, getBatch })`);
    val = obj.val as Dataset | undefined;
  } else {
    throw new Error(`${where}: the factory must return a Dataset ({ length, getBatch }) or { train, val?, classNames }; got ${made === null ? 'null' : typeof made}`);
  }
  const names = obj?.classNames ?? (train as { classNames?: unknown }).classNames;
  if (!Array.isArray(names) || !names.length || names.some((n) => typeof n !== 'string')) {
    throw new Error(`${where}: give the class names (the number of classes comes from them): return { train, val, classNames: ['cat', 'dog', …] } or a dataset with a classNames array`);
  }
  return { train, val, classNames: names as string[], preprocess: (obj?.preprocess as Preprocess | undefined) ?? null };
}
