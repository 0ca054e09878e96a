// The plain types of graphs and their values, shared by the graph builder and shape inference
// (so neither imports the other for types).
import type { DType, NamedTensor } from '../tensor.js';

export type Shape = number[];

export interface ValueInfo {
  dtype: DType;
  shape: Shape;
}

/** `{ float: x }` forces a FLOAT attribute where the name alone would give INT (see model.ts). */
export type AttrValue =
  | number
  | string
  | number[]
  | string[]
  | { float: number }
  | { floats: number[] }
  | NamedTensor;

export type Attrs = Record<string, AttrValue | undefined>;

export interface Node {
  op: string;
  inputs: string[]; // '' marks an omitted optional input
  outputs: string[];
  attrs: Attrs;
  name: string;
  domain?: string;
}
