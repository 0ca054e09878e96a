// An image file (PNG, JPEG, WebP, …) → the model's input tensor as a run's Preprocess describes it:
// decoded and resized with sharp (libvips), converted to grayscale or RGB, [C, H, W] float32.
// Kept in one small function so the image loader of the datasets can share or replace it.
import sharp from 'sharp';
import type { Preprocess } from './data-source.js';

export interface ImageInput {
  /** [C, H, W] values after preprocessing. */
  data: Float32Array;
  /** The file's own size in pixels (boxes are reported in it). */
  width: number;
  height: number;
}

export async function readImageInput(file: string, p: Preprocess): Promise<ImageInput> {
  if (p.channels !== 1 && p.channels !== 3) throw new Error(`preprocessing: ${p.channels} channels; images can be read as 1 (grayscale) or 3 (RGB)`);
  let img;
  let meta;
  try {
    img = sharp(file, { failOn: 'error' });
    meta = await img.metadata();
  } catch (e) {
    throw new Error(`${file}: not a readable image (${(e as Error).message})`);
  }
  const width = meta.autoOrient?.width ?? meta.width ?? 0, height = meta.autoOrient?.height ?? meta.height ?? 0;
  let pipe = img.autoOrient().removeAlpha();
  pipe = p.channels === 1 ? pipe.greyscale() : pipe.toColourspace('srgb');
  if (width !== p.width || height !== p.height) pipe = pipe.resize(p.width, p.height, { fit: 'fill' });
  const { data, info } = await pipe.raw().toBuffer({ resolveWithObject: true });
  if (info.channels !== p.channels || info.width !== p.width || info.height !== p.height) {
    throw new Error(`${file}: decoded to ${info.width}×${info.height}×${info.channels}, expected ${p.width}×${p.height}×${p.channels}`);
  }
  const hw = p.width * p.height;
  const out = new Float32Array(p.channels * hw);
  for (let c = 0; c < p.channels; c++) {
    const mean = p.mean[c] ?? p.mean[0] ?? 0, std = p.std[c] ?? p.std[0] ?? 1;
    for (let i = 0; i < hw; i++) out[c * hw + i] = (data[i * p.channels + c] * p.scale - mean) / std;
  }
  return { data: out, width, height };
}

/** Writes interleaved uint8 pixels (H × W × channels) as a PNG. */
export async function writePng(file: string, pixels: Uint8Array, p: Pick<Preprocess, 'width' | 'height' | 'channels'>): Promise<void> {
  await sharp(Buffer.from(pixels.buffer, pixels.byteOffset, pixels.byteLength), { raw: { width: p.width, height: p.height, channels: p.channels as 1 | 3 } }).png().toFile(file);
}
