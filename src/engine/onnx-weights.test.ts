import { describe, expect, it } from 'vitest';
import { ProtoWriter } from '../onnx/protobuf.js';
import { readOnnxInitializers } from './onnx-weights.js';

describe('readOnnxInitializers', () => {
  it('reads raw_data, float_data and int64_data tensors', async () => {
    const raw = new ProtoWriter().packedInts(1, [2]).int(2, 1).string(8, 'w').bytes(9, new Uint8Array(Float32Array.of(1.5, -2).buffer));
    const floats = new ProtoWriter().packedInts(1, [3]).int(2, 1).packedFloats(4, [1, 2, 3]).string(8, 'f');
    const ints = new ProtoWriter().packedInts(1, [2]).int(2, 7).packedInts(7, [5, -1]).string(8, 'i');
    const graph = new ProtoWriter().message(5, raw).message(5, floats).message(5, ints);
    const bytes = new ProtoWriter().int(1, 8).message(7, graph).finish();
    const t = await readOnnxInitializers(bytes);
    expect(Array.from(t.get('w')!.data as Float32Array)).toEqual([1.5, -2]);
    expect(Array.from(t.get('f')!.data as Float32Array)).toEqual([1, 2, 3]);
    expect(Array.from(t.get('i')!.data as BigInt64Array)).toEqual([5n, -1n]);
    expect(t.get('i')!.shape).toEqual([2]);
  });
  it('rejects external data with a clear message', async () => {
    const ext = new ProtoWriter().packedInts(1, [2]).int(2, 1).string(8, 'big').int(14, 1);
    await expect(readOnnxInitializers(new ProtoWriter().message(7, new ProtoWriter().message(5, ext)).finish())).rejects.toThrow(/big: external data/);
  });
});
