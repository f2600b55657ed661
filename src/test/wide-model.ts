/**
 * A small random Llama whose every width is a whole number of 256-value blocks (hidden 256, MLP 256,
 * 4 layers, 2 heads of 128 over 1 kv head, untied output): llama-quantize's K-quant types apply to
 * it without fallbacks, and its use_more_bits picks differ by layer. Deterministic in its seed.
 */
import { tinyHfFolder } from './fixtures.ts';

export const WIDE_SEED = 11;

/** The HF folder's files. */
export function wideHfFolder(): Record<string, Uint8Array> {
  return tinyHfFolder({
    seed: WIDE_SEED,
    dtype: 'F32',
    gqa: true,
    tied: false,
    sizes: {
      hidden_size: 256,
      intermediate_size: 256,
      num_hidden_layers: 4,
      num_attention_heads: 2,
      num_key_value_heads: 1,
    },
  });
}
