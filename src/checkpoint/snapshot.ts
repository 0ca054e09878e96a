// Snapshots taken by save(): the write happens later, so the bytes must not change meanwhile.
// Copy mode (default): all tensors are copied into one arena buffer. Arenas are pooled and
// reused, because a fresh 100 MB buffer costs ~60 ms of page faults on first touch while a
// copy into a warm one costs ~4-10 ms. Transfer mode: the caller hands the arrays over and must
// not modify them afterwards (no copy at all).
import { BYTES_PER_ELEMENT, bytesOf, viewBytes, type NamedTensor } from '../tensor.js';

export interface Snapshot {
  tensors: NamedTensor[];
  bytes: number;
  release(): void;
}

const align8 = (n: number) => Math.ceil(n / 8) * 8;

export class SnapshotArena {
  private pool: ArrayBuffer[] = [];

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
      return { tensors: list.map((t) => ({ ...t, shape: [...t.shape] })), bytes, release: () => undefined };
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

  private acquire(size: number): ArrayBuffer {
    let best = -1;
    for (let i = 0; i < this.pool.length; i++) {
      const b = this.pool[i];
      if (b.byteLength >= size && b.byteLength <= size * 2 && (best < 0 || b.byteLength < this.pool[best].byteLength)) best = i;
    }
    if (best >= 0) return this.pool.splice(best, 1)[0];
    return new ArrayBuffer(Math.max(size, 8));
  }

  private give(buf: ArrayBuffer): void {
    this.pool.push(buf);
    if (this.pool.length > this.maxPooled) this.pool.shift();
  }
}
