import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tensor, type DType, type NamedTensor } from '../tensor.js';
import { encodeHeader, readSafetensors, readSafetensorsHeader, writeSafetensors } from './safetensors.js';

// Independent reader written from the format description (not using the module under test):
// u64 LE N, N bytes of JSON, then data; offsets relative to the data start.
function independentRead(buf: Buffer) {
  const n = Number(buf.readBigUInt64LE(0));
  const headerText = buf.subarray(8, 8 + n).toString('utf8');
  const header = JSON.parse(headerText) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  const data = buf.subarray(8 + n);
  const out = new Map<string, { dtype: string; shape: number[]; values: (number | bigint | boolean)[] }>();
  for (const [name, e] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const bytes = data.subarray(e.data_offsets[0], e.data_offsets[1]);
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const size = { F32: 4, F16: 2, F64: 8, I64: 8, I32: 4, U8: 1, BOOL: 1 }[e.dtype]!;
    const values: (number | bigint | boolean)[] = [];
    for (let o = 0; o < bytes.byteLength; o += size) {
      switch (e.dtype) {
        case 'F32': values.push(dv.getFloat32(o, true)); break;
        case 'F16': values.push(dv.getUint16(o, true)); break; // raw bits
        case 'F64': values.push(dv.getFloat64(o, true)); break;
        case 'I64': values.push(dv.getBigInt64(o, true)); break;
        case 'I32': values.push(dv.getInt32(o, true)); break;
        case 'U8': values.push(dv.getUint8(o)); break;
        case 'BOOL': values.push(dv.getUint8(o) !== 0); break;
      }
    }
    out.set(name, { dtype: e.dtype, shape: e.shape, values });
  }
  return { n, headerText, header, dataLength: data.byteLength, out };
}

