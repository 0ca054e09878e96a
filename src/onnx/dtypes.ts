// ONNX TensorProto.DataType codes and onnxruntime type names for drivetrain dtypes.
import type { DType } from '../tensor.js';

/** TensorProto.DataType codes by their ONNX names: write `{ to: DataType.INT64 }`, never `{ to: 7 }`. */
export const DataType = { FLOAT: 1, UINT8: 2, INT32: 6, INT64: 7, BOOL: 9, FLOAT16: 10, DOUBLE: 11 } as const;

/** The code of each drivetrain dtype (`{ to: ONNX_DTYPE[dtype] }` casts to a dtype held in a variable). */
export const ONNX_DTYPE: Record<DType, number> = {
  float32: DataType.FLOAT,
  uint8: DataType.UINT8,
  int32: DataType.INT32,
  int64: DataType.INT64,
  bool: DataType.BOOL,
  float16: DataType.FLOAT16,
  float64: DataType.DOUBLE,
};

const FROM_ONNX = new Map<number, DType>(Object.entries(ONNX_DTYPE).map(([k, v]) => [v, k as DType]));

export function dtypeFromOnnx(code: number): DType {
  const d = FROM_ONNX.get(code);
  if (!d) throw new Error(`unsupported ONNX data type ${code}`);
  return d;
}

/** onnxruntime-common Tensor type strings. */
export const ORT_TYPE: Record<DType, string> = {
  float32: 'float32',
  float16: 'float16',
  float64: 'float64',
  int64: 'int64',
  int32: 'int32',
  uint8: 'uint8',
  bool: 'bool',
};

export function isFloat(d: DType): boolean {
  return d === 'float32' || d === 'float16' || d === 'float64';
}
