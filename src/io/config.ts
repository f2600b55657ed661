/** Model configuration: Hugging Face config.json → one normalized ModelConfig, and weight-shape checks. */
import {
  archByHfName,
  archByModelType,
  archOf,
  biasName,
  qkNormName,
  SUPPORTED_ARCHITECTURES,
} from './arch.ts';
import { describeValue, FormatError, UnsupportedModelError } from './errors.ts';

export { SUPPORTED_ARCHITECTURES } from './arch.ts';

/**
 * RoPE scaling the model was trained with: none, linear position interpolation, Llama 3's, or
 * dynamic NTK (parsed so the model opens, but refused for training: `ropeProblem` in
 * src/model/longlora.ts).
 */
export type RopeScaling =
  | null
  | { type: 'linear'; factor: number }
  | { type: 'dynamic'; factor: number }
  | {
      type: 'llama3';
      factor: number;
      lowFreqFactor: number;
      highFreqFactor: number;
      originalMaxPositions: number;
    };

/**
 * The normalized description of a Llama-block model (Llama, Mistral, Qwen2, Qwen3: src/io/arch.ts),
 * whatever file it came from.
 */
export interface ModelConfig {
  /** config.json's architecture name (`LlamaForCausalLM`, `Qwen2ForCausalLM`, …). */
  architecture: string;
  /** Projections carrying a frozen bias (the architecture's; Qwen2: q, k, v). */
  biases: readonly LinearName[];
  /** Per-head RMSNorm of q and k before RoPE (Qwen3). */
  qkNorm: boolean;
  /**
   * Mistral's attention window (tokens), null for none: a target context longer than it is refused
   * (slidingWindowProblem), since LongLoRA trains full-span attention.
   */
  slidingWindow: number | null;
  vocabSize: number;
  hidden: number;
  intermediate: number;
  layers: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  rmsEps: number;
  ropeTheta: number;
  maxPositions: number;
  ropeScaling: RopeScaling;
  tieWordEmbeddings: boolean;
  bosId: number;
  /** The first end-of-sequence id (the one appended to documents). */
  eosId: number;
  /** Every id that ends generation (Llama 3.x lists several). */
  eosIds: number[];
  torchDtype: string | null;
}

type Json = Record<string, unknown>;

