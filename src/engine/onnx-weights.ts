// Reads the initializers (weights) of an ONNX model file. Hand-written minimal protobuf reader:
// the only decoder in the dependency tree (onnx-proto) is a dev dependency, and we need just
// ModelProto.graph(7) → GraphProto.initializer(5) → TensorProto fields.
import { readFile } from 'node:fs/promises';
import { dtypeFromOnnx } from '../onnx/dtypes.js';
import type { NamedTensor, TensorMap, TypedArray } from '../tensor.js';
import { allocate, numel, viewBytes } from '../tensor.js';

class Reader {
  pos = 0;
  constructor(readonly buf: Uint8Array, readonly end = buf.length) {}
  varint(): bigint {
    let r = 0n, shift = 0n;
    for (;;) {
      if (this.pos >= this.end) throw new Error('truncated protobuf varint');
      const b = this.buf[this.pos++];
      r |= BigInt(b & 127) << shift;
      if (b < 128) return r;
      shift += 7n;
    }
  }
  num(): number {
    return Number(this.varint());
  }
  bytes(): Uint8Array {
    const n = this.num();
    if (this.pos + n > this.end) throw new Error('truncated protobuf field');
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 1) this.pos += 8;
    else if (wire === 2) this.bytes();
    else if (wire === 5) this.pos += 4;
    else throw new Error(`unsupported protobuf wire type ${wire}`);
  }
  *fields(): Generator<[number, number]> {
    while (this.pos < this.end) {
      const key = this.num();
      yield [key >>> 3, key & 7];
    }
  }
}

function packedOrSingle(r: Reader, wire: number, read: (r: Reader) => number | bigint, out: (number | bigint)[]): void {
  if (wire === 2) {
    const b = r.bytes();
    const sub = new Reader(b);
    while (sub.pos < sub.end) out.push(read(sub));
  } else out.push(read(r));
}

function decodeTensor(buf: Uint8Array): NamedTensor {
  const r = new Reader(buf);
  const dims: number[] = [];
  let dataType = 0, name = '', raw: Uint8Array | undefined, external = false;
  const floats: number[] = [], ints: (number | bigint)[] = [], int64s: (number | bigint)[] = [], doubles: number[] = [];
  const f32 = (x: Reader) => { const v = new DataView(x.buf.buffer, x.buf.byteOffset + x.pos, 4).getFloat32(0, true); x.pos += 4; return v; };
  const f64 = (x: Reader) => { const v = new DataView(x.buf.buffer, x.buf.byteOffset + x.pos, 8).getFloat64(0, true); x.pos += 8; return v; };
  for (const [field, wire] of r.fields()) {
    if (field === 1) { const d: (number | bigint)[] = []; packedOrSingle(r, wire, (x) => x.num(), d); dims.push(...(d as number[])); }
    else if (field === 2) dataType = r.num();
    else if (field === 4) packedOrSingle(r, wire, f32, floats as never);
    else if (field === 5) packedOrSingle(r, wire, (x) => x.num() | 0, ints);
    else if (field === 7) packedOrSingle(r, wire, (x) => BigInt.asIntN(64, x.varint()), int64s);
    else if (field === 8) name = new TextDecoder().decode(r.bytes());
    else if (field === 9) raw = r.bytes();
    else if (field === 10) packedOrSingle(r, wire, f64, doubles as never);
    else if (field === 14) external = r.num() === 1;
    else r.skip(wire);
  }
  if (external) throw new Error(`initializer ${name}: external data files are not supported; re-save the model with weights inside`);
  const dtype = dtypeFromOnnx(dataType);
  const n = numel(dims);
  let data: TypedArray;
  if (raw) data = viewBytes(dtype, raw.slice()); // own copy, aligned
  else {
    const arr = allocate(dtype, n);
    const src: (number | bigint)[] = dtype === 'float32' ? floats : dtype === 'float64' ? doubles : dtype === 'int64' ? int64s : ints;
    if (src.length !== n) throw new Error(`initializer ${name}: ${src.length} values for shape [${dims}]`);
    if (arr instanceof BigInt64Array) src.forEach((v, i) => (arr[i] = BigInt(v)));
    else src.forEach((v, i) => (arr[i] = Number(v)));
    data = arr;
  }
  if (data.length !== n) throw new Error(`initializer ${name}: ${data.length} values for shape [${dims}]`);
  return { name, dtype, shape: dims, data };
}

/** All initializers of an ONNX model (file path or bytes), by name. */
export async function readOnnxInitializers(source: string | Uint8Array): Promise<TensorMap> {
  const buf = typeof source === 'string' ? new Uint8Array(await readFile(source)) : source;
  const out: TensorMap = new Map();
  const model = new Reader(buf);
  for (const [field, wire] of model.fields()) {
    if (field !== 7 || wire !== 2) { model.skip(wire); continue; }
    const gb = model.bytes();
    const graph = new Reader(gb);
    for (const [gf, gw] of graph.fields()) {
      if (gf === 5 && gw === 2) {
        const t = decodeTensor(graph.bytes());
        out.set(t.name, t);
      } else graph.skip(gw);
    }
  }
  return out;
}
