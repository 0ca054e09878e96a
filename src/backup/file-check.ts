// Is a file another trainer wrote complete, judged by its format, and which epoch/step does it
// hold? For `backup --watch`: a PyTorch `.pth`/`.pt` (a zip) is complete once its end-of-central-
// directory record is there and points at a central directory; a safetensors file once its
// header parses and the tensor data it declares ends exactly at the end of the file; a `.json`
// once it parses. Other files have no such check (`format: 'other'`): the watcher then relies on
// the size being stable and no process having the file open for writing.
// Reading the trainer's epoch/step is best effort and cheap: top-level int entries of a PyTorch
// checkpoint's data.pkl (read straight from the zip when stored uncompressed, as torch.save
// does), `__metadata__` of a safetensors header, top-level fields of a JSON file (drivetrain's
// state.json has epoch/globalStep).
import { promises as fsp } from 'node:fs';
import { scanPickleTopLevel } from './pickle-scan.js';

export interface TrainerInfo {
  epoch?: number;
  step?: number;
}

export type FileFormat = 'zip' | 'safetensors' | 'json' | 'other';

/** `reason` says what is missing when `complete` is false; `info` is empty then. */
export interface FileCheck { complete: boolean; format: FileFormat; info: TrainerInfo; reason?: string }

const EOCD = 0x06054b50, ZIP64_LOCATOR = 0x07064b50, ZIP64_EOCD = 0x06064b50, CENTRAL = 0x02014b50, LOCAL = 0x04034b50;
/** Keys read as the trainer's epoch / step (first found wins), as PyTorch scripts and Lightning name them. */
const EPOCH_KEYS = ['epoch'];
const STEP_KEYS = ['global_step', 'globalStep', 'step', 'iteration', 'iter'];
const MAX_PICKLE = 8 << 20;
const MAX_JSON = 4 << 20;

async function readAt(fh: fsp.FileHandle, pos: number, len: number): Promise<Buffer> {
  const b = Buffer.alloc(len);
  const { bytesRead } = await fh.read(b, 0, len, pos);
  return b.subarray(0, bytesRead);
}

function pickInfo(get: (k: string) => unknown): TrainerInfo {
  const num = (keys: string[]) => {
    for (const k of keys) {
      const v = get(k);
      const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
      if (typeof n === 'number' && Number.isInteger(n) && n >= 0) return n;
    }
    return undefined;
  };
  const out: TrainerInfo = {};
  const epoch = num(EPOCH_KEYS), step = num(STEP_KEYS);
  if (epoch !== undefined) out.epoch = epoch;
  if (step !== undefined) out.step = step;
  return out;
}

/** The format of a file, from its first bytes (and its name for JSON). */
export function sniffFormat(head: Buffer, name: string): FileFormat {
  if (head.length >= 4 && head.readUInt32LE(0) === LOCAL) return 'zip';
  if (name.endsWith('.safetensors')) return 'safetensors';
  if (name.endsWith('.json')) return 'json';
  return 'other';
}

/** Check `file` (named `name`) for completeness by its format, and read the trainer's epoch/step when cheap. */
export async function checkFile(file: string, name: string): Promise<FileCheck> {
  const fh = await fsp.open(file, 'r');
  try {
    const size = (await fh.stat()).size;
    const format = sniffFormat(await readAt(fh, 0, 8), name);
    if (format === 'zip') return await checkZip(fh, size);
    if (format === 'safetensors') return await checkSafetensors(fh, size);
    if (format === 'json') {
      if (size > MAX_JSON) return { complete: true, format, info: {} };
      try {
        const j = JSON.parse((await readAt(fh, 0, size)).toString('utf8')) as unknown;
        const o = j && typeof j === 'object' && !Array.isArray(j) ? (j as Record<string, unknown>) : {};
        return { complete: true, format, info: pickInfo((k) => o[k]) };
      } catch (e) {
        return { complete: false, format, info: {}, reason: `not valid JSON (${(e as Error).message})` };
      }
    }
    return { complete: true, format, info: {} };
  } finally {
    await fh.close();
  }
}

interface CentralDir { offset: number; size: number; end: number }

