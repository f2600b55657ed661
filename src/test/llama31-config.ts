/**
 * meta-llama/Llama-3.1-8B's published config.json (what planning needs of it): the model of
 * Unsloth's published QLoRA context lengths, which the offload plans are compared with.
 */
import { parseHfConfig, type ModelConfig } from '../io/config.ts';

export const LLAMA_31_8B_JSON = {
  architectures: ['LlamaForCausalLM'],
  hidden_act: 'silu',
  hidden_size: 4096,
  intermediate_size: 14336,
  max_position_embeddings: 131072,
  model_type: 'llama',
  num_attention_heads: 32,
  num_hidden_layers: 32,
  num_key_value_heads: 8,
  rms_norm_eps: 1e-5,
  rope_scaling: {
    factor: 8,
    low_freq_factor: 1,
    high_freq_factor: 4,
    original_max_position_embeddings: 8192,
    rope_type: 'llama3',
  },
  rope_theta: 500000,
  tie_word_embeddings: false,
  torch_dtype: 'bfloat16',
  vocab_size: 128256,
};

/** Llama-3.1-8B's config as the plan reads it. */
export function llama31Config(): ModelConfig {
  return parseHfConfig(LLAMA_31_8B_JSON, 'Llama-3.1-8B/config.json');
}
