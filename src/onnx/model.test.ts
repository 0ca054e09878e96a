// Decodes the encoder's bytes with an independent decoder (onnx-proto, protobufjs-generated from
// onnx.proto3) and checks every field drivetrain writes.
import onnxProto from 'onnx-proto';
import { describe, expect, it } from 'vitest';
import { bytesOf } from '../tensor.js';
import { Graph } from './graph.js';
import { DEFAULT_OPSET, encodeModel, encodeTensor } from './model.js';
import { runGraph } from './session.js';

const { onnx } = onnxProto;
type Int = number | { toNumber(): number };
const num = (v: Int | null | undefined): number => (v == null ? 0 : typeof v === 'number' ? v : v.toNumber());
const nums = (v: Int[] | null | undefined): number[] => (v ?? []).map(num);
const text = (b: Uint8Array | null | undefined) => new TextDecoder().decode(b ?? new Uint8Array());
const A = onnx.AttributeProto.AttributeType;

function sampleGraph(extraAttrs = true): Graph {
  const g = new Graph('sample');
  const x = g.input('x', 'float32', [2, 3, 5, 5]);
  const w = g.initializer({ name: 'w', dtype: 'float32', shape: [4, 3, 3, 3], data: Float32Array.from({ length: 108 }, (_, i) => i / 100) });
  const c = g.op('Conv', [x, w], { kernel_shape: [3, 3], pads: [1, 1, 1, 1], group: 1 }, { scope: 'conv' });
  const l = g.op('LeakyRelu', [c], { alpha: 0.25 }, { scope: 'act' });
  const s = g.op('ScatterElements', [g.op('Reshape', [l, g.ints([-1])]), g.ints([0, 1]), g.constant([1, 2], 'float32', [2])], { axis: 0, reduction: 'add' });
  const k = g.op('Constant', [], { value: { name: 'k', dtype: 'float64', shape: [2], data: Float64Array.from([1.5, -2]) } }, { out: [{ dtype: 'float64', shape: [2] }] });
  if (extraAttrs) g.op('Identity', [k], { unused_floats: { floats: [0.5, 2] }, unused_float: { float: 3 }, unused_strings: ['a', 'bc'] }, { out: [{ dtype: 'float64', shape: [2] }] });
  g.output(s, 'y');
  g.output(k, 'k_out');
  return g;
}

