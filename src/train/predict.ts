// After training, from a run folder (or one checkpoint): export the model as ONNX (dynamic batch,
// class names and preprocessing in its metadata) and/or the weights as a PyTorch state_dict,
// predict image files, evaluate on the run's validation data. The CLI and the notebook helpers
// call these; every one opens the checkpoint through openRunModel (no optimizer, no train graph).
import fs from 'node:fs';
import path from 'node:path';
import { sequentialBatches } from '../data/sampler.js';
import type { DeviceRequest } from '../engine/backend.js';
import type { PrefixMap } from '../engine/interop.js';
import { writeStateDict } from '../engine/state-dict.js';
import type { Tensor } from '../tensor.js';
import { readImageInput, writePng } from './image-file.js';
import { loadDatasets } from './datasets.js';
import type { ModelSpec } from './detector.js';
import { openRunModel, readRunInfo, type RunModel } from './run-model.js';

export interface OpenOptions {
  /** 'best' (default: best, else newest), 'last', a checkpoint name, or a path. */
  checkpoint?: string;
  /** The model spec, for runs trained with a model passed in code (TrainOptions.model). */
  model?: ModelSpec;
  device?: DeviceRequest;
  threads?: number;
}

export interface ExportOptions extends OpenOptions {
  /** Write the inference model here (.onnx). */
  onnx?: string;
  /** Write the weights here as a PyTorch-named safetensors state_dict. */
  safetensors?: string;
  /** Renames state_dict names by prefix (e.g. { backbone: "" }; null drops, e.g. { head: null }). */
  map?: PrefixMap;
  /** Fixed batch size when the model's graph depends on it (default 1). */
  batchSize?: number;
}

export interface ExportResult {
  checkpoint: string;
  globalStep: number;
  onnx?: { path: string; bytes: number; dynamicBatch: boolean; inputs: string[]; outputs: string[]; metadata: Record<string, string> };
  safetensors?: { path: string; tensors: string[] };
}

/** What each model output means, for the export metadata. */
function describeOutputs(run: RunModel, outputs: string[]): Record<string, string> {
  const d: Record<string, string> = {};
  for (const o of outputs) {
    if (o === 'output_cls' || (o === 'output' && run.info.task === 'classification')) d[o] = `class logits [batch, ${run.info.classNames.length}] in the order of "classes" (softmax for probabilities)`;
    else if (o === 'output_box') d[o] = 'box [batch, 4] as (cx, cy, w, h), fractions of the image width and height';
    else d[o] = 'model output';
  }
  return d;
}

export async function exportRun(target: string, opts: ExportOptions): Promise<ExportResult> {
  if (!opts.onnx && !opts.safetensors) throw new Error('export: say what to write: an ONNX model (--onnx out.onnx) and/or PyTorch weights (--safetensors out.safetensors)');
  const run = await openRunModel(target, opts);
  try {
    const res: ExportResult = { checkpoint: run.dir, globalStep: run.globalStep };
    if (opts.onnx) {
      fs.mkdirSync(path.dirname(path.resolve(opts.onnx)), { recursive: true });
      const outputs = run.engine.toOnnx({ batchSize: opts.batchSize }).outputs;
      const metadata: Record<string, string> = {
        classes: JSON.stringify(run.info.classNames),
        task: run.info.task ?? 'other',
        input: JSON.stringify(run.info.input),
        outputs: JSON.stringify(describeOutputs(run, outputs)),
        source: JSON.stringify({ checkpoint: run.dir, globalStep: run.globalStep, model: run.config.model }),
      };
      if (run.info.preprocess) metadata.preprocessing = JSON.stringify({ ...run.info.preprocess, layout: 'NCHW', formula: '(pixel * scale - mean[c]) / std[c], pixel in 0..255' });
      const r = await run.engine.exportOnnx(opts.onnx, { batchSize: opts.batchSize, metadata, docString: `drivetrain export of ${run.dir} (global step ${run.globalStep})` });
      res.onnx = { path: opts.onnx, bytes: r.bytes.byteLength, dynamicBatch: r.dynamicBatch, inputs: r.inputs, outputs: r.outputs, metadata };
    }
    if (opts.safetensors) {
      fs.mkdirSync(path.dirname(path.resolve(opts.safetensors)), { recursive: true });
      const names = await writeStateDict(opts.safetensors, run.weights, { map: opts.map, numBatchesTracked: run.globalStep });
      res.safetensors = { path: opts.safetensors, tensors: names };
    }
    return res;
  } finally {
    await run.engine.release();
  }
}

