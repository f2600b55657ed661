/**
 * Element types and their byte widths: the one table the GPU tensors, the row blocks, the model
 * files' dtypes (io/dtype.ts), tuning and the exports read. bf16 and f16 are 2 bytes (packed two per
 * u32 on the GPU); the others 4.
 */

/** Element types a tensor can hold (lower-case; safetensors' 'F32' | 'F16' | 'BF16' lower-cased). */
export type DType = 'f32' | 'bf16' | 'f16' | 'u32' | 'i32';

/** Bytes per element. */
export const DTYPE_BYTES: Readonly<Record<DType, number>> = {
  f32: 4,
  bf16: 2,
  f16: 2,
  u32: 4,
  i32: 4,
};
