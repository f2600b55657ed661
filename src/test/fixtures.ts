/** Fixture generators: tiny random Llama models as HF folders and GGUFs, and a tiny sentencepiece vocabulary. */
import { Rng } from '../util/rng.ts';
import { expectedTensors, parseHfConfig, type ModelConfig } from '../io/config.ts';
import { dtypeBytes, f32ToBytes, type WeightDtype } from '../io/dtype.ts';
import { GGML_TYPES } from '../io/gguf.ts';
import { byteLevelBpeModel } from '../io/gguf-bpe.ts';
import { hfToGgufName, permuteQK } from '../io/gguf-llama.ts';
import { writeGguf, type GgufKv } from '../io/gguf-writer.ts';
import { writeSafetensors } from '../io/safetensors.ts';

/** A tiny random model variant. */
export interface TinySpec {
  seed: number;
  dtype: WeightDtype;
  /** Grouped-query attention (2 kv heads for 4 query heads) or plain multi-head. */
  gqa: boolean;
  tied: boolean;
  /** config.json's `rope_scaling` entry, written as given; absent when undefined (no key). */
  ropeScaling?: Record<string, unknown> | null;
  /**
   * A Qwen architecture instead of Llama (src/io/arch.ts): qwen2 adds q/k/v biases; qwen3 adds
   * per-head q/k norms and head_dim 8 (q_proj out 32 ≠ hidden 16).
   */
  arch?: 'qwen2' | 'qwen3';
  /**
   * The tokenizer files instead of tinyVocab's (e.g. a byte-level BPE from src/test/bpe-train.ts):
   * vocab_size follows them, and bos/eos ids are Qwen's (`<|endoftext|>`, `<|im_end|>`) when present.
   */
  tokenizer?: { tokenizer: Record<string, unknown>; tokenizerConfig: Record<string, unknown> };
  /** config.json entries that replace the tiny widths (e.g. rows of whole 256-value blocks). */
  sizes?: Partial<
    Record<
      | 'hidden_size'
      | 'intermediate_size'
      | 'num_hidden_layers'
      | 'num_attention_heads'
      | 'num_key_value_heads',
      number
    >
  >;
}

/** Every token of a tokenizer.json (its vocabulary and added tokens) with its id. */
function tokenizerIds(tok: Record<string, unknown>): Map<string, number> {
  const ids = new Map(Object.entries((tok.model as { vocab: Record<string, number> }).vocab));
  for (const a of (tok.added_tokens ?? []) as { id: number; content: string }[])
    ids.set(a.content, a.id);
  return ids;
}

/**
 * A Llama 3 style rope_scaling for the tiny models (head dim 4, max_position_embeddings 64): the
 * higher of their two frequencies (wavelength 2π) lies between the high- and low-frequency
 * wavelengths 4 and 16 and is smoothed, the lower one (wavelength 200π) is divided by 4.
 */
export const TINY_LLAMA3_ROPE: Readonly<Record<string, unknown>> = Object.freeze({
  factor: 4.0,
  high_freq_factor: 4.0,
  low_freq_factor: 1.0,
  original_max_position_embeddings: 16,
  rope_type: 'llama3',
});

/** The tiny sentencepiece pieces after <unk>, <s>, </s> and the 256 byte tokens, best score first. */
const PIECES = [
  '▁',
  'e',
  't',
  'a',
  'o',
  'h',
  'n',
  's',
  'i',
  'r',
  'd',
  'l',
  'w',
  'u',
  '▁t',
  'he',
  '▁the',
  '▁a',
  'in',
  '▁s',
  'an',
  '▁w',
  'nd',
  '▁and',
  'er',
  '▁to',
  'ed',
  '▁h',
  'ou',
  'is',
  '▁o',
];

