/**
 * Real model shapes: the published config.json of SmolLM2-135M, TinyLlama-1.1B, Llama-3.2-1B and
 * Llama-2-7B (full width) and a narrow version of each (small width), and everything needed to write
 * them as Hugging Face writes a bf16 checkpoint — shard plan, safetensors headers, index, seeded
 * values chunk by chunk — without Node APIs (the file writing lives in scripts/make-fixtures.ts).
 *
 * Small width keeps what shapes the kernels and the loaders see — heads, kv heads, head_dim (64/128),
 * GQA ratio (3, 8, 1), vocabulary (32000–128256), tied/untied, rope_theta, rope_scaling,
 * max_position_embeddings — and narrows the rest: 2 layers, hidden 64 (so head_dim is written
 * explicitly and q_proj is [heads·head_dim, 64]) and an MLP at the real intermediate/hidden ratio ×64
 * rounded to a multiple of 16. Hidden 64 keeps the vocabulary matmul (128256 × 64 for Llama-3.2) at
 * 8M multiply-adds per token, which a CPU WebGPU (SwiftShader) runs in tests.
 */
import { expectedTensors, parseHfConfig, type ModelConfig } from '../io/config.ts';
import { numel } from '../io/dtype.ts';
import { byteLevelTokenizerJson, paddedSpmTokenizerJson } from './fixtures.ts';

export const REAL_MODEL_NAMES = [
  'smollm2-135m',
  'tinyllama-1.1b',
  'llama-3.2-1b',
  'llama-2-7b',
] as const;
export type RealModelName = (typeof REAL_MODEL_NAMES)[number];
export type RealWidth = 'full' | 'small';
export const REAL_WIDTHS: readonly RealWidth[] = ['full', 'small'];

type Json = Record<string, unknown>;

/** What the small width changes (everything else is the published config). */
export const SMALL_WIDTH = { hidden: 64, layers: 2, intermediateMultiple: 16 } as const;

/** The published config.json of each model (keys as in the Hugging Face repository). */
const PUBLISHED: Record<RealModelName, Json> = {
  // HuggingFaceTB/SmolLM2-135M
  'smollm2-135m': {
    architectures: ['LlamaForCausalLM'],
    attention_bias: false,
    attention_dropout: 0.0,
    bos_token_id: 0,
    eos_token_id: 0,
    hidden_act: 'silu',
    hidden_size: 576,
    initializer_range: 0.041666666666666664,
    intermediate_size: 1536,
    is_llama_config: true,
    max_position_embeddings: 8192,
    model_type: 'llama',
    num_attention_heads: 9,
    num_hidden_layers: 30,
    num_key_value_heads: 3,
    pretraining_tp: 1,
    rms_norm_eps: 1e-5,
    rope_interleaved: false,
    rope_scaling: null,
    rope_theta: 100000,
    tie_word_embeddings: true,
    torch_dtype: 'bfloat16',
    use_cache: true,
    vocab_size: 49152,
  },
  // TinyLlama/TinyLlama-1.1B-Chat-v1.0
  'tinyllama-1.1b': {
    architectures: ['LlamaForCausalLM'],
    attention_bias: false,
    bos_token_id: 1,
    eos_token_id: 2,
    hidden_act: 'silu',
    hidden_size: 2048,
    initializer_range: 0.02,
    intermediate_size: 5632,
    max_position_embeddings: 2048,
    model_type: 'llama',
    num_attention_heads: 32,
    num_hidden_layers: 22,
    num_key_value_heads: 4,
    pretraining_tp: 1,
    rms_norm_eps: 1e-5,
    rope_scaling: null,
    rope_theta: 10000.0,
    tie_word_embeddings: false,
    torch_dtype: 'bfloat16',
    use_cache: true,
    vocab_size: 32000,
  },
  // meta-llama/Llama-3.2-1B
  'llama-3.2-1b': {
    architectures: ['LlamaForCausalLM'],
    attention_bias: false,
    attention_dropout: 0.0,
    bos_token_id: 128000,
    eos_token_id: 128001,
    head_dim: 64,
    hidden_act: 'silu',
    hidden_size: 2048,
    initializer_range: 0.02,
    intermediate_size: 8192,
    max_position_embeddings: 131072,
    mlp_bias: false,
    model_type: 'llama',
    num_attention_heads: 32,
    num_hidden_layers: 16,
    num_key_value_heads: 8,
    pretraining_tp: 1,
    rms_norm_eps: 1e-5,
    rope_scaling: {
      factor: 32.0,
      high_freq_factor: 4.0,
      low_freq_factor: 1.0,
      original_max_position_embeddings: 8192,
      rope_type: 'llama3',
    },
    rope_theta: 500000.0,
    tie_word_embeddings: true,
    torch_dtype: 'bfloat16',
    use_cache: true,
    vocab_size: 128256,
  },
  // meta-llama/Llama-2-7b-hf. The published file says torch_dtype "float16" and leaves rope_theta to its
  // default; here it is bfloat16 like the weights this generator writes, and rope_theta is spelled out.
  'llama-2-7b': {
    architectures: ['LlamaForCausalLM'],
    bos_token_id: 1,
    eos_token_id: 2,
    hidden_act: 'silu',
    hidden_size: 4096,
    initializer_range: 0.02,
    intermediate_size: 11008,
    max_position_embeddings: 4096,
    model_type: 'llama',
    num_attention_heads: 32,
    num_hidden_layers: 32,
    num_key_value_heads: 32,
    pretraining_tp: 1,
    rms_norm_eps: 1e-5,
    rope_scaling: null,
    rope_theta: 10000.0,
    tie_word_embeddings: false,
    torch_dtype: 'bfloat16',
    use_cache: true,
    vocab_size: 32000,
  },
};