/** Parses a Hugging Face config.json (object or text); unsupported architectures/features throw. */
export function parseHfConfig(json: unknown, file = 'config.json'): ModelConfig {
  if (typeof json === 'string') {
    try {
      json = JSON.parse(json) as unknown;
    } catch (e) {
      throw new FormatError(file, `invalid JSON (${(e as Error).message})`);
    }
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new FormatError(file, 'config is not a JSON object');
  }
  const c = json as Json;
  const unsupported = (msg: string): never => {
    throw new UnsupportedModelError(file, msg);
  };
  const archs = Array.isArray(c.architectures)
    ? c.architectures.map((a) => (typeof a === 'string' ? a : describeValue(a)))
    : [];
  const byType = typeof c.model_type === 'string' ? archByModelType(c.model_type) : undefined;
  const archName = archs[0] ?? byType?.hfArchitecture ?? 'LlamaForCausalLM';
  const arch = archByHfName(archName);
  if (!arch) {
    return unsupported(
      `architecture ${archName} is not supported (supported: ${SUPPORTED_ARCHITECTURES.join(', ')})`,
    );
  }
  if (c.model_type !== undefined && !byType) {
    unsupported(`model_type ${describeValue(c.model_type)} is not supported`);
  }
  const int = (key: string, fallback?: number): number => {
    const v = c[key] ?? fallback;
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) {
      throw new FormatError(
        file,
        `"${key}" must be a positive integer (found ${describeValue(v)})`,
      );
    }
    return v;
  };
  const float = (key: string, fallback: number): number => {
    const v = c[key] ?? fallback;
    if (typeof v !== 'number' || !(v > 0))
      throw new FormatError(file, `"${key}" must be a positive number`);
    return v;
  };
  if (c.attention_bias === true && !arch.biases.length)
    unsupported('attention bias (attention_bias: true) is not supported');
  if (c.mlp_bias === true) unsupported('MLP bias (mlp_bias: true) is not supported');
  for (const key of ['num_local_experts', 'num_experts', 'n_routed_experts']) {
    if (typeof c[key] === 'number' && (c[key] as number) > 1) {
      unsupported(`mixture-of-experts (${key}: ${String(c[key])}) is not supported`);
    }
  }
  // Qwen2/Qwen3 configs carry a sliding_window value that only applies with use_sliding_window.
  let slidingWindow: number | null = null;
  if (arch.slidingWindow === 'use_sliding_window') {
    if (c.use_sliding_window === true)
      unsupported(
        `sliding-window attention (use_sliding_window: true, sliding_window: ${describeValue(c.sliding_window)}) is not supported: LongLoRA trains full-span attention (shifted sparse attention in training, full attention at inference), which a model trained to see only a window was not`,
      );
  } else if (typeof c.sliding_window === 'number' && c.use_sliding_window !== false) {
    slidingWindow = c.sliding_window;
  }
  const act = c.hidden_act ?? c.hidden_activation ?? 'silu';
  if (act !== 'silu')
    unsupported(`activation ${describeValue(act)} is not supported (only silu / SwiGLU)`);

  const hidden = int('hidden_size');
  const heads = int('num_attention_heads');
  const kvHeads = int('num_key_value_heads', heads);
  if (heads % kvHeads !== 0) {
    throw new FormatError(
      file,
      `num_attention_heads ${heads} is not a multiple of num_key_value_heads ${kvHeads}`,
    );
  }
  const headDim =
    c.head_dim === undefined || c.head_dim === null ? hidden / heads : int('head_dim');
  checkHeadDim(file, headDim);
  const ids = (v: unknown): number[] =>
    typeof v === 'number'
      ? [v]
      : Array.isArray(v)
        ? v.filter((x): x is number => typeof x === 'number')
        : [];
  const eosIds = ids(c.eos_token_id);
  return {
    architecture: arch.hfArchitecture,
    biases: arch.biases,
    qkNorm: arch.qkNorm,
    slidingWindow,
    vocabSize: int('vocab_size'),
    hidden,
    intermediate: int('intermediate_size'),
    layers: int('num_hidden_layers'),
    heads,
    kvHeads,
    headDim,
    rmsEps: float('rms_norm_eps', arch.defaults.rmsEps),
    ropeTheta: float('rope_theta', arch.defaults.ropeTheta),
    maxPositions: int('max_position_embeddings', arch.defaults.maxPositions),
    ropeScaling: parseRopeScaling(c.rope_scaling, file),
    tieWordEmbeddings: c.tie_word_embeddings === true,
    bosId: ids(c.bos_token_id)[0] ?? 1,
    eosId: eosIds[0] ?? 2,
    eosIds: eosIds.length ? eosIds : [2],
    torchDtype:
      typeof c.torch_dtype === 'string'
        ? c.torch_dtype
        : typeof c.dtype === 'string'
          ? c.dtype
          : null,
  };
}

/** Parses a config.json `rope_scaling` entry (`type` or `rope_type`); unknown types throw. */
export function parseRopeScaling(v: unknown, file = 'config.json'): RopeScaling {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'object' || Array.isArray(v))
    throw new FormatError(file, 'rope_scaling is not an object');
  const r = v as Json;
  const rawType = r.rope_type ?? r.type;
  const type = typeof rawType === 'string' ? rawType : describeValue(rawType);
  const factor = r.factor;
  if (type === 'default') return null;
  if (typeof factor !== 'number' || !(factor > 0))
    throw new FormatError(file, 'rope_scaling.factor must be a positive number');
  if (type === 'linear') return { type: 'linear', factor };
  if (type === 'dynamic') return { type: 'dynamic', factor };
  if (type === 'llama3') {
    const need = (k: string): number => {
      if (typeof r[k] !== 'number') throw new FormatError(file, `rope_scaling.${k} is missing`);
      return r[k] as number;
    };
    return {
      type: 'llama3',
      factor,
      lowFreqFactor: need('low_freq_factor'),
      highFreqFactor: need('high_freq_factor'),
      originalMaxPositions: need('original_max_position_embeddings'),
    };
  }
  throw new UnsupportedModelError(
    file,
    `rope_scaling type "${type}" is not supported (only linear, llama3 and dynamic)`,
  );
}

/** A RopeScaling as a Hugging Face config.json `rope_scaling` entry (null for none). */
export function ropeScalingToHfJson(r: RopeScaling): Json | null {
  if (r === null) return null;
  switch (r.type) {
    case 'linear':
    case 'dynamic':
      return { type: r.type, factor: r.factor };
    case 'llama3':
      return {
        rope_type: 'llama3',
        factor: r.factor,
        low_freq_factor: r.lowFreqFactor,
        high_freq_factor: r.highFreqFactor,
        original_max_position_embeddings: r.originalMaxPositions,
      };
  }
}

/**
 * Why training at `context` tokens is refused for this model's attention window (Mistral's
 * sliding_window shorter than the context), or null.
 */