/** Vocabulary of the tiny models: specials, bytes, then PIECES (scores 0 for specials/bytes, −rank for pieces). */
export function tinyVocab(): { tokens: string[]; scores: number[]; types: number[] } {
  const tokens = ['<unk>', '<s>', '</s>'];
  const types = [2, 3, 3];
  for (let b = 0; b < 256; b++) {
    tokens.push(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
    types.push(6);
  }
  const scores = tokens.map(() => 0);
  PIECES.forEach((p, i) => {
    tokens.push(p);
    scores.push(-i);
    types.push(1);
  });
  return { tokens, scores, types };
}

/** A tokenizer.json equivalent to tinyVocab (built as HF's sentencepiece converter does: merges ordered by piece score). */
export function tinyTokenizerJson(): Record<string, unknown> {
  const { tokens, scores } = tinyVocab();
  const vocab = Object.fromEntries(tokens.map((t, i) => [t, i]));
  const merges: [string, string, number][] = [];
  tokens.forEach((t, id) => {
    const chars = Array.from(t);
    if (id < 259 || chars.length < 2) return;
    for (let k = 1; k < chars.length; k++) {
      const l = chars.slice(0, k).join('');
      const r = chars.slice(k).join('');
      if (l in vocab && r in vocab) merges.push([l, r, scores[id]!]);
    }
  });
  merges.sort((a, b) => b[2] - a[2]);
  const special = (id: number, content: string) => ({
    id,
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [special(0, '<unk>'), special(1, '<s>'), special(2, '</s>')],
    normalizer: {
      type: 'Sequence',
      normalizers: [
        { type: 'Prepend', prepend: '▁' },
        { type: 'Replace', pattern: { String: ' ' }, content: '▁' },
      ],
    },
    pre_tokenizer: null,
    post_processor: null,
    decoder: {
      type: 'Sequence',
      decoders: [
        { type: 'Replace', pattern: { String: '▁' }, content: ' ' },
        { type: 'ByteFallback' },
        { type: 'Fuse' },
        { type: 'Strip', content: ' ', start: 1, stop: 0 },
      ],
    },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: '<unk>',
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: true,
      byte_fallback: true,
      ignore_merges: false,
      vocab,
      merges: merges.map(([l, r]) => [l, r]),
    },
  };
}

/** A unique placeholder token for `id`, padding a small real vocabulary up to a model's size; no merge produces one. */
export function placeholderToken(id: number): string {
  return `<placeholder_${id}>`;
}

/**
 * tinyTokenizerJson's vocabulary padded with placeholder tokens to `vocabSize` (32000 for Llama 1/2 and
 * TinyLlama), with the BOS template post-processor Llama's tokenizer.json carries.
 */
export function paddedSpmTokenizerJson(vocabSize: number): Record<string, unknown> {
  const json = tinyTokenizerJson();
  const model = json.model as { vocab: Record<string, number> };
  const real = Object.keys(model.vocab).length;
  if (vocabSize < real)
    throw new Error(`vocabulary of ${vocabSize} is below the ${real} real tokens`);
  for (let id = real; id < vocabSize; id++) model.vocab[placeholderToken(id)] = id;
  const bos = { SpecialToken: { id: '<s>', type_id: 0 } };
  json.post_processor = {
    type: 'TemplateProcessing',
    single: [bos, { Sequence: { id: 'A', type_id: 0 } }],
    pair: [bos, { Sequence: { id: 'A', type_id: 0 } }, bos, { Sequence: { id: 'B', type_id: 1 } }],
    special_tokens: { '<s>': { id: '<s>', ids: [1], tokens: ['<s>'] } },
  };
  return json;
}

/** GPT-2's bytes_to_unicode: the printable character standing for each byte, in GPT-2's order (printables first). */
export function byteLevelAlphabet(): { byte: number; char: string }[] {
  const bytes: number[] = [];
  for (const [lo, hi] of [
    [0x21, 0x7e],
    [0xa1, 0xac],
    [0xae, 0xff],
  ] as const) {
    for (let b = lo; b <= hi; b++) bytes.push(b);
  }
  const out = bytes.map((b) => ({ byte: b, char: String.fromCharCode(b) }));
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (!bytes.includes(b)) out.push({ byte: b, char: String.fromCharCode(256 + n++) });
  }
  return out;
}

