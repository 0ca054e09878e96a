// Notebook cells after training: exportModel(), predict(), evaluate(), sampleImages(). A stage is
// named as in the other helpers (runbook stage name or index), or a run/checkpoint folder is
// given; each shows a table and returns the data (the CLI's export / predict / evaluate).
import fs from 'node:fs';
import path from 'node:path';
import type { PrefixMap } from '../engine/interop.js';
import { loadRunbook, stageIndex, stageOut, withRunName } from '../train/runbook.js';
import { evaluateRun, exportRun, predictImages, writeSampleImages, type ExportResult, type Prediction } from '../train/predict.js';
import { DEFAULT_RUNBOOK, userError } from './cells.js';
import { showHtml } from './display.js';
import { htmlTable, textTable, type Cell } from './html.js';

export interface StageRef {
  runbook?: string;
  run?: string;
  /** 'best' (default: best, else newest), 'last', a checkpoint name or a path. */
  checkpoint?: string;
}

/** Runs `f`; its errors are shown as one message without a stack trace (they name the cause and the fix). */
async function guard<T>(what: string, f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    throw userError(`${what}: ${(e as Error).message ?? String(e)}`);
  }
}

/** The run folder of a stage (name or index), or `stage` itself when it is a folder. */
export function stageDir(stage: string | number, ref: StageRef = {}): string {
  if (typeof stage === 'string' && fs.existsSync(stage) && fs.statSync(stage).isDirectory()) return stage;
  const rb = withRunName(loadRunbook(ref.runbook ?? DEFAULT_RUNBOOK), ref.run);
  return stageOut(rb, stageIndex(rb, stage));
}

function table(headers: string[], rows: Cell[][], caption?: string): void {
  showHtml(htmlTable(headers, rows, caption), textTable(headers, rows, caption));
}

/** Writes the stage's model as ONNX and its weights as a PyTorch state_dict (default: `<run>/export/model.{onnx,safetensors}`). */
export async function exportModel(stage: string | number, opts: StageRef & { onnx?: string | false; safetensors?: string | false; map?: PrefixMap } = {}): Promise<ExportResult> {
  return guard('export', () => exportCell(stage, opts));
}

async function exportCell(stage: string | number, opts: StageRef & { onnx?: string | false; safetensors?: string | false; map?: PrefixMap }): Promise<ExportResult> {
  const dir = stageDir(stage, opts);
  const onnx = opts.onnx === false ? undefined : opts.onnx ?? path.join(dir, 'export', 'model.onnx');
  const safetensors = opts.safetensors === false ? undefined : opts.safetensors ?? path.join(dir, 'export', 'model.safetensors');
  const r = await exportRun(dir, { checkpoint: opts.checkpoint, onnx, safetensors, map: opts.map });
  const rows: Cell[][] = [['checkpoint', `${r.checkpoint} (global step ${r.globalStep})`]];
  if (r.onnx) rows.push(['ONNX model', `${r.onnx.path} (${(r.onnx.bytes / 1e6).toFixed(2)} MB, ${r.onnx.dynamicBatch ? 'dynamic' : 'fixed'} batch)`], ['inputs → outputs', `${r.onnx.inputs.join(', ')} → ${r.onnx.outputs.join(', ')}`], ['classes', JSON.parse(r.onnx.metadata.classes).join(', ')]);
  if (r.safetensors) rows.push(['PyTorch weights', `${r.safetensors.path} (${r.safetensors.tensors.length} tensors; safetensors.torch.load_file + load_state_dict)`]);
  table([], rows, 'Export');
  return r;
}

/** Predicts image files (PNG, JPEG, …) with the stage's model. */
export async function predict(stage: string | number, images: string[], opts: StageRef & { top?: number } = {}): Promise<Prediction[]> {
  const preds = await guard('predict', () => predictImages(stageDir(stage, opts), images, { checkpoint: opts.checkpoint, top: opts.top }));
  const hasBox = preds.some((p) => p.box);
  table(['image', 'prediction', 'p', ...(hasBox ? ['box (x, y, w, h px)'] : []), 'top'], preds.map((p) => [
    path.basename(p.file), p.label, p.score, ...(hasBox ? [p.box ? [p.box.x, p.box.y, p.box.width, p.box.height].map((v) => v.toFixed(1)).join(', ') : '-'] : []),
    p.top.map((t) => `${t.label} ${t.score.toFixed(2)}`).join(', '),
  ]), 'Predictions');
  return preds;
}

/** Loss and metrics of the stage's checkpoint on its validation data. */
export async function evaluate(stage: string | number, opts: StageRef & { split?: 'val' | 'train' } = {}): Promise<Record<string, number>> {
  const r = await guard('evaluate', () => evaluateRun(stageDir(stage, opts), { checkpoint: opts.checkpoint, split: opts.split }));
  table(['metric', 'value'], Object.entries(r.metrics).map(([k, v]) => [k, v]), `Evaluation of ${r.checkpoint} on ${r.samples} ${r.split} samples`);
  return r.metrics;
}

/** Writes `n` validation samples of the stage's data as PNG files (default `<run>/samples/`), to try predict() on. */
export async function sampleImages(stage: string | number, opts: StageRef & { n?: number; dir?: string } = {}): Promise<{ file: string; label: string }[]> {
  return guard('sample images', async () => {
    const dir = stageDir(stage, opts);
    return writeSampleImages(dir, { dir: opts.dir ?? path.join(dir, 'samples'), n: opts.n, checkpoint: opts.checkpoint });
  });
}
