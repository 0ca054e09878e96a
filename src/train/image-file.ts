// An image file (PNG, JPEG, WebP, …) → the model's input tensor as a run's Preprocess describes it.
// Decoded and resized by the datasets' own decoder (src/data/image-decode.ts: sharp, the same
// stretch/letterbox geometry, EXIF orientation ignored), so predict sees exactly the pixels the
// run trained on; then scaled and normalised per channel into [C, H, W] float32.
import { decodeInto, imageInfo, loadSharp } from '../data/image-decode.js';
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
  if (p.width !== p.height) throw new Error(`preprocessing: ${p.width}×${p.height} images; drivetrain's image decoder makes square images`);
  const c = p.channels, hw = p.width * p.height;
  const pixels = new Uint8Array(c * hw);
  let info;
  try {
    info = await imageInfo(file);
    await decodeInto(file, info, { size: p.width, channels: c, resize: p.resize }, pixels, 0);
  } catch (e) {
    throw new Error(`${file}: not a readable image (${(e as Error).message})`);
  }
  const out = new Float32Array(c * hw);
  for (let ch = 0; ch < c; ch++) {
    const mean = p.mean[ch] ?? p.mean[0] ?? 0, std = p.std[ch] ?? p.std[0] ?? 1;
    for (let i = 0; i < hw; i++) out[ch * hw + i] = (pixels[ch * hw + i] * p.scale - mean) / std;
  }
  return { data: out, width: info.width, height: info.height };
}

/** Writes interleaved uint8 pixels (H × W × channels) as a PNG. */
export async function writePng(file: string, pixels: Uint8Array, p: Pick<Preprocess, 'width' | 'height' | 'channels'>): Promise<void> {
  const sharp = await loadSharp();
  await sharp(Buffer.from(pixels.buffer, pixels.byteOffset, pixels.byteLength), { raw: { width: p.width, height: p.height, channels: p.channels as 1 | 3 } } as never).png().toFile(file);
}
