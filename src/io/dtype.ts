/** The tensor element types the readers support, their sizes and conversion to f32. */
import { decodeHalves, encodeHalves } from '../util/half.ts';
import { DTYPE_BYTES, type DType } from '../util/dtype.ts';

/** Storage dtypes a model's weights may have (safetensors spelling). */
export type WeightDtype = 'F32' | 'F16' | 'BF16';

export const WEIGHT_DTYPES: readonly WeightDtype[] = ['F32', 'F16', 'BF16'];

/** Bytes per element (util/dtype.ts's table, under the lower-case name). */
export function dtypeBytes(dtype: WeightDtype): number {
  return DTYPE_BYTES[dtype.toLowerCase() as DType];
}

/** Bytes per element the frozen weights keep on the GPU: their widest stored dtype. */
export function storedWeightBytes(dtypes: readonly WeightDtype[]): number {
  return Math.max(2, ...dtypes.map(dtypeBytes));
}

/** Number of elements of a shape (1 for a scalar). */
export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Decodes little-endian tensor bytes to f32 values. */
export function bytesToF32(bytes: Uint8Array, dtype: WeightDtype): Float32Array {
  const aligned = bytes.byteOffset % 4 === 0 ? bytes : bytes.slice();
  if (dtype === 'F32') {
    return new Float32Array(aligned.buffer, aligned.byteOffset, aligned.byteLength / 4).slice();
  }
  const halves = new Uint16Array(aligned.buffer, aligned.byteOffset, aligned.byteLength / 2);
  return decodeHalves(halves, dtype === 'BF16' ? 'bf16' : 'f16');
}

/** Encodes f32 values to little-endian bytes of the dtype (round to nearest even for halves). */
export function f32ToBytes(values: Float32Array, dtype: WeightDtype): Uint8Array {
  if (dtype === 'F32') return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  const halves = encodeHalves(values, dtype === 'BF16' ? 'bf16' : 'f16');
  return new Uint8Array(halves.buffer);
}