export function slidingWindowProblem(
  c: Pick<ModelConfig, 'slidingWindow'>,
  context: number,
): string | null {
  if (c.slidingWindow === null || context <= c.slidingWindow) return null;
  return (
    `the model attends within a sliding window of ${c.slidingWindow} tokens (config.json sliding_window), ` +
    `shorter than the target context of ${context}: LongLoRA trains full-span attention, which ` +
    'a windowed model was not trained for. Use a context of at most the window, or a model without one.'
  );
}

/** Serialises a ModelConfig back to a Hugging Face config.json object of its architecture. */
export function modelConfigToHfJson(c: ModelConfig): Json {
  const rope = ropeScalingToHfJson(c.ropeScaling);
  const arch = archOf(c);
  const windowKeys: Json =
    arch.slidingWindow === 'use_sliding_window'
      ? { use_sliding_window: false }
      : c.slidingWindow !== null
        ? { sliding_window: c.slidingWindow }
        : {};
  return {
    architectures: [c.architecture],
    model_type: arch.modelType,
    ...windowKeys,
    vocab_size: c.vocabSize,
    hidden_size: c.hidden,
    intermediate_size: c.intermediate,
    num_hidden_layers: c.layers,
    num_attention_heads: c.heads,
    num_key_value_heads: c.kvHeads,
    head_dim: c.headDim,
    max_position_embeddings: c.maxPositions,
    rms_norm_eps: c.rmsEps,
    rope_theta: c.ropeTheta,
    rope_scaling: rope,
    tie_word_embeddings: c.tieWordEmbeddings,
    hidden_act: 'silu',
    bos_token_id: c.bosId,
    eos_token_id: c.eosIds.length > 1 ? c.eosIds : c.eosId,
    torch_dtype: c.torchDtype ?? 'float32',
  };
}

/** The seven linear layers of a decoder block, by their Hugging Face names. */
export const LINEAR_NAMES = [
  'q_proj',
  'k_proj',
  'v_proj',
  'o_proj',
  'gate_proj',
  'up_proj',
  'down_proj',
] as const;
export type LinearName = (typeof LINEAR_NAMES)[number];

/** Whether `x` names one of the seven linear layers. */
export function isLinearName(x: unknown): x is LinearName {
  return typeof x === 'string' && (LINEAR_NAMES as readonly string[]).includes(x);
}

const ATTENTION_LINEARS: readonly LinearName[] = ['q_proj', 'k_proj', 'v_proj', 'o_proj'];

/** The module path of a linear inside a layer (`self_attn.q_proj`, `mlp.up_proj`). */
export function linearPath(name: LinearName): string {
  return ATTENTION_LINEARS.includes(name) ? `self_attn.${name}` : `mlp.${name}`;
}

/** [out, in] of a linear layer's weight. */
export function linearShape(
  c: Pick<ModelConfig, 'heads' | 'kvHeads' | 'headDim' | 'hidden' | 'intermediate'>,
  name: LinearName,
): [number, number] {
  const q = c.heads * c.headDim;
  const kv = c.kvHeads * c.headDim;
  switch (name) {
    case 'q_proj':
      return [q, c.hidden];
    case 'k_proj':
    case 'v_proj':
      return [kv, c.hidden];
    case 'o_proj':
      return [c.hidden, q];
    case 'gate_proj':
    case 'up_proj':
      return [c.intermediate, c.hidden];
    case 'down_proj':
      return [c.hidden, c.intermediate];
  }
}

/** What the norm and embedding tensors' names and shapes depend on. */
type NormShape = Pick<ModelConfig, 'vocabSize' | 'hidden' | 'layers' | 'headDim' | 'qkNorm'>;

/**
 * A layer's RMSNorm weights with their shapes, in checkpoint order: the per-head q/k norms when the
 * architecture has them (arch.ts `qkNorm`, Qwen3), then the input and post-attention norms.
 */
function layerNorms(c: NormShape, i: number): [string, number[]][] {
  return [
    ...(c.qkNorm
      ? ([
          [qkNormName(i, 'q'), [c.headDim]],
          [qkNormName(i, 'k'), [c.headDim]],
        ] as [string, number[]][])
      : []),
    [`model.layers.${i}.input_layernorm.weight`, [c.hidden]],
    [`model.layers.${i}.post_attention_layernorm.weight`, [c.hidden]],
  ];
}

/**
 * The full tensors LoRA+ trains besides the LoRA pairs, with their HF shapes: the embedding
 * (`trainEmbed`) and every RMSNorm weight of the architecture (`trainNorm`: each layer's, Qwen3's
 * q/k norms included, and the final norm) — the same names expectedTensors lists.
 */
