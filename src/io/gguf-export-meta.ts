/**
 * The GGUF export's types and the model's metadata: the exported element types, the RoPE a GGUF
 * needs to reproduce training (ggufRope) and the architecture's metadata under its GGUF prefix
 * (archKvs: sizes, heads, RoPE base and linear scaling).
 */
import { archOf } from './arch.ts';
import type { ModelConfig } from './config.ts';
import { GgufExportError } from './errors.ts';
import type { GgufKv } from './gguf-writer.ts';

/**
 * The element type of the exported matrices (1-D tensors, the norms, stay f32 as llama.cpp's
 * converter keeps them). q8_0 and q4_k_m quantize as `llama-quantize … Q8_0 / Q4_K_M` does
 * (gguf-export-merge.ts).
 */
export type GgufExportDtype = 'f32' | 'f16' | 'bf16' | 'q8_0' | 'q4_k_m' | 'q6_k';
export const GGUF_EXPORT_DTYPES: readonly GgufExportDtype[] = [
  'f32',
  'f16',
  'bf16',
  'q8_0',
  'q4_k_m',
  'q6_k',
];

/** GGML tensor types of the exported tensors. */
export const GGML = { f32: 0, f16: 1, bf16: 30, q8_0: 8 } as const;
/** general.file_type: llama.cpp's LLAMA_FTYPE_ALL_F32, MOSTLY_F16, MOSTLY_BF16, MOSTLY_Q8_0, MOSTLY_Q4_K_M. */
export const FILE_TYPE = { f32: 0, f16: 1, bf16: 32, q8_0: 7, q4_k_m: 15, q6_k: 18 } as const;
/** general.quantization_version a quantized file carries (ggml's GGML_QNT_VERSION). */
export const QUANTIZATION_VERSION = 2;
/** The safetensors spelling of each export dtype (the f32 → 16-bit conversion's target). */
export const WEIGHT = { f32: 'F32', f16: 'F16', bf16: 'BF16' } as const;

/** How the exported model's RoPE reproduces training. */
export type GgufRope =
  | { kind: 'plain' }
  | { kind: 'linear'; factor: number }
  /** llama3 frequencies: llama.cpp divides each frequency by its factor (a rope_freqs tensor). */
  | { kind: 'freqs'; factors: Float32Array };

/** Inverse RoPE frequencies for a linear factor, reshaped by llama3 parameters when given (HF names). */
export type InvFreq = (
  factor: number,
  llama3?: {
    factor: number;
    low_freq_factor: number;
    high_freq_factor: number;
    original_max_position_embeddings: number;
  },
) => Float32Array;

/**
 * The RoPE a GGUF needs to reproduce training at linear factor `factor`: the model's llama3
 * frequencies as llama.cpp's rope_freqs factors (plain / trained inverse frequency, the factor
 * included), else linear ×F when F > 1, else plain. `invFreq` computes the inverse frequencies (the
 * engine's own, so the rule lives in one place). A "dynamic" model is refused.
 */
export function ggufRope(config: ModelConfig, factor: number, invFreq: InvFreq): GgufRope {
  const r = config.ropeScaling;
  if (r?.type === 'dynamic')
    throw new GgufExportError(
      'config.json',
      'rope_scaling type "dynamic" changes its frequencies with the sequence length, which a GGUF cannot express; export refused',
    );
  if (r?.type === 'llama3') {
    const plain = invFreq(1);
    const trained = invFreq(factor, {
      factor: r.factor,
      low_freq_factor: r.lowFreqFactor,
      high_freq_factor: r.highFreqFactor,
      original_max_position_embeddings: r.originalMaxPositions,
    });
    return { kind: 'freqs', factors: plain.map((p, i) => p / trained[i]!) };
  }
  return factor === 1 ? { kind: 'plain' } : { kind: 'linear', factor };
}

/** The model's metadata under its GGUF architecture's prefix (llama, qwen2, qwen3: src/io/arch.ts). */
export function archKvs(
  config: ModelConfig,
  o: { name: string; contextLength: number; rope: GgufRope },
): GgufKv[] {
  const p = archOf(config).ggufArch;
  const kvs: GgufKv[] = [
    { key: 'general.architecture', type: 'string', value: p },
    { key: 'general.name', type: 'string', value: o.name },
    { key: `${p}.context_length`, type: 'u32', value: o.contextLength },
    { key: `${p}.embedding_length`, type: 'u32', value: config.hidden },
    { key: `${p}.block_count`, type: 'u32', value: config.layers },
    { key: `${p}.feed_forward_length`, type: 'u32', value: config.intermediate },
    { key: `${p}.attention.head_count`, type: 'u32', value: config.heads },
    { key: `${p}.attention.head_count_kv`, type: 'u32', value: config.kvHeads },
    { key: `${p}.rope.dimension_count`, type: 'u32', value: config.headDim },
    { key: `${p}.rope.freq_base`, type: 'f32', value: config.ropeTheta },
    { key: `${p}.attention.layer_norm_rms_epsilon`, type: 'f32', value: config.rmsEps },
    { key: `${p}.vocab_size`, type: 'u32', value: config.vocabSize },
  ];
  if (config.headDim * config.heads !== config.hidden) {
    kvs.push(
      { key: `${p}.attention.key_length`, type: 'u32', value: config.headDim },
      { key: `${p}.attention.value_length`, type: 'u32', value: config.headDim },
    );
  }
  if (o.rope.kind === 'linear' && o.rope.factor !== 1) {
    kvs.push(
      { key: `${p}.rope.scaling.type`, type: 'string', value: 'linear' },
      { key: `${p}.rope.scaling.factor`, type: 'f32', value: o.rope.factor },
    );
  }
  return kvs;
}
