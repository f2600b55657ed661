/**
 * What the frozen base weights are on the GPU (issue 26 items 2 and 3): each frozen matrix — the
 * projections, the output layer, the embedding when LoRA+ does not train it — stays in the ggml
 * blocks its file stores (a quantized GGUF), or is quantized on load (`--base-quant q8_0|q4_k`,
 * the studio's "Base weights"), or keeps its float dtype. One rule, used by the upload
 * (LlamaParams.load) and the memory plan, so the two agree.
 *
 * Quantizing on load follows llama.cpp (no importance matrix): Q8_0 needs rows of whole 32-value
 * blocks and Q4_K of whole 256-value ones; where a Q4_K row is not whole blocks, llama.cpp's
 * fallback Q5_0 (32-value blocks) is used, as its quantize tool does; a row that is not whole
 * 32-value blocks keeps its float dtype. A weight the file already stores quantized is never
 * quantized again (that would lose precision the user did not ask to lose): `--base-quant` applies to
 * float weights only.
 */
import {
  GPU_QUANT_LAYOUTS,
  quantWeightBytes,
  type GpuQuantType,
} from '../engine/kernels/quant-layout.ts';
import { DTYPE_BYTES } from '../util/dtype.ts';

/** Quantize-on-load choices (`--base-quant`). */
export type BaseQuant = 'none' | 'q8_0' | 'q4_k';
export const BASE_QUANTS: readonly BaseQuant[] = ['none', 'q8_0', 'q4_k'];

/** The studio's words for each choice. */
export const BASE_QUANT_LABELS: Readonly<Record<BaseQuant, string>> = {
  none: 'as stored',
  q8_0: '8-bit (Q8_0)',
  q4_k: '4-bit (Q4_K)',
};

/** A frozen matrix's element type on the GPU: a float dtype or ggml blocks in the GPU layout. */
export type FrozenType = 'f32' | 'f16' | 'bf16' | GpuQuantType;

/** Whether a type is quantized blocks (not a float dtype). */
export function isQuantType(t: FrozenType): t is GpuQuantType {
  return t in GPU_QUANT_LAYOUTS;
}

const FLOAT: Readonly<Record<string, FrozenType>> = { F32: 'f32', F16: 'f16', BF16: 'bf16' };

/**
 * The GPU type of a frozen matrix with rows of `cols` values that its file stores as `stored` (a
 * safetensors dtype F32/F16/BF16, or a ggml quantized type name as io/quant.ts spells it), under
 * `baseQuant`.
 */
export function frozenType(stored: string, cols: number, baseQuant: BaseQuant): FrozenType {
  if (stored in GPU_QUANT_LAYOUTS) return stored as GpuQuantType;
  const float = FLOAT[stored];
  if (!float) return 'f32';
  if (baseQuant === 'q4_k' && cols % 256 === 0) return 'Q4_K';
  if (baseQuant !== 'none' && cols % 32 === 0) return baseQuant === 'q4_k' ? 'Q5_0' : 'Q8_0';
  return float;
}

/** Bytes a [rows, cols] frozen matrix of `type` takes on the GPU (floats padded to 4 bytes). */
export function frozenBytes(type: FrozenType, rows: number, cols: number): number {
  if (isQuantType(type)) return quantWeightBytes(type, rows, cols);
  return Math.max(4, Math.ceil((rows * cols * DTYPE_BYTES[type]) / 4) * 4);
}

/** Bytes per value of a type on the GPU (for a table: Q4_K 0.59, bf16 2). */
export function frozenBytesPerValue(type: FrozenType): number {
  if (!isQuantType(type)) return DTYPE_BYTES[type];
  const l = GPU_QUANT_LAYOUTS[type];
  return (l.words * 4) / l.block;
}

/** How a frozen matrix is stored in its file: its Hugging Face name, dtype and, if quantized, ggml type. */
export interface StoredTensor {
  name: string;
  dtype: string;
  stored?: { type: string };
}

/**
 * The GPU type of each frozen matrix of an opened model under `baseQuant`, by Hugging Face name
 * (`cols` the row length). Tensors not listed are float (their dtype is unknown here: 'f32').
 */
export function frozenTypes(
  tensors: readonly StoredTensor[],
  baseQuant: BaseQuant,
): (name: string, cols: number) => FrozenType {
  const by = new Map(tensors.map((t) => [t.name, t.stored?.type ?? t.dtype]));
  return (name, cols) => frozenType(by.get(name) ?? 'F32', cols, baseQuant);
}
