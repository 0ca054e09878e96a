// Minimal protobuf *writer* for ONNX's ModelProto: large byte fields are kept as references and
// copied once, into the final buffer. Not kept for speed or memory: protobufjs (through
// onnx-proto) encodes a model with a 50 MB initializer with the same 1.00× extra memory in about
// the same time (medians of 7: 92–101 ms against 73–88 ms here, side by side on the shared
// 2-core dev machine). Kept because it is ~100 lines with no runtime dependency, while onnx-proto
// (protobufjs + generated onnx.proto3 code) stays a dev dependency: model.test.ts decodes our
// bytes with it, an independent reader.

const enum Wire { Varint = 0, Fixed64 = 1, Bytes = 2, Fixed32 = 5 }

export class ProtoWriter {
  private parts: Uint8Array[] = [];
  private cur: number[] = [];
  length = 0;

  private flushSmall(): void {
    if (this.cur.length) {
      this.parts.push(Uint8Array.from(this.cur));
      this.cur = [];
    }
  }

  private byte(b: number): void {
    this.cur.push(b);
    this.length++;
  }

  private varint(v: number | bigint): void {
    let x = BigInt.asUintN(64, BigInt(v));
    if (x < 128n) return this.byte(Number(x));
    while (x >= 128n) {
      this.byte(Number(x & 127n) | 128);
      x >>= 7n;
    }
    this.byte(Number(x));
  }

  private tag(field: number, wire: Wire): void {
    this.varint((field << 3) | wire);
  }

  int(field: number, v: number | bigint): this {
    this.tag(field, Wire.Varint);
    this.varint(v);
    return this;
  }

  float(field: number, v: number): this {
    this.tag(field, Wire.Fixed32);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    for (const x of b) this.byte(x);
    return this;
  }

  string(field: number, s: string): this {
    return this.bytes(field, new TextEncoder().encode(s));
  }

  /** Large byte fields are kept by reference, copied once in finish(). */
  bytes(field: number, data: Uint8Array): this {
    this.tag(field, Wire.Bytes);
    this.varint(data.byteLength);
    if (data.byteLength < 64) {
      for (const x of data) this.byte(x);
    } else {
      this.flushSmall();
      this.parts.push(data);
      this.length += data.byteLength;
    }
    return this;
  }

  packedInts(field: number, values: readonly (number | bigint)[]): this {
    const inner = new ProtoWriter();
    for (const v of values) inner.varint(v);
    return this.message(field, inner);
  }

  packedFloats(field: number, values: readonly number[]): this {
    // Packed fixed32 has no per-element tags: raw little-endian floats.
    const raw = new Uint8Array(values.length * 4);
    const dv = new DataView(raw.buffer);
    values.forEach((v, i) => dv.setFloat32(i * 4, v, true));
    return this.bytes(field, raw);
  }

  message(field: number, child: ProtoWriter): this {
    this.tag(field, Wire.Bytes);
    this.varint(child.length);
    this.flushSmall();
    child.flushSmall();
    this.parts.push(...child.parts);
    this.length += child.length;
    return this;
  }

  finish(): Uint8Array {
    this.flushSmall();
    const out = new Uint8Array(this.length);
    let off = 0;
    for (const p of this.parts) {
      out.set(p, off);
      off += p.byteLength;
    }
    return out;
  }
}