export interface Prediction {
  file: string;
  /** Top class and its softmax probability. */
  label: string;
  score: number;
  top: { label: string; score: number }[];
  /** Detection models: the box as fractions (cx, cy, w, h) and in the file's pixels (x, y = top left). */
  box?: { cx: number; cy: number; w: number; h: number; x: number; y: number; width: number; height: number };
  /** Raw outputs for this image (logits, box). */
  outputs: Record<string, number[]>;
}

function softmax(logits: ArrayLike<number>): number[] {
  const m = Math.max(...Array.from(logits));
  const e = Array.from(logits, (v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

/** Predictions for model outputs of `n` inputs; `sizes` are the images' own sizes (for pixel boxes). */
export function decodePredictions(run: Pick<RunModel, 'info'>, out: Record<string, Tensor>, files: string[], sizes: { width: number; height: number }[], top = 3): Prediction[] {
  const logitsName = out.output_cls ? 'output_cls' : 'output';
  const logits = out[logitsName];
  if (!logits || logits.shape.length !== 2) throw new Error(`predict: the model has no class logits output (outputs: ${Object.keys(out).join(', ')})`);
  const c = logits.shape[1];
  const names = run.info.classNames;
  return files.map((file, i) => {
    const row = Array.from(logits.data as Float32Array).slice(i * c, (i + 1) * c);
    const p = softmax(row);
    const order = p.map((v, k) => [v, k] as const).sort((a, b) => b[0] - a[0]);
    const pred: Prediction = {
      file, label: names[order[0][1]] ?? String(order[0][1]), score: order[0][0],
      top: order.slice(0, top).map(([v, k]) => ({ label: names[k] ?? String(k), score: v })),
      outputs: Object.fromEntries(Object.entries(out).map(([k, t]) => { const per = t.data.length / t.shape[0]; return [k, Array.from(t.data as Float32Array).slice(i * per, (i + 1) * per)]; })),
    };
    if (out.output_box) {
      const [cx, cy, w, h] = Array.from(out.output_box.data as Float32Array).slice(i * 4, i * 4 + 4);
      const { width: W, height: H } = sizes[i];
      pred.box = { cx, cy, w, h, x: (cx - w / 2) * W, y: (cy - h / 2) * H, width: w * W, height: h * H };
    }
    return pred;
  });
}

/** Predicts image files with a run's model (decoded and preprocessed as the run recorded). */
export async function predictImages(target: string, files: string[], opts: OpenOptions & { top?: number; batchSize?: number } = {}): Promise<Prediction[]> {
  if (!files.length) throw new Error('predict: give one or more image files');
  for (const f of files) if (!fs.existsSync(f)) throw new Error(`predict: ${f} does not exist`);
  const run = await openRunModel(target, opts);
  try {
    const pre = run.info.preprocess;
    if (!pre) throw new Error(`predict: run ${target} did not record how its images are preprocessed (its dataset gave no preprocess); use predictTensors with your own input`);
    const out: Prediction[] = [];
    const bs = opts.batchSize ?? 16;
    for (let s = 0; s < files.length; s += bs) {
      const chunk = files.slice(s, s + bs);
      const imgs = await Promise.all(chunk.map((f) => readImageInput(f, pre)));
      const per = pre.channels * pre.height * pre.width;
      const data = new Float32Array(chunk.length * per);
      imgs.forEach((im, i) => data.set(im.data, i * per));
      const res = await run.engine.predict({ [run.info.input.name]: { dtype: 'float32', shape: [chunk.length, pre.channels, pre.height, pre.width], data } });
      out.push(...decodePredictions(run, res, chunk, imgs, opts.top));
    }
    return out;
  } finally {
    await run.engine.release();
  }
}

/** Loss and metrics of a run's checkpoint on its validation (or training) data, rebuilt from its config. */
export async function evaluateRun(target: string, opts: OpenOptions & { split?: 'val' | 'train'; batchSize?: number } = {}): Promise<{ checkpoint: string; globalStep: number; split: string; samples: number; metrics: Record<string, number> }> {
  const run = await openRunModel(target, opts);
  try {
    const data = await loadDatasets(run.config);
    const split = opts.split ?? 'val';
    const ds = split === 'train' ? data.train : data.val;
    if (!ds || !ds.length) throw new Error(`evaluate: the run's data has no ${split} samples (data.valFraction is ${run.config.data.valFraction}); use --split train`);
    const cols = [run.info.input.name, ...run.info.targets.map((t) => t.name)];
    const sums: Record<string, number> = {};
    for (const idx of sequentialBatches(ds.length, opts.batchSize ?? run.config.batchSize)) {
      const b = await ds.getBatch(idx);
      const m = await run.engine.evaluate(Object.fromEntries(cols.map((c) => [c, b[c]])));
      for (const [k, v] of Object.entries(m)) sums[k] = (sums[k] ?? 0) + v * idx.length;
    }
    const metrics: Record<string, number> = {};
    for (const [k, v] of Object.entries(sums)) metrics[`${split}_${run.spec.rename[k] ?? k}`] = v / ds.length;
    return { checkpoint: run.dir, globalStep: run.globalStep, split, samples: ds.length, metrics };
  } finally {
    await run.engine.release();
  }
}

/**
 * Writes `n` samples of a run's validation (or training) data as PNG files (the inverse of its
 * preprocessing), to try predict() on real files; returns the files with their true labels.
 */
export async function writeSampleImages(target: string, opts: { dir: string; n?: number; split?: 'val' | 'train'; checkpoint?: string }): Promise<{ file: string; label: string }[]> {
  const run = await readRunInfo(target, opts.checkpoint);
  const pre = run.info.preprocess;
  if (!pre) throw new Error(`sample images: run ${target} did not record an image preprocessing`);
  const data = await loadDatasets(run.config);
  const ds = (opts.split ?? 'val') === 'train' ? data.train : data.val ?? data.train;
  const n = Math.min(opts.n ?? 4, ds.length);
  const b = await ds.getBatch(Array.from({ length: n }, (_, i) => i));
  const img = b[run.info.input.name].data as Float32Array;
  const labels = b.label?.data as BigInt64Array | undefined;
  fs.mkdirSync(opts.dir, { recursive: true });
  const hw = pre.width * pre.height, per = pre.channels * hw;
  const out: { file: string; label: string }[] = [];
  for (let i = 0; i < n; i++) {
    const px = Buffer.alloc(per);
    for (let c = 0; c < pre.channels; c++) {
      const mean = pre.mean[c] ?? pre.mean[0] ?? 0, std = pre.std[c] ?? pre.std[0] ?? 1;
      for (let k = 0; k < hw; k++) px[k * pre.channels + c] = Math.max(0, Math.min(255, Math.round((img[i * per + c * hw + k] * std + mean) / pre.scale)));
    }
    const label = labels ? run.info.classNames[Number(labels[i])] ?? String(labels[i]) : '?';
    const file = path.join(opts.dir, `sample-${i}-${label}.png`);
    await writePng(file, px, pre);
    out.push({ file, label });
  }
  return out;
}