describe('encodeModel, decoded with onnx-proto', () => {
  const g = sampleGraph();
  const m = onnx.ModelProto.decode(encodeModel(g, { producer: 'test', docString: 'doc' }));
  const graph = m.graph as InstanceType<typeof onnx.GraphProto>;
  type Attr = InstanceType<typeof onnx.AttributeProto>;
  type VI = InstanceType<typeof onnx.ValueInfoProto>;

  it('model header: IR version, opset import, producer, graph name, doc string', () => {
    expect(num(m.irVersion)).toBe(8);
    expect(m.opsetImport.map((o) => [o.domain, num(o.version)])).toEqual([['', DEFAULT_OPSET]]);
    expect(m.producerName).toBe('test');
    expect(graph.name).toBe('sample');
    expect(graph.docString).toBe('doc');
  });

  it('nodes keep op type, name, inputs (in order) and outputs', () => {
    expect(graph.node.map((n) => n.opType)).toEqual(g.nodes.map((n) => n.op));
    graph.node.forEach((n, i) => {
      expect(n.name).toBe(g.nodes[i].name);
      expect(n.input).toEqual(g.nodes[i].inputs);
      expect(n.output).toEqual(g.nodes[i].outputs);
    });
  });

  it('attributes of every kind: INTS, INT, FLOAT (by name and forced), STRING, STRINGS, FLOATS, TENSOR', () => {
    const attr = (op: string, name: string) => graph.node.find((n) => n.opType === op)!.attribute!.find((a) => a.name === name) as Attr;
    expect([attr('Conv', 'kernel_shape').type, nums(attr('Conv', 'kernel_shape').ints as Int[])]).toEqual([A.INTS, [3, 3]]);
    expect([attr('Conv', 'pads').type, nums(attr('Conv', 'pads').ints as Int[])]).toEqual([A.INTS, [1, 1, 1, 1]]);
    expect([attr('Conv', 'group').type, num(attr('Conv', 'group').i as Int)]).toEqual([A.INT, 1]);
    expect([attr('LeakyRelu', 'alpha').type, attr('LeakyRelu', 'alpha').f]).toEqual([A.FLOAT, 0.25]);
    expect([attr('ScatterElements', 'reduction').type, text(attr('ScatterElements', 'reduction').s)]).toEqual([A.STRING, 'add']);
    expect([attr('ScatterElements', 'axis').type, num(attr('ScatterElements', 'axis').i as Int)]).toEqual([A.INT, 0]);
    expect([attr('Identity', 'unused_floats').type, attr('Identity', 'unused_floats').floats]).toEqual([A.FLOATS, [0.5, 2]]);
    expect([attr('Identity', 'unused_float').type, attr('Identity', 'unused_float').f]).toEqual([A.FLOAT, 3]);
    expect([attr('Identity', 'unused_strings').type, attr('Identity', 'unused_strings').strings.map(text)]).toEqual([A.STRINGS, ['a', 'bc']]);
    const t = attr('Constant', 'value');
    expect(t.type).toBe(A.TENSOR);
    expect([t.t!.name, t.t!.dataType, nums(t.t!.dims as Int[])]).toEqual(['k', onnx.TensorProto.DataType.DOUBLE, [2]]);
    const raw = t.t!.rawData!;
    expect(Array.from(new Float64Array(raw.slice().buffer))).toEqual([1.5, -2]);
  });

  it('initializers carry dims, data type and little-endian raw data', () => {
    const byName = new Map(graph.initializer.map((t) => [t.name, t]));
    expect([...byName.keys()].sort()).toEqual([...g.initializers.keys()].sort());
    for (const [name, t] of g.initializers) {
      const d = byName.get(name)!;
      expect(nums(d.dims as Int[])).toEqual(t.shape);
      expect(d.dataType).toBe({ float32: 1, int64: 7, float64: 11 }[t.dtype as 'float32']);
      expect(Buffer.from(d.rawData!).equals(Buffer.from(bytesOf(t.data)))).toBe(true);
    }
    expect(new Float32Array(byName.get('w')!.rawData!.slice().buffer)[107]).toBeCloseTo(1.07, 6);
  });

  it('graph inputs and outputs carry element type and static dims', () => {
    const info = (v: VI) => [v.name, v.type!.tensorType!.elemType, v.type!.tensorType!.shape!.dim!.map((d) => num(d.dimValue as Int))];
    expect((graph.input as VI[]).map(info)).toEqual([['x', 1, [2, 3, 5, 5]]]);
    expect((graph.output as VI[]).map(info)).toEqual([['y', 1, [200]], ['k_out', 11, [2]]]);
  });

  it('onnxruntime runs the same bytes', async () => {
    // onnxruntime rejects unknown attributes, so this copy leaves out the Identity that carries them.
    const out = await runGraph(sampleGraph(false), { x: { dtype: 'float32', shape: [2, 3, 5, 5], data: new Float32Array(150).fill(1) } });
    expect(out.y.shape).toEqual([200]);
    expect(Array.from(out.k_out.data as Float64Array)).toEqual([1.5, -2]);
  });

  it('a non-integer number for an INT attribute is rejected with the fix', () => {
    const h = new Graph();
    h.op('Flatten', [h.input('x', 'float32', [2, 3])], { axis: 1.5 });
    expect(() => encodeModel(h)).toThrow(/attribute axis=1.5 is not an integer; wrap floats as \{ float: x \}/);
  });
});

describe('large tensors are copied once', () => {
  it('the writer references tensor bytes until finish() (a later change shows up in the output)', () => {
    const data = new Float32Array(1 << 16);
    const w = encodeTensor({ name: 'big', dtype: 'float32', shape: [data.length], data });
    data[12345] = 42; // after encoding started: only a reference, not a copy, can see this
    const t = onnx.TensorProto.decode(w.finish());
    expect(new Float32Array(t.rawData!.slice().buffer)[12345]).toBe(42);
  });

  it('a 50 MB initializer grows ArrayBuffer memory by about one output buffer', () => {
    const n = (50 << 20) / 4;
    const g = new Graph();
    const x = g.input('x', 'float32', [n]);
    const w = g.initializer({ name: 'w', dtype: 'float32', shape: [n], data: new Float32Array(n).fill(0.5) });
    g.output(g.op('Add', [x, w]), 'y');
    const before = process.memoryUsage().arrayBuffers;
    const bytes = encodeModel(g);
    const grown = process.memoryUsage().arrayBuffers - before;
    expect(bytes.byteLength).toBeGreaterThan(50 << 20);
    expect(bytes.byteLength).toBeLessThan((50 << 20) + 4096);
    // One copy (the output) is 50 MB; a second retained copy would make this ≥ 100 MB.
    expect(grown).toBeLessThan(1.5 * bytes.byteLength);
  });
});