export function trainedTensorShapes(
  c: NormShape,
  t: { trainEmbed: boolean; trainNorm: boolean },
): Map<string, number[]> {
  const m = new Map<string, number[]>();
  if (t.trainEmbed) m.set('model.embed_tokens.weight', [c.vocabSize, c.hidden]);
  if (t.trainNorm) {
    for (let i = 0; i < c.layers; i++) for (const [n, shape] of layerNorms(c, i)) m.set(n, shape);
    m.set('model.norm.weight', [c.hidden]);
  }
  return m;
}

/** Every tensor a checkpoint with this config must hold, with its HF shape (biases and q/k norms per its architecture). */
export function expectedTensors(c: ModelConfig): Map<string, number[]> {
  const m = new Map<string, number[]>();
  m.set('model.embed_tokens.weight', [c.vocabSize, c.hidden]);
  for (let i = 0; i < c.layers; i++) {
    for (const mod of LINEAR_NAMES) {
      m.set(`model.layers.${i}.${linearPath(mod)}.weight`, linearShape(c, mod));
    }
    for (const mod of c.biases) m.set(biasName(i, linearPath(mod)), [linearShape(c, mod)[0]]);
    for (const [n, shape] of layerNorms(c, i)) m.set(n, shape);
  }
  m.set('model.norm.weight', [c.hidden]);
  if (!c.tieWordEmbeddings) m.set('lm_head.weight', [c.vocabSize, c.hidden]);
  return m;
}

/** Tensors that may appear without being used (old checkpoints keep rotary buffers; tied models may still store lm_head). */
function ignorable(c: ModelConfig, name: string): boolean {
  return name.endsWith('rotary_emb.inv_freq') || (c.tieWordEmbeddings && name === 'lm_head.weight');
}

/**
 * The largest head dimension the attention kernels take (engine/kernels/attention.ts
 * ATTENTION_MAX_HEAD_DIM; a test keeps the two equal).
 */
export const MAX_HEAD_DIM = 128;

/**
 * Refuses a head dimension the GPU graph cannot run when the model is opened (HF config or GGUF
 * metadata), rather than at its first step: odd or fractional is a malformed file, more than
 * MAX_HEAD_DIM an unsupported model.
 */
export function checkHeadDim(file: string, headDim: number): void {
  if (!Number.isInteger(headDim) || headDim % 2 !== 0)
    throw new FormatError(file, `head dimension ${headDim} must be an even integer`);
  if (headDim > MAX_HEAD_DIM)
    throw new UnsupportedModelError(
      file,
      `head_dim ${headDim} is more than the ${MAX_HEAD_DIM} this studio's attention kernels take`,
    );
}

/**
 * Checks tensor names and shapes against the config. Throws a FormatError naming every wrong shape
 * (expected vs found) and every missing tensor; returns the unexpected tensors it will ignore.
 */
export function checkWeightsAgainstConfig(
  config: ModelConfig,
  tensors: readonly { name: string; shape: readonly number[] }[],
  file = 'weights',
): { unexpected: string[] } {
  // A config claiming more layers than there are tensors is refused before listing what it expects
  // (a corrupt num_hidden_layers of 2^53 would otherwise build a map of 2^56 names).
  if (config.layers > tensors.length)
    throw new FormatError(
      file,
      `weights do not match the config: ${config.layers} layers need ${9 * config.layers + 2} or more tensors, the weights hold ${tensors.length}`,
    );
  const expected = expectedTensors(config);
  const found = new Map(tensors.map((t) => [t.name, t.shape]));
  const bias = tensors.find(
    (t) => /\.(q_proj|k_proj|v_proj|o_proj)\.bias$/.test(t.name) && !expected.has(t.name),
  );
  if (bias)
    throw new UnsupportedModelError(
      file,
      `attention bias (${bias.name}) is not supported for ${config.architecture}`,
    );
  const problems: string[] = [];
  const missing: string[] = [];
  for (const [name, shape] of expected) {
    const got = found.get(name);
    if (!got) missing.push(name);
    else if (got.length !== shape.length || got.some((d, i) => d !== shape[i])) {
      problems.push(
        `tensor ${name} has shape [${got.join(', ')}] but the config expects [${shape.join(', ')}]`,
      );
    }
  }
  if (missing.length) {
    const shown =
      missing.length > 20 ? [...missing.slice(0, 20), `… (${missing.length - 20} more)`] : missing;
    problems.push(`missing tensors: ${shown.join(', ')}`);
  }
  if (problems.length)
    throw new FormatError(file, `weights do not match the config: ${problems.join('; ')}`);
  const unexpected = tensors
    .map((t) => t.name)
    .filter((n) => !expected.has(n) && !ignorable(config, n));
  return { unexpected };
}