/** The small-width config.json derived from a published one (see the file comment). */
function smallConfig(full: Json): Json {
  const hidden = full.hidden_size as number;
  const heads = full.num_attention_heads as number;
  const headDim = (full.head_dim as number | undefined) ?? hidden / heads;
  const m = SMALL_WIDTH.intermediateMultiple;
  const ratio = (full.intermediate_size as number) / hidden;
  return {
    ...full,
    head_dim: headDim,
    hidden_size: SMALL_WIDTH.hidden,
    intermediate_size: Math.round((ratio * SMALL_WIDTH.hidden) / m) * m,
    num_hidden_layers: SMALL_WIDTH.layers,
  };
}

/** The spec table: model → width → config.json (sorted keys, as save_pretrained writes them). */
export const REAL_SHAPES: Readonly<Record<RealModelName, Readonly<Record<RealWidth, Json>>>> =
  Object.fromEntries(
    REAL_MODEL_NAMES.map((name) => [
      name,
      { full: sortKeys(PUBLISHED[name]), small: sortKeys(smallConfig(PUBLISHED[name])) },
    ]),
  ) as Record<RealModelName, Record<RealWidth, Json>>;

/** What else a real model is: its repository, published size, tokenizer, and whether weights are written. */
export interface RealModelInfo {
  /** The Hugging Face repository the config copies. */
  repo: string;
  /** Parameters of the full-width model, as expectedTensors counts them (what the model card rounds). */
  parameters: number;
  tokenizer: 'gpt2-byte-level' | 'llama3-byte-level' | 'sentencepiece';
  /** Widths whose weights the generator writes (Llama-2-7B full is 13.5 GB: config only). */
  weights: readonly RealWidth[];
}

export const REAL_MODELS: Readonly<Record<RealModelName, RealModelInfo>> = {
  'smollm2-135m': {
    repo: 'HuggingFaceTB/SmolLM2-135M',
    parameters: 134_515_008,
    tokenizer: 'gpt2-byte-level',
    weights: ['full', 'small'],
  },
  'tinyllama-1.1b': {
    repo: 'TinyLlama/TinyLlama-1.1B-Chat-v1.0',
    parameters: 1_100_048_384,
    tokenizer: 'sentencepiece',
    weights: ['full', 'small'],
  },
  'llama-3.2-1b': {
    repo: 'meta-llama/Llama-3.2-1B',
    parameters: 1_235_814_400,
    tokenizer: 'llama3-byte-level',
    weights: ['full', 'small'],
  },
  'llama-2-7b': {
    repo: 'meta-llama/Llama-2-7b-hf',
    parameters: 6_738_415_616,
    tokenizer: 'sentencepiece',
    weights: ['small'],
  },
};

/** Whether `x` names a real model. */
export function isRealModelName(x: string): x is RealModelName {
  return (REAL_MODEL_NAMES as readonly string[]).includes(x);
}

/** A fresh copy of a model's config.json at a width. */
export function realConfigJson(name: RealModelName, width: RealWidth = 'full'): Json {
  return structuredClone(REAL_SHAPES[name][width]);
}