const dir = await mkdtemp(path.join(tmpdir(), 'st-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

function sample(): NamedTensor[] {
  return [
    tensor('a.f32', 'float32', [2, 3], Float32Array.from([1.5, -2, 3.25, 0, -0, 1e-30])),
    tensor('b.f16', 'float16', [3], Uint16Array.from([0x3c00, 0xc000, 0x7c00])),
    tensor('c.f64', 'float64', [2], Float64Array.from([Math.PI, -1e300])),
    tensor('d.i64', 'int64', [3], BigInt64Array.from([1n, -(2n ** 62n), 2n ** 63n - 1n])),
    tensor('e.i32', 'int32', [2, 2], Int32Array.from([1, -2, 2 ** 31 - 1, -(2 ** 31)])),
    tensor('f.u8', 'uint8', [4], Uint8Array.from([0, 1, 128, 255])),
    tensor('g.bool', 'bool', [3], Uint8Array.from([1, 0, 1])),
    tensor('h.scalar', 'float32', [], Float32Array.from([42])),
    tensor('i.empty', 'float32', [0, 5], new Float32Array(0)),
    tensor('j.empty_i64', 'int64', [0], new BigInt64Array(0)),
    tensor('k.scalar_i64', 'int64', [], BigInt64Array.from([-7n])),
  ];
}

describe('safetensors', () => {
  it('round-trips every dtype, 0-d and empty tensors; an independent reader agrees', async () => {
    const file = path.join(dir, 'all.safetensors');
    const ts = sample();
    const res = await writeSafetensors(file, ts, { metadata: { format: 'pt' } });
    const buf = await readFile(file);
    expect(res.size).toBe(buf.byteLength);
    const ind = independentRead(buf);
    expect((8 + ind.n) % 8).toBe(0);
    expect(/^ *$/.test(ind.headerText.slice(ind.headerText.lastIndexOf('}') + 1))).toBe(true);
    expect((ind.header as unknown as Record<string, unknown>).__metadata__).toEqual({ format: 'pt' });
    // data offsets cover the data section without gaps
    const spans = Object.entries(ind.header).filter(([k]) => k !== '__metadata__').map(([, e]) => e.data_offsets).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    let at = 0;
    for (const [b, e] of spans) { expect(b).toBe(at); at = e; }
    expect(at).toBe(ind.dataLength);
    const codes: Record<DType, string> = { float32: 'F32', float16: 'F16', float64: 'F64', int64: 'I64', int32: 'I32', uint8: 'U8', bool: 'BOOL' };
    for (const t of ts) {
      const got = ind.out.get(t.name)!;
      expect(got.dtype).toBe(codes[t.dtype]);
      expect(got.shape).toEqual(t.shape);
      const want = t.dtype === 'bool' ? [...t.data].map((v) => v !== 0) : Array.from(t.data as ArrayLike<number | bigint>);
      expect(got.values).toEqual(want);
    }
    // our reader
    const back = await readSafetensors(file);
    expect(back.metadata).toEqual({ format: 'pt' });
    for (const t of ts) {
      const g = back.tensors.get(t.name)!;
      expect(g.dtype).toBe(t.dtype);
      expect(g.shape).toEqual(t.shape);
      expect(g.data.constructor).toBe(t.data.constructor);
      expect(Array.from(g.data as ArrayLike<number | bigint>)).toEqual(Array.from(t.data as ArrayLike<number | bigint>));
    }
    // header-only parse gives absolute byte ranges matching the written layout and the hashes
    const hdr = await readSafetensorsHeader(file);
    for (const w of res.tensors) {
      const l = hdr.tensors.find((x) => x.name === w.name)!;
      expect([l.begin, l.end]).toEqual([w.begin, w.end]);
      expect(back.tensorSha256.get(w.name)).toBe(w.sha256);
    }
    expect(back.sha256).toBe(res.sha256);
  });

  it('reads a file produced by a different writer layout (offsets not in our order, no metadata)', async () => {
    const header = JSON.stringify({ y: { dtype: 'I32', shape: [1], data_offsets: [4, 8] }, x: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } });
    const n = Buffer.alloc(8);
    n.writeBigUInt64LE(BigInt(header.length));
    const data = Buffer.alloc(8);
    data.writeFloatLE(2.5, 0);
    data.writeInt32LE(-3, 4);
    const file = path.join(dir, 'foreign.safetensors');
    await writeFile(file, Buffer.concat([n, Buffer.from(header), data]));
    const r = await readSafetensors(file);
    expect(r.tensors.get('x')!.data[0]).toBe(2.5);
    expect(r.tensors.get('y')!.data[0]).toBe(-3);
  });

  it('rejects bad files with BAD_FORMAT errors naming the file', async () => {
    const file = path.join(dir, 'bad.safetensors');
    const { bytes } = encodeHeader([{ name: 'x', dtype: 'float32', shape: [4] }]);
    await writeFile(file, Buffer.concat([bytes, Buffer.alloc(8)])); // 8 of 16 data bytes
    await expect(readSafetensors(file)).rejects.toMatchObject({ code: 'BAD_FORMAT', file });
    await writeFile(file, Buffer.from([1, 2, 3]));
    await expect(readSafetensorsHeader(file)).rejects.toMatchObject({ code: 'BAD_FORMAT' });
    const h = Buffer.from(JSON.stringify({ x: { dtype: 'F32', shape: [2], data_offsets: [0, 4] } }));
    const n = Buffer.alloc(8);
    n.writeBigUInt64LE(BigInt(h.length));
    await writeFile(file, Buffer.concat([n, h, Buffer.alloc(4)]));
    await expect(readSafetensorsHeader(file)).rejects.toThrow(/needs 8/);
  });

  it('refuses data whose length does not match the shape', async () => {
    const t = { name: 'x', dtype: 'float32' as const, shape: [3], data: new Float32Array(2) };
    await expect(writeSafetensors(path.join(dir, 'x.safetensors'), [t])).rejects.toThrow(/needs 12 bytes/);
  });
});
