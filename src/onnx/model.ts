// ModelProto encoder. Field numbers follow onnx/onnx.proto3. Tensor bytes are referenced while
// building and copied exactly once, into the returned buffer.
import { bytesOf } from '../tensor.js';
import type { NamedTensor } from '../tensor.js';
import { ONNX_DTYPE } from './dtypes.js';
import type { AttrValue, Graph, Node, ValueInfo } from './graph.js';
import { ProtoWriter } from './protobuf.js';

export const DEFAULT_OPSET = 17;
const IR_VERSION_FOR_OPSET17 = 8;

/** Attribute names that are FLOAT in the standard ops drivetrain emits; other numbers are INT. */
const FLOAT_ATTRS = new Set(['alpha', 'beta', 'gamma', 'epsilon', 'momentum', 'ratio', 'bias', 'lambd', 'value_float', 'min', 'max', 'low', 'high', 'mean', 'scale', 'seed']);
const enum AttrType { FLOAT = 1, INT = 2, STRING = 3, TENSOR = 4, FLOATS = 6, INTS = 7, STRINGS = 8 }

function isTensor(v: AttrValue): v is NamedTensor {
  return typeof v === 'object' && !Array.isArray(v) && 'data' in v;
}

function encodeAttr(name: string, v: AttrValue): ProtoWriter {
  const w = new ProtoWriter().string(1, name);
  if (typeof v === 'number') {
    if (FLOAT_ATTRS.has(name)) w.float(2, v).int(20, AttrType.FLOAT);
    else {
      if (!Number.isInteger(v)) throw new Error(`attribute ${name}=${v} is not an integer; wrap floats as { float: x }`);
      w.int(3, v).int(20, AttrType.INT);
    }
  } else if (typeof v === 'string') w.string(4, v).int(20, AttrType.STRING);
  else if (Array.isArray(v)) {
    if ((v as unknown[]).every((x) => typeof x === 'string')) {
      for (const s of v as string[]) w.string(9, s);
      w.int(20, AttrType.STRINGS);
    } else if (FLOAT_ATTRS.has(name)) w.packedFloats(7, v as number[]).int(20, AttrType.FLOATS);
    else w.packedInts(8, v as number[]).int(20, AttrType.INTS);
  } else if (isTensor(v)) w.message(5, encodeTensor(v)).int(20, AttrType.TENSOR);
  else if ('float' in v) w.float(2, v.float).int(20, AttrType.FLOAT);
  else w.packedFloats(7, v.floats).int(20, AttrType.FLOATS);
  return w;
}

export function encodeTensor(t: NamedTensor): ProtoWriter {
  const w = new ProtoWriter();
  if (t.shape.length) w.packedInts(1, t.shape);
  w.int(2, ONNX_DTYPE[t.dtype]).string(8, t.name);
  w.bytes(9, bytesOf(t.data)); // raw_data: little-endian, as typed arrays are on every supported host
  return w;
}

function encodeNode(n: Node): ProtoWriter {
  const w = new ProtoWriter();
  for (const i of n.inputs) w.string(1, i);
  for (const o of n.outputs) w.string(2, o);
  w.string(3, n.name).string(4, n.op);
  for (const [k, v] of Object.entries(n.attrs)) if (v !== undefined) w.message(5, encodeAttr(k, v));
  if (n.domain) w.string(7, n.domain);
  return w;
}

function encodeValueInfo(name: string, v: ValueInfo, batchDim?: string): ProtoWriter {
  const shape = new ProtoWriter();
  v.shape.forEach((d, i) => shape.message(1, i === 0 && batchDim && v.shape.length ? new ProtoWriter().string(2, batchDim) : new ProtoWriter().int(1, d)));
  const tensorType = new ProtoWriter().int(1, ONNX_DTYPE[v.dtype]).message(2, shape);
  const type = new ProtoWriter().message(1, tensorType);
  return new ProtoWriter().string(1, name).message(2, type);
}

export interface EncodeOptions {
  opset?: number;
  producer?: string;
  docString?: string;
  /** Writes the first dimension of every graph input and output as this symbolic name (a dynamic batch). */
  batchDim?: string;
  /** ModelProto.metadata_props (key → value strings), e.g. class names for consumers of an exported model. */
  metadata?: Record<string, string>;
}

export function encodeModel(g: Graph, opts: EncodeOptions = {}): Uint8Array {
  const opset = opts.opset ?? DEFAULT_OPSET;
  const graph = new ProtoWriter();
  for (const n of g.nodes) graph.message(1, encodeNode(n));
  graph.string(2, g.name);
  for (const t of g.initializers.values()) graph.message(5, encodeTensor(t));
  if (opts.docString) graph.string(10, opts.docString);
  for (const i of g.inputs) graph.message(11, encodeValueInfo(i, g.info(i), opts.batchDim));
  for (const o of g.outputs) graph.message(12, encodeValueInfo(o, g.info(o), opts.batchDim));
  const model = new ProtoWriter()
    .int(1, opset >= 17 ? IR_VERSION_FOR_OPSET17 : 7)
    .string(2, opts.producer ?? 'drivetrain')
    .string(3, '0.1.0')
    .message(7, graph)
    .message(8, new ProtoWriter().string(1, '').int(2, opset));
  for (const [k, v] of Object.entries(opts.metadata ?? {})) model.message(14, new ProtoWriter().string(1, k).string(2, v));
  return model.finish();
}
