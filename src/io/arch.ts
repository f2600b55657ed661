/**
 * The architecture seam: one description per supported decoder architecture. Everything that differs
 * between Llama, Mistral, Qwen2/2.5 and Qwen3 is here (names in Hugging Face config.json and GGUF,
 * which projections carry a bias, per-head q/k norms, the sliding-window rule, defaults, the GGUF q/k
 * row order), and so is the decoder block itself: the linears the GPU graph computes with their
 * shapes, the norms, the activation and the norm form (BLOCK_LINEARS, BLOCK_NORMS), and how a
 * checkpoint stores them (`BlockLayout`: every tensor's Hugging Face and GGUF name, fused tensors as
 * the linears they stack). This file is the only production file that spells those names: loading
 * (config.ts, model.ts, gguf-llama.ts, model/params.ts), PEFT names (peft.ts), the plan, tuning,
 * merging and both exports read them through src/io/block.ts. An architecture with the same block
 * that only renames or fuses tensors is one more entry in ARCHITECTURES (with its BlockLayout).
 */

/** What a layer's tensor shapes are functions of (ModelConfig has all of it). */
export interface BlockDims {
  hidden: number;
  intermediate: number;
  heads: number;
  kvHeads: number;
  headDim: number;
}

/** One linear of the decoder block as the GPU graph computes it: y = x·Wᵀ (+ b) (+ LoRA). */
export interface LinearSpec<N extends string = string> {
  /**
   * The graph's name for it: Llama's Hugging Face module name, which is also what LoRA targets are
   * called everywhere (PEFT's target_modules, the studio, the CLI's --targets, checkpoints).
   */
  name: N;
  /** The half of the block that runs it (attention in row blocks, the MLP in MLP token blocks). */
  sublayer: 'attention' | 'mlp';
  /** [out, in] of its weight. */
  shape: (c: BlockDims) => [number, number];
  /** Its output rows are heads that RoPE rotates: n_head (q) or n_head_kv (k) of them. */
  rotary?: 'heads' | 'kvHeads';
}

const linear = <N extends string>(s: LinearSpec<N>): LinearSpec<N> => s;

/** The seven linears of the Llama block, in the graph's order. */
export const BLOCK_LINEARS = [
  linear({
    name: 'q_proj',
    sublayer: 'attention',
    rotary: 'heads',
    shape: (c) => [c.heads * c.headDim, c.hidden],
  }),
  linear({
    name: 'k_proj',
    sublayer: 'attention',
    rotary: 'kvHeads',
    shape: (c) => [c.kvHeads * c.headDim, c.hidden],
  }),
  linear({
    name: 'v_proj',
    sublayer: 'attention',
    shape: (c) => [c.kvHeads * c.headDim, c.hidden],
  }),
  linear({ name: 'o_proj', sublayer: 'attention', shape: (c) => [c.hidden, c.heads * c.headDim] }),
  linear({ name: 'gate_proj', sublayer: 'mlp', shape: (c) => [c.intermediate, c.hidden] }),
  linear({ name: 'up_proj', sublayer: 'mlp', shape: (c) => [c.intermediate, c.hidden] }),
  linear({ name: 'down_proj', sublayer: 'mlp', shape: (c) => [c.hidden, c.intermediate] }),
] as const;

/** A linear of the decoder block (and a LoRA target), by its graph name. */
export type LinearName = (typeof BLOCK_LINEARS)[number]['name'];

/** One RMSNorm weight of the decoder block. */
export interface NormSpec<N extends string = string> {
  /** The graph's name for it (the field of model/params.ts LayerParams that holds it). */
  name: N;
  shape: (c: BlockDims) => number[];
  /** Present only when the config has per-head q/k norms (ModelConfig `qkNorm`: Qwen3). */
  whenQkNorm?: true;
}

const norm = <N extends string>(s: NormSpec<N>): NormSpec<N> => s;

/**
 * The block's norms: before the attention, before the MLP, and the per-head RMSNorm over each q and
 * k head before RoPE (weights of size head_dim shared across heads). All are norms, so LoRA+ trains
 * them (with the final norm and the embedding: `trainedTensorShapes` in block.ts).
 */
export const BLOCK_NORMS = [
  norm({ name: 'inputNorm', shape: (c) => [c.hidden] }),
  norm({ name: 'postNorm', shape: (c) => [c.hidden] }),
  norm({ name: 'qNorm', shape: (c) => [c.headDim], whenQkNorm: true }),
  norm({ name: 'kNorm', shape: (c) => [c.headDim], whenQkNorm: true }),
] as const;