/** The merges of the small real byte-level vocabulary ("Ġ" is the space byte), in priority order. */
const BYTE_LEVEL_MERGES: [string, string][] = [
  ['Ġ', 't'],
  ['h', 'e'],
  ['Ġ', 'a'],
  ['i', 'n'],
  ['Ġt', 'he'],
  ['e', 'r'],
  ['o', 'n'],
  ['Ġ', 's'],
  ['a', 'n'],
  ['r', 'e'],
  ['Ġ', 'w'],
  ['n', 'd'],
  ['Ġa', 'nd'],
  ['Ġ', 'o'],
  ['Ġt', 'o'],
  ['e', 'd'],
  ['Ġ', 'h'],
  ['o', 'u'],
  ['i', 's'],
  ['a', 't'],
  ['e', 'n'],
  ['i', 't'],
  ['in', 'g'],
  ['Ġ', 'b'],
  ['Ġ', 'f'],
  ['Ġ', 'c'],
  ['o', 'r'],
  ['e', 's'],
  ['l', 'l'],
  ['Ġ', 'm'],
];

/** A byte-level BPE tokenizer.json: GPT-2 style (SmolLM2) or Llama 3 style (tiktoken-converted). */
export interface ByteLevelTokenizerSpec {
  style: 'gpt2' | 'llama3';
  vocabSize: number;
  /**
   * Special (added) tokens by id. GPT-2 style keeps them in the BPE vocabulary too (SmolLM2: ids 0–16);
   * Llama 3 style lists them only as added tokens (128000–128255).
   */
  specials: { id: number; content: string }[];
  /** The token the Llama 3 template post-processor puts first. */
  bos?: string;
}

/** The Split pattern of Llama 3's pre-tokenizer. */
const LLAMA3_SPLIT =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

/**
 * A byte-level BPE tokenizer.json of `vocabSize` tokens: the specials at their ids, the 256 byte tokens,
 * a few dozen real merges, then placeholder tokens up to the size.
 */
export function byteLevelTokenizerJson(spec: ByteLevelTokenizerSpec): Record<string, unknown> {
  const tokens: (string | undefined)[] = new Array<string | undefined>(spec.vocabSize);
  for (const s of spec.specials) tokens[s.id] = s.content;
  const regular = [
    ...byteLevelAlphabet().map((b) => b.char),
    ...BYTE_LEVEL_MERGES.map(([l, r]) => l + r),
  ];
  let next = 0;
  for (let id = 0; id < spec.vocabSize; id++) {
    if (tokens[id] !== undefined) continue;
    tokens[id] = next < regular.length ? regular[next++] : placeholderToken(id);
  }
  const specialIds = new Set(spec.specials.map((s) => s.id));
  const vocab: Record<string, number> = {};
  tokens.forEach((t, id) => {
    if (spec.style === 'gpt2' || !specialIds.has(id)) vocab[t!] = id;
  });
  const added = spec.specials.map((s) => ({
    id: s.id,
    content: s.content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  }));
  const byteLevel = (addPrefixSpace: boolean, trimOffsets: boolean, useRegex: boolean) => ({
    type: 'ByteLevel',
    add_prefix_space: addPrefixSpace,
    trim_offsets: trimOffsets,
    use_regex: useRegex,
  });
  const llama3 = spec.style === 'llama3';
  const bos = spec.bos ?? '<|begin_of_text|>';
  const bosId = spec.specials.find((s) => s.content === bos)?.id;
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: null,
    pre_tokenizer: llama3
      ? {
          type: 'Sequence',
          pretokenizers: [
            {
              type: 'Split',
              pattern: { Regex: LLAMA3_SPLIT },
              behavior: 'Isolated',
              invert: false,
            },
            byteLevel(false, true, false),
          ],
        }
      : {
          type: 'Sequence',
          pretokenizers: [
            { type: 'Digits', individual_digits: true },
            byteLevel(false, true, true),
          ],
        },
    post_processor: llama3
      ? {
          type: 'Sequence',
          processors: [
            byteLevel(true, false, true),
            {
              type: 'TemplateProcessing',
              single: [
                { SpecialToken: { id: bos, type_id: 0 } },
                { Sequence: { id: 'A', type_id: 0 } },
              ],
              pair: [
                { SpecialToken: { id: bos, type_id: 0 } },
                { Sequence: { id: 'A', type_id: 0 } },
                { SpecialToken: { id: bos, type_id: 1 } },
                { Sequence: { id: 'B', type_id: 1 } },
              ],
              special_tokens: { [bos]: { id: bos, ids: [bosId], tokens: [bos] } },
            },
          ],
        }
      : byteLevel(true, false, true),
    decoder: byteLevel(true, true, true),
    model: byteLevelBpeModel(
      vocab,
      BYTE_LEVEL_MERGES.map(([l, r]) => [l, r]),
      llama3,
    ),
  };
}