/** The parsed config of a model at a width. */
export function realModelConfig(name: RealModelName, width: RealWidth = 'full'): ModelConfig {
  return parseHfConfig(REAL_SHAPES[name][width], `${name}/${width}/config.json`);
}

/** Parameter count of a config: the elements of every tensor the checkpoint holds. */
export function parameterCount(config: ModelConfig): number {
  let n = 0;
  for (const shape of expectedTensors(config).values()) n += numel(shape);
  return n;
}

/** Returns `o` with its keys sorted, recursively (Python's json.dumps(sort_keys=True)). */
function sortKeys<T>(o: T): T {
  if (Array.isArray(o)) return o.map(sortKeys) as T;
  if (o === null || typeof o !== 'object') return o;
  return Object.fromEntries(
    Object.keys(o)
      .sort()
      .map((k) => [k, sortKeys((o as Json)[k])]),
  ) as T;
}

/** JSON text as save_pretrained writes config.json and the index: sorted keys, indent 2, final newline. */
export function hfJsonText(o: unknown): string {
  return JSON.stringify(sortKeys(o), null, 2) + '\n';
}

// ---------------------------------------------------------------------------------------------------
// Tokenizer files

const SMOLLM2_SPECIALS = [
  '<|endoftext|>',
  '<|im_start|>',
  '<|im_end|>',
  '<repo_name>',
  '<reponame>',
  '<file_sep>',
  '<filename>',
  '<gh_stars>',
  '<issue_start>',
  '<issue_comment>',
  '<issue_closed>',
  '<jupyter_start>',
  '<jupyter_text>',
  '<jupyter_code>',
  '<jupyter_output>',
  '<jupyter_script>',
  '<empty_output>',
];

/** Llama 3.1/3.2's 256 special tokens (ids 128000–128255). */
function llama3Specials(): { id: number; content: string }[] {
  const named: Record<number, string> = {
    128000: '<|begin_of_text|>',
    128001: '<|end_of_text|>',
    128004: '<|finetune_right_pad_id|>',
    128006: '<|start_header_id|>',
    128007: '<|end_header_id|>',
    128008: '<|eom_id|>',
    128009: '<|eot_id|>',
    128010: '<|python_tag|>',
  };
  const out: { id: number; content: string }[] = [];
  let reserved = 0;
  for (let id = 128000; id < 128256; id++) {
    out.push({ id, content: named[id] ?? `<|reserved_special_token_${reserved++}|>` });
  }
  return out;
}

/**
 * tokenizer.json and tokenizer_config.json of a model: its real special tokens at their real ids, a
 * small real vocabulary (bytes and a few dozen merges), placeholders up to vocab_size.
 */
export function realTokenizerFiles(name: RealModelName): {
  tokenizer: Json;
  tokenizerConfig: Json;
} {
  const config = REAL_SHAPES[name].full;
  const vocabSize = config.vocab_size as number;
  const maxLength = config.max_position_embeddings as number;
  switch (REAL_MODELS[name].tokenizer) {
    case 'gpt2-byte-level':
      return {
        tokenizer: byteLevelTokenizerJson({
          style: 'gpt2',
          vocabSize,
          specials: SMOLLM2_SPECIALS.map((content, id) => ({ id, content })),
        }),
        tokenizerConfig: {
          add_prefix_space: false,
          additional_special_tokens: SMOLLM2_SPECIALS.slice(0, 3),
          bos_token: '<|endoftext|>',
          clean_up_tokenization_spaces: false,
          eos_token: '<|endoftext|>',
          model_max_length: maxLength,
          tokenizer_class: 'GPT2Tokenizer',
          unk_token: '<|endoftext|>',
          vocab_size: vocabSize,
        },
      };
    case 'llama3-byte-level':
      return {
        tokenizer: byteLevelTokenizerJson({
          style: 'llama3',
          vocabSize,
          specials: llama3Specials(),
          bos: '<|begin_of_text|>',
        }),
        tokenizerConfig: {
          bos_token: '<|begin_of_text|>',
          clean_up_tokenization_spaces: true,
          eos_token: '<|end_of_text|>',
          model_input_names: ['input_ids', 'attention_mask'],
          model_max_length: maxLength,
          tokenizer_class: 'PreTrainedTokenizerFast',
        },
      };
    case 'sentencepiece':
      return {
        tokenizer: paddedSpmTokenizerJson(vocabSize),
        tokenizerConfig: {
          add_bos_token: true,
          add_eos_token: false,
          bos_token: '<s>',
          clean_up_tokenization_spaces: false,
          eos_token: '</s>',
          legacy: false,
          model_max_length: maxLength,
          pad_token: null,
          padding_side: 'right',
          sp_model_kwargs: {},
          tokenizer_class: 'LlamaTokenizer',
          unk_token: '<unk>',
        },
      };
  }
}