/** A norm of the decoder block, by its graph name. */
export type NormName = (typeof BLOCK_NORMS)[number]['name'];

/** A tensor's name in Hugging Face checkpoints and in GGUF (without `.weight` / `.bias`). */
export interface TensorNames {
  hf: string;
  gguf: string;
}

/**
 * One tensor of a decoder layer as a checkpoint stores it, under `<layer prefix>.N.`: a norm, one
 * linear, or several linears stacked by rows in the order listed (a fused tensor such as Phi-3's
 * `qkv_proj`, split at load and stacked again on export; its parts are not LoRA targets, since PEFT
 * adapts the fused module with one pair). A linear's bias, when the config has one, is `<hf>.bias`.
 */
export type LayerTensor = TensorNames &
  ({ norm: NormName; linears?: undefined } | { linears: readonly LinearName[]; norm?: undefined });

/** How a checkpoint names the model's tensors. */
export interface BlockLayout {
  /** The prefix of a layer's tensors before its index (`model.layers`, GGUF `blk`). */
  layerPrefix: TensorNames;
  /** The token embedding [vocab, hidden], trained under LoRA+ `trainEmbed`. */
  embed: TensorNames;
  /** The final norm [hidden], trained under `trainNorm`. */
  norm: TensorNames;
  /** The output layer [vocab, hidden] of an untied model (frozen). */
  lmHead: TensorNames;
  /**
   * A layer's tensors in the block's order (the order llama.cpp's converter writes them; biases
   * follow the others, and tensors present only with q/k norms come last). Every BLOCK_LINEARS
   * entry is in exactly one tensor, every norm in one.
   */
  layer: readonly LayerTensor[];
}

/** The Llama block as Hugging Face (LlamaForCausalLM and the others below) and llama.cpp name it. */
export const LLAMA_LAYOUT: BlockLayout = {
  layerPrefix: { hf: 'model.layers', gguf: 'blk' },
  embed: { hf: 'model.embed_tokens', gguf: 'token_embd' },
  norm: { hf: 'model.norm', gguf: 'output_norm' },
  lmHead: { hf: 'lm_head', gguf: 'output' },
  layer: [
    { hf: 'input_layernorm', gguf: 'attn_norm', norm: 'inputNorm' },
    { hf: 'self_attn.q_proj', gguf: 'attn_q', linears: ['q_proj'] },
    { hf: 'self_attn.k_proj', gguf: 'attn_k', linears: ['k_proj'] },
    { hf: 'self_attn.v_proj', gguf: 'attn_v', linears: ['v_proj'] },
    { hf: 'self_attn.o_proj', gguf: 'attn_output', linears: ['o_proj'] },
    { hf: 'post_attention_layernorm', gguf: 'ffn_norm', norm: 'postNorm' },
    { hf: 'mlp.gate_proj', gguf: 'ffn_gate', linears: ['gate_proj'] },
    { hf: 'mlp.up_proj', gguf: 'ffn_up', linears: ['up_proj'] },
    { hf: 'mlp.down_proj', gguf: 'ffn_down', linears: ['down_proj'] },
    { hf: 'self_attn.q_norm', gguf: 'attn_q_norm', norm: 'qNorm' },
    { hf: 'self_attn.k_norm', gguf: 'attn_k_norm', norm: 'kNorm' },
  ],
};

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
  /** How its checkpoints name the block's tensors. */
  layout: BlockLayout;
  /**
   * The MLP's activation, config.json `hidden_act`: silu, the gate of SwiGLU
   * (down(silu(gate(x)) · up(x))), the one the GPU graph runs.
   */
  activation: 'silu';
  /** The norm form: RMSNorm, y = x / rms(x) · w (the graph's; Gemma's 1 + w would be another). */
  normForm: 'rmsnorm';
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
    layout: LLAMA_LAYOUT,
    activation: 'silu',
    normForm: 'rmsnorm',
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
    layout: LLAMA_LAYOUT,
    activation: 'silu',
    normForm: 'rmsnorm',
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
    layout: LLAMA_LAYOUT,
    activation: 'silu',
    normForm: 'rmsnorm',
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
    layout: LLAMA_LAYOUT,
    activation: 'silu',
    normForm: 'rmsnorm',
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

/**
 * The description a model config names (Llama when its architecture is unknown or not given, as in
 * shapes built by hand).
 */
export function archOf(c: { architecture?: string }): Architecture {
  return (
    (c.architecture === undefined ? undefined : archByHfName(c.architecture)) ?? ARCHITECTURES[0]!
  );
}
