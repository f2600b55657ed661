/**
 * The architecture seam: one description per supported decoder architecture. Everything that differs
 * between Llama, Mistral, Qwen2/2.5 and Qwen3 is here (names in Hugging Face config.json and GGUF,
 * which projections carry a bias, per-head q/k norms, the sliding-window rule, defaults, the GGUF q/k
 * row order, the tensors of a layer); the loader (config.ts, model.ts, gguf-llama.ts), the planner,
 * the GPU graph, generation, the float64 reference's test bridge, the exporters and the UI read it
 * through ModelConfig's `biases` / `qkNorm` and the functions below. Adding an architecture with the
 * same block (RMSNorm, rotary attention, SwiGLU) means adding an entry to ARCHITECTURES.
 */
import type { LinearName } from './config.ts';

/** How config.json's sliding-window keys are read. */
export type SlidingWindowRule =
  /** `sliding_window` is honoured (Mistral): a window shorter than the target context is refused at plan time. */
  | 'window'
  /** Honoured only when `use_sliding_window` is true (Qwen2/Qwen3), which is refused. */
  | 'use_sliding_window';

export interface Architecture {
  /** Short id (also the GGUF `general.architecture`). */
  id: 'llama' | 'mistral' | 'qwen2' | 'qwen3';
  /** Name shown in the UI and the CLI. */
  label: string;
  /** config.json `architectures[0]` value. */
  hfArchitecture: string;
  /** config.json `model_type`. */
  modelType: string;
  /** GGUF `general.architecture` (and metadata key prefix). */
  ggufArch: string;
  /**
   * Projections that carry a (frozen) bias: y = x·Wᵀ + b + LoRA, the bias added after the weight as
   * PEFT's LoRA layer does (`base_layer(x) + lora_B(lora_A(x))·s`, the base layer holding the bias).
   */
  biases: readonly LinearName[];
  /**
   * RMSNorm over each q and k head before RoPE (`self_attn.q_norm` / `k_norm`, weights of size
   * head_dim shared across heads). They are norms, so LoRA+ trains them with the others.
   */
  qkNorm: boolean;
  slidingWindow: SlidingWindowRule;
  /** Defaults when config.json omits the key. */
  defaults: { ropeTheta: number; rmsEps: number; maxPositions: number };
  /**
   * Whether llama.cpp's converter permutes q/k rows into interleaved rotary order (llama: yes; the
   * NEOX-rope architectures qwen2/qwen3 keep Hugging Face's rotate-half order).
   */
  ggufPermuteQK: boolean;
}

export const ARCHITECTURES: readonly Architecture[] = [
  {
    id: 'llama',
    label: 'Llama',
    hfArchitecture: 'LlamaForCausalLM',
    modelType: 'llama',
    ggufArch: 'llama',
    biases: [],
    qkNorm: false,
    slidingWindow: 'window',
    defaults: { ropeTheta: 10000, rmsEps: 1e-6, maxPositions: 2048 },
    ggufPermuteQK: true,
  },
  {
    id: 'mistral',
    label: 'Mistral',
    hfArchitecture: 'MistralForCausalLM',
    modelType: 'mistral',
    // llama.cpp converts Mistral checkpoints to the llama architecture.
    ggufArch: 'llama',
    biases: [],
    qkNorm: false,
    slidingWindow: 'window',
    defaults: { ropeTheta: 10000, rmsEps: 1e-6, maxPositions: 2048 },
    ggufPermuteQK: true,
  },
  {
    id: 'qwen2',
    label: 'Qwen2',
    hfArchitecture: 'Qwen2ForCausalLM',
    modelType: 'qwen2',
    ggufArch: 'qwen2',
    biases: ['q_proj', 'k_proj', 'v_proj'],
    qkNorm: false,
    slidingWindow: 'use_sliding_window',
    defaults: { ropeTheta: 10000, rmsEps: 1e-6, maxPositions: 32768 },
    ggufPermuteQK: false,
  },
  {
    id: 'qwen3',
    label: 'Qwen3',
    hfArchitecture: 'Qwen3ForCausalLM',
    modelType: 'qwen3',
    ggufArch: 'qwen3',
    biases: [],
    qkNorm: true,
    slidingWindow: 'use_sliding_window',
    defaults: { ropeTheta: 10000, rmsEps: 1e-6, maxPositions: 32768 },
    ggufPermuteQK: false,
  },
];

/** The supported config.json architectures, for messages. */
export const SUPPORTED_ARCHITECTURES = ARCHITECTURES.map((a) => a.hfArchitecture);

/** The description of a config.json architecture name (undefined when unsupported). */
export function archByHfName(name: string): Architecture | undefined {
  return ARCHITECTURES.find((a) => a.hfArchitecture === name);
}

/** The description of a config.json model_type (undefined when unsupported). */
export function archByModelType(type: string): Architecture | undefined {
  return ARCHITECTURES.find((a) => a.modelType === type);
}

/** The description of a GGUF general.architecture (the first entry naming it: llama for "llama"). */
export function archByGguf(name: string): Architecture | undefined {
  return ARCHITECTURES.find((a) => a.ggufArch === name);
}

/** The description a model config names (Llama when its architecture is unknown). */
export function archOf(c: { architecture: string }): Architecture {
  return archByHfName(c.architecture) ?? ARCHITECTURES[0]!;
}

/** The HF name of a layer's q or k norm weight. */
export function qkNormName(layer: number, which: 'q' | 'k'): string {
  return `model.layers.${layer}.self_attn.${which}_norm.weight`;
}

/** The HF name of a projection's bias. */
export function biasName(layer: number, path: string): string {
  return `model.layers.${layer}.${path}.bias`;
}

/**
 * GGUF layer tensor names (after `blk.N.`) → Hugging Face names (after `model.layers.N.`), the
 * union over every architecture (an architecture without biases or q/k norms has no such tensors).
 */
export const GGUF_LAYER_NAMES: Readonly<Record<string, string>> = {
  attn_q: 'self_attn.q_proj',
  attn_k: 'self_attn.k_proj',
  attn_v: 'self_attn.v_proj',
  attn_output: 'self_attn.o_proj',
  ffn_gate: 'mlp.gate_proj',
  ffn_up: 'mlp.up_proj',
  ffn_down: 'mlp.down_proj',
  attn_norm: 'input_layernorm',
  ffn_norm: 'post_attention_layernorm',
  attn_q_norm: 'self_attn.q_norm',
  attn_k_norm: 'self_attn.k_norm',
};