/** config.json of a tiny model: vocab 290, hidden 16, 2 layers, 4 heads (2 kv heads with GQA), SwiGLU 24. */
export function tinyConfigJson(spec: TinySpec): Record<string, unknown> {
  const ids = spec.tokenizer && tokenizerIds(spec.tokenizer.tokenizer);
  const vocabSize = ids ? Math.max(...ids.values()) + 1 : tinyVocab().tokens.length;
  const qwen =
    spec.arch === undefined
      ? {}
      : {
          architectures: [spec.arch === 'qwen2' ? 'Qwen2ForCausalLM' : 'Qwen3ForCausalLM'],
          model_type: spec.arch,
          use_sliding_window: false,
          sliding_window: 64,
          max_window_layers: 2,
          ...(spec.arch === 'qwen3' ? { head_dim: 8, attention_bias: false } : {}),
        };
  return {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    vocab_size: vocabSize,
    hidden_size: 16,
    intermediate_size: 24,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    num_key_value_heads: spec.gqa ? 2 : 4,
    max_position_embeddings: 64,
    rms_norm_eps: 1e-5,
    rope_theta: 10000.0,
    tie_word_embeddings: spec.tied,
    hidden_act: 'silu',
    bos_token_id: ids?.get('<|endoftext|>') ?? 1,
    eos_token_id: ids?.get('<|im_end|>') ?? 2,
    torch_dtype: { F32: 'float32', F16: 'float16', BF16: 'bfloat16' }[spec.dtype],
    ...(spec.ropeScaling === undefined ? {} : { rope_scaling: spec.ropeScaling }),
    ...qwen,
    ...spec.sizes,
  };
}

/** Random HF-layout weights for a config (norms near 1, matrices small), deterministic in the seed. */
export function randomWeights(
  config: ModelConfig,
  seed: number,
): Map<string, { shape: number[]; data: Float32Array }> {
  const rng = new Rng(seed);
  const out = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [name, shape] of expectedTensors(config)) {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = name.endsWith('norm.weight') ? rng.floats(n, 0.5, 1.5) : rng.floats(n, -0.2, 0.2);
    out.set(name, { shape, data });
  }
  return out;
}

const enc = (v: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(v, null, 2));

/** An HF folder (config.json, tokenizer files, model.safetensors or `shards` shards plus an index). */
export function tinyHfFolder(spec: TinySpec, shards = 1): Record<string, Uint8Array> {
  const configJson = tinyConfigJson(spec);
  const weights = randomWeights(parseHfConfig(configJson), spec.seed);
  const all = [...weights].map(([name, w]) => ({
    name,
    dtype: spec.dtype,
    shape: w.shape,
    data: w.data,
  }));
  const files: Record<string, Uint8Array> = {
    'config.json': enc(configJson),
    'tokenizer.json': enc(spec.tokenizer?.tokenizer ?? tinyTokenizerJson()),
    'tokenizer_config.json': enc(
      spec.tokenizer?.tokenizerConfig ?? {
        add_bos_token: true,
        bos_token: '<s>',
        eos_token: '</s>',
        unk_token: '<unk>',
      },
    ),
  };
  if (shards === 1) {
    files['model.safetensors'] = writeSafetensors(all, { format: 'pt' });
    return files;
  }
  const weightMap: Record<string, string> = {};
  const per = Math.ceil(all.length / shards);
  for (let s = 0; s < shards; s++) {
    const name = `model-${String(s + 1).padStart(5, '0')}-of-${String(shards).padStart(5, '0')}.safetensors`;
    const part = all.slice(s * per, (s + 1) * per);
    for (const t of part) weightMap[t.name] = name;
    files[name] = writeSafetensors(part, { format: 'pt' });
  }
  const totalSize = all.reduce((n, t) => n + t.data.length * dtypeBytes(spec.dtype), 0);
  files['model.safetensors.index.json'] = enc({
    metadata: { total_size: totalSize },
    weight_map: weightMap,
  });
  return files;
}

