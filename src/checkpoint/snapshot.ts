// Snapshots taken by save(): the write happens later, so the bytes must not change meanwhile.
// Copy mode (default): all tensors are copied into one arena buffer. Arenas are pooled and
// reused, because a fresh 100 MB buffer costs ~60 ms of page faults on first touch while a
// copy into a warm one costs ~4-10 ms. Arenas are SharedArrayBuffers, so the writer thread reads
// them in place (no copy, nothing to hand back). Transfer mode: the caller's buffers move into the
// snapshot (zero copy; the caller's arrays are detached, length 0, once save() returns).
import { BYTES_PER_ELEMENT, bytesOf, viewBytes, type NamedTensor } from '../tensor.js';

export interface Snapshot {
  tensors: NamedTensor[];
  bytes: number;
  release(): void;
}

const align8 = (n: number) => Math.ceil(n / 8) * 8;

export class SnapshotArena {
  private pool: ArrayBufferLike[] = [];

  constructor(private readonly maxPooled = 2) {}

  take(tensors: Iterable<NamedTensor>, transfer: boolean): Snapshot {
    const list = [...tensors];
    let bytes = 0;
    for (const t of list) {
      const want = t.shape.reduce((a, b) => a * b, 1) * BYTES_PER_ELEMENT[t.dtype];
      if (t.data.byteLength !== want) throw new Error(`tensor ${t.name}: shape [${t.shape}] ${t.dtype} needs ${want} bytes, data has ${t.data.byteLength}`);
      bytes += t.data.byteLength;
    }
    if (transfer) {
      const moved = moveBuffers(list);
      if (moved) return { tensors: moved, bytes, release: () => undefined };
    }
    const total = list.reduce((a, t) => a + align8(t.data.byteLength), 0);
    const buf = this.acquire(total);
    const all = new Uint8Array(buf, 0, total);
    let off = 0;
    const copied = list.map((t) => {
      const len = t.data.byteLength;
      const dst = all.subarray(off, off + len);
      dst.set(bytesOf(t.data));
      off += align8(len);
      return { name: t.name, dtype: t.dtype, shape: [...t.shape], data: viewBytes(t.dtype, dst) };
    });
    let released = false;
    return {
      tensors: copied,
      bytes,
      release: () => {
        if (released) return;
        released = true;
        this.give(buf);
      },
    };
  }

  private acquire(size: number): ArrayBufferLike {
    let best = -1;
    for (let i = 0; i < this.pool.length; i++) {
      const b = this.pool[i];
      if (b.byteLength >= size && b.byteLength <= size * 2 && (best < 0 || b.byteLength < this.pool[best].byteLength)) best = i;
    }
    if (best >= 0) return this.pool.splice(best, 1)[0];
    const n = Math.max(size, 8);
    return typeof SharedArrayBuffer === 'function' ? new SharedArrayBuffer(n) : new ArrayBuffer(n);
  }

  private give(buf: ArrayBufferLike): void {
    this.pool.push(buf);
    if (this.pool.length > this.maxPooled) this.pool.shift();
  }
}

/**
 * Move the tensors' ArrayBuffers into new ones (zero copy; detaches the caller's arrays).
 * Shared buffers stay shared; buffers Node refuses to move (e.g. its small-Buffer pool) are
 * copied. Null if the runtime cannot move them at all (the caller then copies into the arena).
 */
function moveBuffers(list: NamedTensor[]): NamedTensor[] | null {
  const transfer = [...new Set(list.map((t) => t.data.buffer).filter((b): b is ArrayBuffer => !isShared(b)))];
  try {
    const data = structuredClone(list.map((t) => t.data), { transfer });
    return list.map((t, i) => ({ name: t.name, dtype: t.dtype, shape: [...t.shape], data: data[i] }));
  } catch {
    return null;
  }
}

export function isShared(b: ArrayBufferLike): boolean {
  return typeof SharedArrayBuffer === 'function' && b instanceof SharedArrayBuffer;
}