// ---------------------------------------------------------------------------------------------------
// Sharding and safetensors layout

/** save_pretrained's default max_shard_size ("5GB", decimal as huggingface_hub parses it). */
export const HF_DEFAULT_MAX_SHARD_SIZE = 5_000_000_000;

const SIZE_UNITS: Record<string, number> = {
  B: 1,
  KB: 1e3,
  MB: 1e6,
  GB: 1e9,
  TB: 1e12,
  KIB: 2 ** 10,
  MIB: 2 ** 20,
  GIB: 2 ** 30,
  TIB: 2 ** 40,
};

/** Parses a shard size: bytes, or "5GB"/"200MB"/"64KB" (powers of 10, as huggingface_hub) or "1GiB". */
export function parseShardSize(v: string | number): number {
  if (typeof v === 'number') return v;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(v);
  const unit = SIZE_UNITS[(m?.[2] || 'B').toUpperCase()];
  const bytes = m && unit ? Math.floor(Number(m[1]) * unit) : NaN;
  if (!(bytes > 0))
    throw new Error(`not a shard size: "${v}" (give bytes, or e.g. 5GB, 200MB, 1GiB)`);
  return bytes;
}

/** One bf16 tensor of a checkpoint. */
export interface PlannedTensor {
  name: string;
  shape: number[];
  bytes: number;
}

/** One safetensors file: its name and its tensors in state-dict order. */
export interface PlannedShard {
  file: string;
  tensors: PlannedTensor[];
  bytes: number;
}

/** The tensors of a config in state-dict order (Llama's module order; no lm_head when tied), bf16. */
export function plannedTensors(config: ModelConfig): PlannedTensor[] {
  return [...expectedTensors(config)].map(([name, shape]) => ({
    name,
    shape,
    bytes: numel(shape) * 2,
  }));
}

/**
 * Splits tensors into shards as save_pretrained does (huggingface_hub's split_state_dict_into_shards):
 * in order, a tensor that would tip the current shard over `maxShardSize` starts a new one; a tensor
 * bigger than `maxShardSize` gets a shard of its own, placed before the one being filled. One shard is
 * `model.safetensors`; several are `model-0000i-of-0000N.safetensors`.
 */
export function planShards(tensors: PlannedTensor[], maxShardSize: number): PlannedShard[] {
  const shards: PlannedTensor[][] = [];
  let current: PlannedTensor[] = [];
  let size = 0;
  for (const t of tensors) {
    if (t.bytes > maxShardSize) {
      shards.push([t]);
      continue;
    }
    if (size + t.bytes > maxShardSize) {
      shards.push(current);
      current = [];
      size = 0;
    }
    current.push(t);
    size += t.bytes;
  }
  if (current.length) shards.push(current);
  const n = shards.length;
  const pad = (i: number) => String(i).padStart(5, '0');
  return shards.map((ts, i) => ({
    file: n === 1 ? 'model.safetensors' : `model-${pad(i + 1)}-of-${pad(n)}.safetensors`,
    tensors: ts,
    bytes: ts.reduce((a, t) => a + t.bytes, 0),
  }));
}

/** model.safetensors.index.json's content (null for a single unsharded file, which has none). */
export function shardIndex(
  shards: PlannedShard[],
): { metadata: { total_size: number }; weight_map: Record<string, string> } | null {
  if (shards.length < 2) return null;
  const weightMap: Record<string, string> = {};
  for (const s of shards) for (const t of s.tensors) weightMap[t.name] = s.file;
  return {
    metadata: { total_size: shards.reduce((a, s) => a + s.bytes, 0) },
    weight_map: weightMap,
  };
}

/** A tensor at its place in a safetensors file (offsets relative to the data section). */
export interface LaidOutTensor extends PlannedTensor {
  begin: number;
  end: number;
}

/**
 * The header of a safetensors file as the safetensors library writes it: `__metadata__` first, then
 * the tensors sorted by name (its data order), compact JSON padded with spaces to 8 bytes, after the
 * little-endian u64 length. Returns the 8 + header bytes and the tensors in data order.
 */