/** Locate the central directory through the EOCD record (and the zip64 one when the sizes overflow). */
async function centralDirectory(fh: fsp.FileHandle, size: number): Promise<CentralDir | string> {
  const tailLen = Math.min(size, 22 + 0xffff);
  const tail = await readAt(fh, size - tailLen, tailLen);
  let at = -1;
  for (let i = tail.length - 22; i >= 0; i--) {
    if (tail.readUInt32LE(i) === EOCD && i + 22 + tail.readUInt16LE(i + 20) === tail.length) { at = i; break; }
  }
  if (at < 0) return 'the zip has no end-of-central-directory record (cut short: the writer probably stopped mid-write)';
  const eocdPos = size - tailLen + at;
  let cdSize = tail.readUInt32LE(at + 12), cdOffset = tail.readUInt32LE(at + 16), end = eocdPos;
  if (cdSize === 0xffffffff || cdOffset === 0xffffffff || tail.readUInt16LE(at + 10) === 0xffff) {
    const loc = eocdPos >= 20 ? await readAt(fh, eocdPos - 20, 20) : Buffer.alloc(0);
    if (loc.length < 20 || loc.readUInt32LE(0) !== ZIP64_LOCATOR) return 'the zip64 end-of-central-directory locator is missing';
    const z64 = Number(loc.readBigUInt64LE(8));
    const rec = await readAt(fh, z64, 56);
    if (rec.length < 56 || rec.readUInt32LE(0) !== ZIP64_EOCD) return 'the zip64 end-of-central-directory record is missing';
    cdSize = Number(rec.readBigUInt64LE(40));
    cdOffset = Number(rec.readBigUInt64LE(48));
    end = z64;
  }
  if (cdOffset + cdSize > end) return `the zip's central directory (${cdOffset}+${cdSize}) runs past its end record at ${end}`;
  if (cdSize > 0 && (await readAt(fh, cdOffset, 4)).readUInt32LE(0) !== CENTRAL) return `no central directory at offset ${cdOffset}`;
  return { offset: cdOffset, size: cdSize, end };
}

async function checkZip(fh: fsp.FileHandle, size: number): Promise<FileCheck> {
  const cd = await centralDirectory(fh, size);
  if (typeof cd === 'string') return { complete: false, format: 'zip', info: {}, reason: cd };
  return { complete: true, format: 'zip', info: await torchInfo(fh, cd).catch(() => ({})) };
}

/** Epoch/step from the top level of `<archive>/data.pkl`, when it is stored (not compressed) and small. */
async function torchInfo(fh: fsp.FileHandle, cd: CentralDir): Promise<TrainerInfo> {
  if (cd.size > 16 << 20) return {};
  const dir = await readAt(fh, cd.offset, cd.size);
  for (let p = 0; p + 46 <= dir.length && dir.readUInt32LE(p) === CENTRAL;) {
    const method = dir.readUInt16LE(p + 10);
    let csize = dir.readUInt32LE(p + 20);
    const nameLen = dir.readUInt16LE(p + 28), extraLen = dir.readUInt16LE(p + 30), commentLen = dir.readUInt16LE(p + 32);
    let local = dir.readUInt32LE(p + 42);
    const name = dir.toString('utf8', p + 46, p + 46 + nameLen);
    if (name.endsWith('/data.pkl') || name === 'data.pkl') {
      if (csize === 0xffffffff || local === 0xffffffff) {
        // zip64 extra field (id 1): uncompressed, compressed, local offset, each only when overflowed
        const extra = dir.subarray(p + 46 + nameLen, p + 46 + nameLen + extraLen);
        for (let e = 0; e + 4 <= extra.length; e += 4 + extra.readUInt16LE(e + 2)) {
          if (extra.readUInt16LE(e) !== 1) continue;
          let q = e + 4;
          if (dir.readUInt32LE(p + 24) === 0xffffffff) q += 8;
          if (csize === 0xffffffff) { csize = Number(extra.readBigUInt64LE(q)); q += 8; }
          if (local === 0xffffffff) local = Number(extra.readBigUInt64LE(q));
        }
      }
      if (method !== 0 || csize > MAX_PICKLE) return {};
      const lh = await readAt(fh, local, 30);
      if (lh.length < 30 || lh.readUInt32LE(0) !== LOCAL) return {};
      const data = await readAt(fh, local + 30 + lh.readUInt16LE(26) + lh.readUInt16LE(28), csize);
      const top = scanPickleTopLevel(data);
      return top ? pickInfo((k) => top.get(k)) : {};
    }
    p += 46 + nameLen + extraLen + commentLen;
  }
  return {};
}

async function checkSafetensors(fh: fsp.FileHandle, size: number): Promise<FileCheck> {
  const bad = (reason: string): FileCheck => ({ complete: false, format: 'safetensors', info: {}, reason });
  if (size < 8) return bad(`${size} bytes: shorter than the 8-byte header length`);
  const n = Number((await readAt(fh, 0, 8)).readBigUInt64LE(0));
  if (n > size - 8) return bad(`the header declares ${n} bytes but the file has ${size - 8} after the length (cut short)`);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse((await readAt(fh, 8, n)).toString('utf8')) as Record<string, unknown>;
  } catch (e) {
    return bad(`the header is not valid JSON (${(e as Error).message})`);
  }
  let dataEnd = 0;
  for (const [k, v] of Object.entries(header)) {
    if (k === '__metadata__') continue;
    const off = (v as { data_offsets?: unknown })?.data_offsets;
    if (!Array.isArray(off) || off.length !== 2) return bad(`tensor "${k}" has no data_offsets`);
    dataEnd = Math.max(dataEnd, Number(off[1]));
  }
  if (8 + n + dataEnd !== size) return bad(`the header declares ${dataEnd} bytes of tensor data, the file holds ${size - 8 - n}${8 + n + dataEnd > size ? ' (cut short)' : ''}`);
  const meta = (header.__metadata__ ?? {}) as Record<string, unknown>;
  return { complete: true, format: 'safetensors', info: pickInfo((k) => meta[k]) };
}
