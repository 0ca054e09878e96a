// Named CPU tensors: the seam shared by the engine, checkpoints and backup (see DESIGN.md §1).
export type DType = 'float32' | 'float16' | 'float64' | 'int64' | 'int32' | 'uint8' | 'bool';

export type TypedArray =
  | Float32Array
  | Float64Array
  | Uint16Array // float16 bits
  | BigInt64Array
  | Int32Array
  | Uint8Array;

export interface Tensor {
  dtype: DType;
  shape: number[];
  data: TypedArray;
}

export interface NamedTensor extends Tensor {
  name: string;
}

/** Dotted names by role: `param.…`, `opt.m.…`, `buffer.…`, `rng.…`. */
export type TensorMap = Map<string, NamedTensor>;

export const BYTES_PER_ELEMENT: Record<DType, number> = {
  float32: 4,
  float16: 2,
  float64: 8,
  int64: 8,
  int32: 4,
  uint8: 1,
  bool: 1,
};

export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function allocate(dtype: DType, length: number): TypedArray {
  switch (dtype) {
    case 'float32': return new Float32Array(length);
    case 'float64': return new Float64Array(length);
    case 'float16': return new Uint16Array(length);
    case 'int64': return new BigInt64Array(length);
    case 'int32': return new Int32Array(length);
    case 'uint8':
    case 'bool': return new Uint8Array(length);
  }
}

/** A typed array of `dtype` over existing bytes (copies only when the offset is misaligned). */
export function viewBytes(dtype: DType, bytes: Uint8Array): TypedArray {
  const size = BYTES_PER_ELEMENT[dtype];
  if (bytes.byteLength % size !== 0) throw new Error(`${bytes.byteLength} bytes is not a whole number of ${dtype} elements`);
  const src = bytes.byteOffset % size === 0 ? bytes : new Uint8Array(bytes);
  const n = src.byteLength / size;
  switch (dtype) {
    case 'float32': return new Float32Array(src.buffer, src.byteOffset, n);
    case 'float64': return new Float64Array(src.buffer, src.byteOffset, n);
    case 'float16': return new Uint16Array(src.buffer, src.byteOffset, n);
    case 'int64': return new BigInt64Array(src.buffer, src.byteOffset, n);
    case 'int32': return new Int32Array(src.buffer, src.byteOffset, n);
    case 'uint8':
    case 'bool': return new Uint8Array(src.buffer, src.byteOffset, n);
  }
}

export function bytesOf(data: TypedArray): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

export function tensor(name: string, dtype: DType, shape: number[], data?: TypedArray): NamedTensor {
  const n = numel(shape);
  const d = data ?? allocate(dtype, n);
  if (d.length !== n) throw new Error(`tensor ${name}: shape [${shape}] needs ${n} elements, got ${d.length}`);
  return { name, dtype, shape, data: d };
}

export function cloneTensor(t: NamedTensor): NamedTensor {
  return { name: t.name, dtype: t.dtype, shape: [...t.shape], data: t.data.slice() as TypedArray };
}