export function safetensorsLayout(
  tensors: PlannedTensor[],
  metadata: Record<string, string> = { format: 'pt' },
): { head: Uint8Array; order: LaidOutTensor[] } {
  const order: LaidOutTensor[] = [];
  let offset = 0;
  for (const t of [...tensors].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    order.push({ ...t, begin: offset, end: offset + t.bytes });
    offset += t.bytes;
  }
  const header: Json = { __metadata__: metadata };
  for (const t of order) {
    header[t.name] = { dtype: 'BF16', shape: t.shape, data_offsets: [t.begin, t.end] };
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8;
  const head = new Uint8Array(8 + padded).fill(0x20, 8 + json.length);
  new DataView(head.buffer).setBigUint64(0, BigInt(padded), true);
  head.set(json, 8);
  return { head, order };
}

// ---------------------------------------------------------------------------------------------------
// Values

/** Standard deviation of the random matrices (the usual initializer range). */
export const WEIGHT_STD = 0.02;

/** The seed of one tensor: the model seed mixed with the tensor's name (FNV-1a), so a tensor's values do not depend on the sharding. */
export function tensorSeed(seed: number, name: string): number {
  let h = 0x811c9dc5 ^ (seed >>> 0);
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** Acklam's rational approximation of the standard normal quantile Φ⁻¹(p), 0 < p < 1 (relative error < 1.2e-9). */
export function normalQuantile(p: number): number {
  const a = [
    -39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716,
    2.506628277459239,
  ];
  const b = [
    -54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972,
    -13.28068155288572,
  ];
  const c = [
    -0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734,
    4.374664141464968, 2.938163982698783,
  ];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const tail = (q: number) =>
    (((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) /
    ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1);
  if (p < 0.02425) return tail(Math.sqrt(-2 * Math.log(p)));
  if (p > 1 - 0.02425) return -tail(Math.sqrt(-2 * Math.log(1 - p)));
  const q = p - 0.5;
  const r = q * q;
  return (
    ((((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * q) /
    (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1)
  );
}

let normalTable: Uint16Array | null = null;

/** bf16 bits of WEIGHT_STD · Φ⁻¹((k + ½) / 65536) for every 16-bit k: a normal sample per 16 random bits. */
function bf16NormalTable(): Uint16Array {
  if (normalTable) return normalTable;
  const f32 = new Float32Array(65536);
  for (let k = 0; k < 65536; k++) f32[k] = WEIGHT_STD * normalQuantile((k + 0.5) / 65536);
  const u32 = new Uint32Array(f32.buffer);
  normalTable = new Uint16Array(65536);
  for (let k = 0; k < 65536; k++) {
    const b = u32[k]!;
    normalTable[k] = (b + 0x7fff + ((b >>> 16) & 1)) >>> 16; // round to nearest even
  }
  return normalTable;
}

/**
 * A tensor's bf16 bytes in chunks of at most `chunkElements` values: norms (`*norm.weight`) are 1,
 * everything else normal × WEIGHT_STD — each 32-bit draw of a mulberry32 stream seeded by tensorSeed
 * gives two values, by table lookup of the normal quantile at its two 16-bit halves (tails cut at
 * ±4.3σ; finer than bf16 resolves anyway). The yielded array is reused: consume it before asking for
 * the next one.
 */
export function* bf16TensorChunks(
  name: string,
  elements: number,
  seed: number,
  chunkElements = 1 << 20,
): Generator<Uint8Array> {
  const size = Math.min(elements, chunkElements + (chunkElements & 1));
  const out = new Uint16Array(size);
  const bytes = new Uint8Array(out.buffer);
  const ones = name.endsWith('norm.weight');
  const table = bf16NormalTable();
  let state = tensorSeed(seed, name);
  for (let done = 0; done < elements;) {
    const n = Math.min(size, elements - done);
    if (ones) out.fill(0x3f80, 0, n);
    else state = fillNormal(out, n, state, table);
    done += n;
    yield bytes.subarray(0, n * 2);
  }
}

/** Fills `out[0, n)` from the mulberry32 stream at `state`, two table lookups per draw; returns the next state. */
function fillNormal(out: Uint16Array, n: number, state: number, table: Uint16Array): number {
  let s = state;
  for (let i = 0; i < n; i += 2) {
    let t = (s = (s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    t = (t ^ (t >>> 14)) >>> 0;
    out[i] = table[t & 0xffff]!;
    if (i + 1 < n) out[i + 1] = table[t >>> 16]!;
  }
  return s;
}
