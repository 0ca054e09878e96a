// Hash (and copy) byte ranges of files on a worker thread, so backup's sha256/md5 work does not
// run on the event loop that training or uploads use (crypto hash updates are synchronous). The
// thread is a self-contained script served by src/worker (it starts in tens of ms, see
// worker/spawn.ts); it keeps the process alive only while a request is pending. Where threads
// cannot start, hashes are computed here instead and a copy returns null (the store streams it).
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { ThreadClient, ThreadLost } from '../worker/client.js';

/** The thread: one read loop feeds the hashes and, for copies, the destination file. */
const HASH_THREAD = `
const fs = require('node:fs');
const crypto = require('node:crypto');
function start() {
  const buf = Buffer.allocUnsafe(4 << 20);
  function eachChunk(fd, file, start, size, use) {
    for (let pos = start, end = start + size; pos < end; ) {
      const n = fs.readSync(fd, buf, 0, Math.min(buf.length, end - pos), pos);
      if (n === 0) throw new Error(file + ' ended at byte ' + pos + ', expected ' + end);
      use(buf.subarray(0, n));
      pos += n;
    }
  }
  return ({ file, start, size, algos, dest, sha256 }) => {
    let fd = -1, out = -1;
    try {
      fd = fs.openSync(file, 'r');
      if (dest) out = fs.openSync(dest, 'wx');
      const hs = algos.map((a) => crypto.createHash(a));
      eachChunk(fd, file, start, size, (b) => {
        for (const h of hs) h.update(b);
        for (let w = 0; out >= 0 && w < b.length; ) w += fs.writeSync(out, b, w, b.length - w);
      });
      const digests = hs.map((h) => h.digest('hex'));
      if (sha256 && digests[1] !== sha256) {
        throw Object.assign(new Error(file + ' bytes ' + start + '+' + size + ' have sha256 ' + digests[1].slice(0, 12) + '…, expected ' + sha256.slice(0, 12) + '… (changed since hashed)'), { code: 'ESHA256' });
      }
      if (out >= 0) fs.fsyncSync(out);
      return digests;
    } finally {
      if (fd >= 0) fs.closeSync(fd);
      if (out >= 0) fs.closeSync(out);
    }
  };
}
`;

interface HashRequest { file: string; start: number; size: number; algos: string[]; dest?: string; sha256?: string }

const thread = new ThreadClient<HashRequest, string[]>({ entry: { script: HASH_THREAD }, name: 'hashing thread' });
let noThreads = false;

/** On the thread; null when threads cannot start here (then never tried again). */
async function onThread(r: HashRequest): Promise<string[] | null> {
  if (noThreads) return null;
  try {
    return await thread.request(r);
  } catch (e) {
    if (!(e instanceof ThreadLost && e.startFailed)) throw e; // a thread that died: the next call starts a new one
    noThreads = true;
    return null;
  }
}

async function hashHere(file: string, start: number, size: number, algos: string[]): Promise<string[]> {
  const hs = algos.map((a) => createHash(a));
  if (size > 0) for await (const c of createReadStream(file, { start, end: start + size - 1 })) for (const h of hs) h.update(c as Buffer);
  return hs.map((h) => h.digest('hex'));
}

/** Hex digests (e.g. ['sha256'], ['md5']) of bytes [start, start+size) of a file. */
export async function hashFileRange(file: string, start: number, size: number, algos: string[]): Promise<string[]> {
  return (await onThread({ file, start, size, algos })) ?? hashHere(file, start, size, algos);
}

/**
 * Copy bytes [start, start+size) of `file` into a new file `dest` (fsynced) and return their md5,
 * on the worker thread, checking `sha256` if given; null when no thread can run here.
 */
export async function copyFileRange(file: string, start: number, size: number, dest: string, sha256?: string): Promise<string | null> {
  const algos = sha256 ? ['md5', 'sha256'] : ['md5'];
  return (await onThread({ file, start, size, algos, dest, sha256 }))?.[0] ?? null;
}
