// Hash byte ranges of files on a worker thread, so backup's sha256/md5 work does not run on the
// event loop that training uses (crypto hash updates are synchronous). The worker is plain JS
// (eval) so it runs the same under tsx, vitest and built code; it is unref'd (never keeps the
// process alive). Falls back to hashing here if workers are unavailable.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { Worker } from 'node:worker_threads';

const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const fs = require('node:fs');
const crypto = require('node:crypto');
const buf = Buffer.allocUnsafe(4 << 20);
function copy({ id, file, start, size, dest, sha256 }) {
  let fd = -1, out = -1;
  try {
    fd = fs.openSync(file, 'r');
    out = fs.openSync(dest, 'wx');
    const h = crypto.createHash('md5');
    const s = sha256 ? crypto.createHash('sha256') : null;
    for (let pos = start, end = start + size; pos < end; ) {
      const n = fs.readSync(fd, buf, 0, Math.min(buf.length, end - pos), pos);
      if (n === 0) throw new Error(file + ' ended at byte ' + pos + ', expected ' + end);
      h.update(buf.subarray(0, n));
      if (s) s.update(buf.subarray(0, n));
      for (let w = 0; w < n; ) w += fs.writeSync(out, buf, w, n - w);
      pos += n;
    }
    if (s) {
      const got = s.digest('hex');
      if (got !== sha256) throw Object.assign(new Error(file + ' bytes ' + start + '+' + size + ' have sha256 ' + got.slice(0, 12) + '…, expected ' + sha256.slice(0, 12) + '… (changed since hashed)'), { code: 'ESHA256' });
    }
    fs.fsyncSync(out);
    parentPort.postMessage({ id, digests: [h.digest('hex')] });
  } catch (e) {
    parentPort.postMessage({ id, error: String(e && e.message || e), code: e && e.code });
  } finally {
    if (fd >= 0) fs.closeSync(fd);
    if (out >= 0) fs.closeSync(out);
  }
}
parentPort.on('message', ({ id, file, start, size, algos, dest, sha256 }) => {
  if (dest) return copy({ id, file, start, size, dest, sha256 });
  let fd = -1;
  try {
    fd = fs.openSync(file, 'r');
    const hs = algos.map((a) => crypto.createHash(a));
    for (let pos = start, end = start + size; pos < end; ) {
      const n = fs.readSync(fd, buf, 0, Math.min(buf.length, end - pos), pos);
      if (n === 0) throw new Error(file + ' ended at byte ' + pos + ', expected ' + end);
      for (const h of hs) h.update(buf.subarray(0, n));
      pos += n;
    }
    parentPort.postMessage({ id, digests: hs.map((h) => h.digest('hex')) });
  } catch (e) {
    parentPort.postMessage({ id, error: String(e && e.message || e), code: e && e.code });
  } finally {
    if (fd >= 0) fs.closeSync(fd);
  }
});
`;

type Reply = { id: number; digests?: string[]; error?: string; code?: string };
let worker: Worker | null = null;
let broken = false;
let nextId = 0;
const waiting = new Map<number, { resolve(d: string[]): void; reject(e: Error): void }>();

function getWorker(): Worker | null {
  if (broken) return null;
  if (worker) return worker;
  try {
    const w = new Worker(WORKER_SOURCE, { eval: true });
    w.unref();
    w.on('message', (m: Reply) => {
      const p = waiting.get(m.id);
      if (!p) return;
      waiting.delete(m.id);
      if (waiting.size === 0) w.unref();
      if (m.error !== undefined) p.reject(Object.assign(new Error(m.error), { code: m.code }));
      else p.resolve(m.digests!);
    });
    // A thread that dies fails what it was asked (nothing else would ever answer); the next call starts a new one.
    const lost = (e: Error) => {
      if (worker !== w) return;
      worker = null;
      for (const p of waiting.values()) p.reject(e);
      waiting.clear();
    };
    w.on('error', lost);
    w.on('exit', (code) => lost(new Error(`hashing thread exited (code ${code})`)));
    worker = w;
    return w;
  } catch {
    broken = true;
    return null;
  }
}

async function hashHere(file: string, start: number, size: number, algos: string[]): Promise<string[]> {
  const hs = algos.map((a) => createHash(a));
  if (size > 0) for await (const c of createReadStream(file, { start, end: start + size - 1 })) for (const h of hs) h.update(c as Buffer);
  return hs.map((h) => h.digest('hex'));
}

function ask(w: Worker, msg: Record<string, unknown>): Promise<string[]> {
  const id = nextId++;
  w.ref(); // keep the process alive while a request is pending
  return new Promise((resolve, reject) => {
    waiting.set(id, { resolve, reject });
    w.postMessage({ id, ...msg });
  });
}

/** Hex digests (e.g. ['sha256'], ['md5']) of bytes [start, start+size) of a file. */
export function hashFileRange(file: string, start: number, size: number, algos: string[]): Promise<string[]> {
  const w = getWorker();
  return w ? ask(w, { file, start, size, algos }) : hashHere(file, start, size, algos);
}

/**
 * Copy bytes [start, start+size) of `file` into a new file `dest` (fsynced) and return their md5,
 * on the worker thread, checking `sha256` if given; null when no worker is available.
 */
export async function copyFileRange(file: string, start: number, size: number, dest: string, sha256?: string): Promise<string | null> {
  const w = getWorker();
  return w ? (await ask(w, { file, start, size, dest, sha256 }))[0] : null;
}
