// Cutting a folder's files into content-addressed segments. A drivetrain checkpoint already
// lists the sha256 of its safetensors header and of every tensor (manifest.json), so those need
// no hashing; tensors bigger than `chunkBytes`, gaps and other files are hashed here.
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { feedRanges } from '../checkpoint/dir.js';
import { readSafetensorsHeader } from '../checkpoint/safetensors.js';
import { hashFileRange } from '../storage/hash-file.js';
import { MANIFEST_FILE, TENSORS_FILE, parseManifest, type Manifest } from '../checkpoint/manifest.js';

export const DEFAULT_CHUNK_BYTES = 64 * 1024 * 1024;

export interface PlannedSegment {
  offset: number;
  size: number;
  sha256: string;
  of?: { sha256: string; offset: number };
}

export interface PlannedFile {
  /** relative, `/`-separated */
  path: string;
  abs: string;
  size: number;
  sha256: string;
  segments: PlannedSegment[];
}

interface Piece { offset: number; size: number; sha256?: string; of?: { sha256: string; offset: number } }

function chunked(offset: number, size: number, chunkBytes: number, of?: string): Piece[] {
  if (size === 0) return [];
  if (size <= chunkBytes) return [{ offset, size, sha256: of }];
  const out: Piece[] = [];
  for (let o = 0; o < size; o += chunkBytes) {
    out.push({ offset: offset + o, size: Math.min(chunkBytes, size - o), of: of ? { sha256: of, offset: o } : undefined });
  }
  return out;
}

/** Pieces covering a safetensors file: header, each tensor (chunked if big), gaps. */
function safetensorsPieces(size: number, header: { end: number; sha256?: string }, tensors: { begin: number; end: number; sha256?: string }[], chunkBytes: number): Piece[] {
  const out: Piece[] = [{ offset: 0, size: header.end, sha256: header.sha256 }];
  let pos = header.end;
  for (const t of [...tensors].sort((a, b) => a.begin - b.begin)) {
    if (t.begin > pos) out.push(...chunked(pos, t.begin - pos, chunkBytes));
    if (t.begin < pos) throw new Error(`overlapping tensors in a safetensors file at byte ${t.begin}`);
    out.push(...chunked(t.begin, t.end - t.begin, chunkBytes, t.sha256));
    pos = t.end;
  }
  if (size > pos) out.push(...chunked(pos, size - pos, chunkBytes));
  return out.filter((p) => p.size > 0 || p.offset === 0);
}

/**
 * Fill in missing hashes: with the file hash known, each missing range on the hashing thread;
 * otherwise by reading the file once for the file hash and the ranges together.
 */
async function hashPieces(abs: string, size: number, pieces: Piece[], fileSha?: string): Promise<{ sha256: string; segments: PlannedSegment[] }> {
  const todo = pieces.filter((p) => !p.sha256);
  let sha = fileSha;
  if (sha) {
    for (const p of todo) p.sha256 = (await hashFileRange(abs, p.offset, p.size, ['sha256']))[0]; // worker thread
  } else {
    const sinks = todo.map((p) => ({ p, begin: p.offset, end: p.offset + p.size, hash: createHash('sha256') }));
    const whole = { begin: 0, end: size, hash: createHash('sha256') };
    const h = await fsp.open(abs, 'r');
    try {
      const buf = Buffer.allocUnsafe(8 * 1024 * 1024);
      for (let pos = 0; pos < size; ) {
        const { bytesRead } = await h.read(buf, 0, Math.min(buf.length, size - pos), pos);
        if (bytesRead === 0) throw new Error(`${abs} is shorter than expected (${size} bytes); it changed while being backed up`);
        feedRanges([whole, ...sinks], buf.subarray(0, bytesRead), pos);
        pos += bytesRead;
      }
    } finally {
      await h.close();
    }
    sha = whole.hash.digest('hex');
    for (const s of sinks) s.p.sha256 = s.hash.digest('hex');
  }
  return { sha256: sha, segments: pieces.map((p) => ({ offset: p.offset, size: p.size, sha256: p.sha256!, of: p.of })) };
}

/** Plan a drivetrain checkpoint directory (its manifest.json gives most hashes). */
export async function planCheckpoint(dir: string, chunkBytes = DEFAULT_CHUNK_BYTES): Promise<{ manifest: Manifest; files: PlannedFile[] }> {
  const manifestAbs = path.join(dir, MANIFEST_FILE);
  const manifestBytes = await fsp.readFile(manifestAbs);
  const manifest = parseManifest(JSON.parse(manifestBytes.toString('utf8')), manifestAbs);
  const files: PlannedFile[] = [];
  for (const [rel, info] of Object.entries(manifest.files)) {
    const abs = path.join(dir, ...rel.split('/'));
    const pieces = rel === TENSORS_FILE
      ? safetensorsPieces(info.size, { end: manifest.header.range[1], sha256: manifest.header.sha256 },
        Object.values(manifest.tensors).map((t) => ({ begin: t.range[0], end: t.range[1], sha256: t.sha256 })), chunkBytes)
      : info.size <= chunkBytes ? [{ offset: 0, size: info.size, sha256: info.sha256 }] : chunked(0, info.size, chunkBytes);
    const st = await fsp.stat(abs);
    if (st.size !== info.size) throw new Error(`${abs} is ${st.size} bytes but its manifest says ${info.size}`);
    const hashed = await hashPieces(abs, info.size, pieces, info.sha256);
    files.push({ path: rel, abs, size: info.size, ...hashed });
  }
  // manifest.json last: restore writes files in this order, so the commit record comes last.
  const msha = createHash('sha256').update(manifestBytes).digest('hex');
  files.push({ path: MANIFEST_FILE, abs: manifestAbs, size: manifestBytes.length, sha256: msha, segments: [{ offset: 0, size: manifestBytes.length, sha256: msha }] });
  return { manifest, files };
}

/** Plan arbitrary files (a watched folder): safetensors split per tensor, others in fixed chunks. */
export async function planFiles(root: string, rels: string[], chunkBytes = DEFAULT_CHUNK_BYTES): Promise<PlannedFile[]> {
  const files: PlannedFile[] = [];
  for (const rel of rels) {
    const abs = path.join(root, ...rel.split('/'));
    const size = (await fsp.stat(abs)).size;
    let pieces: Piece[] | null = null;
    if (rel.endsWith('.safetensors')) {
      try {
        const h = await readSafetensorsHeader(abs);
        if (h.fileSize === size) pieces = safetensorsPieces(size, { end: h.dataStart }, h.tensors, chunkBytes);
      } catch {
        pieces = null; // not a valid safetensors file: plain chunks
      }
    }
    pieces ??= size === 0 ? [] : chunked(0, size, chunkBytes);
    if (pieces.length === 1 && pieces[0].sha256 === undefined && pieces[0].size === size) pieces[0].of = undefined;
    const hashed = await hashPieces(abs, size, pieces);
    files.push({ path: rel, abs, size, ...hashed });
  }
  return files;
}
