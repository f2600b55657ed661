/** Model configuration: Hugging Face config.json → one normalized ModelConfig, and weight-shape checks. */
import {
  archByHfName,
  archByModelType,
  archOf,
  SUPPORTED_ARCHITECTURES,
  type LinearName,
} from './arch.ts';
import { expectedTensors, fewestTensors, globalName, linearSpec, moduleName } from './block.ts';
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
  const act = c.hidden_act ?? c.hidden_activation ?? arch.activation;
  if (act !== arch.activation)
    unsupported(
      `activation ${describeValue(act)} is not supported (only ${arch.activation} / SwiGLU)`,
    );

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
    hidden_act: arch.activation,
    bos_token_id: c.bosId,
    eos_token_id: c.eosIds.length > 1 ? c.eosIds : c.eosId,
    torch_dtype: c.torchDtype ?? 'float32',
  };
}

export {
  expectedTensors,
  isLinearName,
  LINEAR_NAMES,
  linearPath,
  linearShape,
  trainedTensorShapes,
  type LinearName,
} from './block.ts';

/** Tensors that may appear without being used (old checkpoints keep rotary buffers; tied models may still store the output layer). */
function ignorable(c: ModelConfig, name: string): boolean {
  return (
    name.endsWith('rotary_emb.inv_freq') ||
    (c.tieWordEmbeddings && name === globalName(archOf(c), 'lmHead'))
  );
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
  const arch = archOf(config);
  // A config claiming more layers than there are tensors is refused before listing what it expects
  // (a corrupt num_hidden_layers of 2^53 would otherwise build a map of 2^56 names).
  if (config.layers > tensors.length)
    throw new FormatError(
      file,
      `weights do not match the config: ${config.layers} layers need ${fewestTensors(arch, config.layers)} or more tensors, the weights hold ${tensors.length}`,
    );
  const expected = expectedTensors(config);
  const found = new Map(tensors.map((t) => [t.name, t.shape]));
  // A bias on an attention projection the architecture has none for is an unsupported model.
  const attentionBias = arch.layout.layer
    .filter((t) => t.linears?.every((n) => linearSpec(n).sublayer === 'attention'))
    .map((t) => `.${moduleName(t.hf)}.bias`);
  const bias = tensors.find(
    (t) => attentionBias.some((b) => t.name.endsWith(b)) && !expected.has(t.name),
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
