// Image files → fixed-size uint8 CHW pixels, with sharp (libvips; prebuilt binaries ship inside
// its npm packages). sharp is loaded on first use, so built-in datasets never load it.
// EXIF orientation is ignored (as PIL's Image.open): boxes refer to the pixels as stored.
import type { Sharp } from 'sharp';

type SharpFn = (input?: string | Buffer, options?: { failOn?: 'none' | 'truncated' | 'error' | 'warning' }) => Sharp;
type SharpModule = SharpFn & { cache(on: boolean): unknown; versions: Record<string, string | undefined> };

let sharpModule: Promise<SharpModule> | null = null;

export function loadSharp(): Promise<SharpModule> {
  sharpModule ??= import('sharp').then((m) => {
    const s = ((m as { default?: unknown }).default ?? m) as SharpModule;
    s.cache(false); // libvips' operation cache would keep stale files and memory; every file is read once anyway
    return s;
  });
  return sharpModule;
}

/** sharp and libvips versions (recorded in the decode cache; another libvips may resize differently). */
export async function decoderVersion(): Promise<string> {
  const s = await loadSharp();
  return `sharp ${s.versions.sharp ?? '?'} vips ${s.versions.vips ?? '?'}`;
}

export type ResizeMode = 'stretch' | 'letterbox';

/** How a resize maps original pixel coordinates: x' = x · sx + ox (same for y). */
export interface ResizeGeometry { sx: number; sy: number; ox: number; oy: number; width: number; height: number }

/**
 * `stretch`: to size × size, each axis scaled on its own. `letterbox`: the longer side to `size`,
 * aspect kept, centred on black padding (boxes scale and shift with it).
 */
export function resizeGeometry(w: number, h: number, size: number, mode: ResizeMode): ResizeGeometry {
  if (mode === 'stretch') return { sx: size / w, sy: size / h, ox: 0, oy: 0, width: size, height: size };
  const r = Math.min(size / w, size / h);
  const width = Math.max(1, Math.min(size, Math.round(w * r))), height = Math.max(1, Math.min(size, Math.round(h * r)));
  return { sx: width / w, sy: height / h, ox: Math.floor((size - width) / 2), oy: Math.floor((size - height) / 2), width, height };
}

export interface ImageInfo {
  width: number;
  height: number;
  /** Stored with one colour channel (plus maybe alpha). */
  grayscale: boolean;
  format: string;
}

/** Header facts of an image file (sharp reads only what it needs of the file). */
export async function imageInfo(file: string): Promise<ImageInfo> {
  const s = await loadSharp();
  const m = await s(file).metadata();
  if (!m.width || !m.height) throw new Error('no image size in the file');
  const grayscale = (m.channels ?? 3) <= 2 || m.space === 'b-w' || m.space === 'grey16';
  return { width: m.width, height: m.height, grayscale, format: m.format ?? '?' };
}

/**
 * Decodes `file`, resizes it to size × size and writes channels × size × size bytes (CHW) into
 * `out` at `offset`. Alpha is dropped; 1 channel converts to grey, 3 to sRGB.
 */
export async function decodeInto(file: string, info: ImageInfo, o: { size: number; channels: 1 | 3; resize: ResizeMode }, out: Uint8Array, offset: number): Promise<void> {
  const s = await loadSharp();
  const g = resizeGeometry(info.width, info.height, o.size, o.resize);
  let p = s(file, { failOn: 'error' }).removeAlpha();
  p = o.channels === 1 ? p.grayscale() : p.toColourspace('srgb');
  p = p.resize(g.width, g.height, { fit: 'fill' });
  if (g.width !== o.size || g.height !== o.size) {
    p = p.extend({ top: g.oy, bottom: o.size - g.height - g.oy, left: g.ox, right: o.size - g.width - g.ox, background: { r: 0, g: 0, b: 0 } });
  }
  const { data, info: got } = await p.raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
  const c = o.channels, plane = o.size * o.size;
  if (got.width !== o.size || got.height !== o.size || got.channels !== c) {
    throw new Error(`decoded to ${got.width}×${got.height}×${got.channels}, expected ${o.size}×${o.size}×${c}`);
  }
  if (c === 1) { out.set(data, offset); return; }
  for (let i = 0; i < plane; i++) { // HWC → CHW
    out[offset + i] = data[3 * i];
    out[offset + plane + i] = data[3 * i + 1];
    out[offset + 2 * plane + i] = data[3 * i + 2];
  }
}