const GGML_ID: Record<WeightDtype, number> = { F32: 0, F16: 1, BF16: 30 };

/** GGUF metadata for a llama model with the tiny sentencepiece vocabulary. */
export function llamaGgufMetadata(config: ModelConfig, name: string): GgufKv[] {
  const { tokens, scores, types } = tinyVocab();
  return [
    { key: 'general.architecture', type: 'string', value: 'llama' },
    { key: 'general.name', type: 'string', value: name },
    { key: 'general.alignment', type: 'u32', value: 32 },
    { key: 'llama.context_length', type: 'u32', value: config.maxPositions },
    { key: 'llama.embedding_length', type: 'u32', value: config.hidden },
    { key: 'llama.feed_forward_length', type: 'u32', value: config.intermediate },
    { key: 'llama.block_count', type: 'u32', value: config.layers },
    { key: 'llama.attention.head_count', type: 'u32', value: config.heads },
    { key: 'llama.attention.head_count_kv', type: 'u32', value: config.kvHeads },
    { key: 'llama.rope.dimension_count', type: 'u32', value: config.headDim },
    { key: 'llama.rope.freq_base', type: 'f32', value: config.ropeTheta },
    { key: 'llama.attention.layer_norm_rms_epsilon', type: 'f32', value: config.rmsEps },
    { key: 'tokenizer.ggml.model', type: 'string', value: 'llama' },
    { key: 'tokenizer.ggml.tokens', type: 'array', itemType: 'string', value: tokens },
    { key: 'tokenizer.ggml.scores', type: 'array', itemType: 'f32', value: scores },
    { key: 'tokenizer.ggml.token_type', type: 'array', itemType: 'i32', value: types },
    { key: 'tokenizer.ggml.bos_token_id', type: 'u32', value: 1 },
    { key: 'tokenizer.ggml.eos_token_id', type: 'u32', value: 2 },
    { key: 'tokenizer.ggml.unknown_token_id', type: 'u32', value: 0 },
    { key: 'tokenizer.ggml.add_bos_token', type: 'bool', value: true },
  ];
}

/** The same tiny model as tinyHfFolder(spec), as a GGUF (q/k rows permuted as llama.cpp's converter does). */
export function tinyGguf(
  spec: TinySpec,
  override?: { name: string; type: number; data: Uint8Array },
  extra: { name: string; dims: number[]; type: number; data: Uint8Array }[] = [],
): Uint8Array {
  const config = parseHfConfig(tinyConfigJson(spec));
  const weights = randomWeights(config, spec.seed);
  const tensors = [...weights].map(([name, w]) => {
    let data = w.data;
    if (name.endsWith('q_proj.weight'))
      data = permuteQK(data, config.heads, w.shape[0]!, w.shape[1]!);
    if (name.endsWith('k_proj.weight'))
      data = permuteQK(data, config.kvHeads, w.shape[0]!, w.shape[1]!);
    const ggufName = hfToGgufName(name)!;
    const dims = [...w.shape].reverse();
    if (override?.name === ggufName)
      return { name: ggufName, dims, type: override.type, data: override.data };
    return { name: ggufName, dims, type: GGML_ID[spec.dtype], data: f32ToBytes(data, spec.dtype) };
  });
  return writeGguf(llamaGgufMetadata(config, `tiny-${spec.dtype}`), [...tensors, ...extra]);
}

/** Bytes a Q2_K tensor of `n` elements takes (for the unsupported-type fixture: ceil(n / 256) blocks). */
export function q2kBytes(n: number): Uint8Array {
  const t = GGML_TYPES[10]!;
  return new Uint8Array(Math.ceil(n / t.block) * t.bytes);
}

/** TinyLlama-1.1B's config.json (no weights: for `info` and memory planning). */
export function tinyLlama11BConfigJson(): Record<string, unknown> {
  return {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    vocab_size: 32000,
    hidden_size: 2048,
    intermediate_size: 5632,
    num_hidden_layers: 22,
    num_attention_heads: 32,
    num_key_value_heads: 4,
    max_position_embeddings: 2048,
    rms_norm_eps: 1e-5,
    rope_theta: 10000.0,
    rope_scaling: null,
    tie_word_embeddings: false,
    hidden_act: 'silu',
    bos_token_id: 1,
    eos_token_id: 2,
    attention_bias: false,
    torch_dtype: 'bfloat16',
  };
}

/** Qwen2.5-0.5B's public config.json (no weights: for `info` and memory planning). */
export function qwen25_05BConfigJson(): Record<string, unknown> {
  return {
    architectures: ['Qwen2ForCausalLM'],
    attention_dropout: 0.0,
    bos_token_id: 151643,
    eos_token_id: 151643,
    hidden_act: 'silu',
    hidden_size: 896,
    initializer_range: 0.02,
    intermediate_size: 4864,
    max_position_embeddings: 32768,
    max_window_layers: 24,
    model_type: 'qwen2',
    num_attention_heads: 14,
    num_hidden_layers: 24,
    num_key_value_heads: 2,
    rms_norm_eps: 1e-6,
    rope_theta: 1000000.0,
    sliding_window: 32768,
    tie_word_embeddings: true,
    torch_dtype: 'bfloat16',
    use_cache: true,
    use_sliding_window: false,
    vocab_size: 151936,
  };
}

/** Qwen3-0.6B's public config.json (no weights: for `info` and memory planning). */
export function qwen3_06BConfigJson(): Record<string, unknown> {
  return {
    architectures: ['Qwen3ForCausalLM'],
    attention_bias: false,
    attention_dropout: 0.0,
    bos_token_id: 151643,
    eos_token_id: 151645,
    head_dim: 128,
    hidden_act: 'silu',
    hidden_size: 1024,
    initializer_range: 0.02,
    intermediate_size: 3072,
    max_position_embeddings: 40960,
    max_window_layers: 28,
    model_type: 'qwen3',
    num_attention_heads: 16,
    num_hidden_layers: 28,
    num_key_value_heads: 8,
    rms_norm_eps: 1e-6,
    rope_scaling: null,
    rope_theta: 1000000,
    sliding_window: null,
    tie_word_embeddings: true,
    torch_dtype: 'bfloat16',
    use_cache: true,
    use_sliding_window: false,
    vocab_size: 151936,
  };
}

/** The tiny model variants written by the fixture script, by folder name. */
export const TINY_MODELS: Record<string, TinySpec> = {
  'tiny-f32-gqa': { seed: 1, dtype: 'F32', gqa: true, tied: false },
  'tiny-bf16-gqa-tied': { seed: 2, dtype: 'BF16', gqa: true, tied: true },
  'tiny-f16-mha': { seed: 3, dtype: 'F16', gqa: false, tied: false },
  'tiny-f32-mha-tied': { seed: 4, dtype: 'F32', gqa: false, tied: true },
  'tiny-qwen2-f32': { seed: 5, dtype: 'F32', gqa: true, tied: false, arch: 'qwen2' },
  'tiny-qwen3-bf16-tied': { seed: 6, dtype: 'BF16', gqa: true, tied: true, arch: 'qwen3' },
};

/** Config-only folders of real models (`info` plans them), by folder name. */
export const CONFIG_ONLY_MODELS: Record<string, () => Record<string, unknown>> = {
  'tinyllama-1.1b': tinyLlama11BConfigJson,
  'qwen2.5-0.5b': qwen25_05BConfigJson,
  'qwen3-0.6b': qwen3_06BConfigJson,
};

/** Which tiny variant each GGUF fixture is a copy of. */
export const TINY_GGUFS: Record<string, string> = {
  'tiny-f32.gguf': 'tiny-f32-gqa',
  'tiny-f16.gguf': 'tiny-f16-mha',
  'tiny-bf16.gguf': 'tiny-bf16-gqa-tied',
};
