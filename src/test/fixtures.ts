/** Fixture generators: tiny random Llama models as HF folders and GGUFs, and a tiny sentencepiece vocabulary. */
import { Rng } from '../util/rng.ts';
import { expectedTensors, parseHfConfig, type ModelConfig } from '../io/config.ts';
import { f32ToBytes, type WeightDtype } from '../io/dtype.ts';
import { GGML_TYPES } from '../io/gguf.ts';
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
}

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

/** config.json of a tiny model: vocab 290, hidden 16, 2 layers, 4 heads (2 kv heads with GQA), SwiGLU 24. */
export function tinyConfigJson(spec: TinySpec): Record<string, unknown> {
  return {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    vocab_size: tinyVocab().tokens.length,
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
    bos_token_id: 1,
    eos_token_id: 2,
    torch_dtype: { F32: 'float32', F16: 'float16', BF16: 'bfloat16' }[spec.dtype],
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
    'tokenizer.json': enc(tinyTokenizerJson()),
    'tokenizer_config.json': enc({
      add_bos_token: true,
      bos_token: '<s>',
      eos_token: '</s>',
      unk_token: '<unk>',
    }),
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
  const totalSize = all.reduce((n, t) => n + t.data.length * (spec.dtype === 'F32' ? 4 : 2), 0);
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
  return writeGguf(llamaGgufMetadata(config, `tiny-${spec.dtype}`), tensors);
}

/** Bytes a Q4_0 tensor of `n` elements takes (for the unsupported-type fixture). */
export function q40Bytes(n: number): Uint8Array {
  const t = GGML_TYPES[2]!;
  return new Uint8Array((n / t.block) * t.bytes);
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

/** The tiny model variants written by the fixture script, by folder name. */
export const TINY_MODELS: Record<string, TinySpec> = {
  'tiny-f32-gqa': { seed: 1, dtype: 'F32', gqa: true, tied: false },
  'tiny-bf16-gqa-tied': { seed: 2, dtype: 'BF16', gqa: true, tied: true },
  'tiny-f16-mha': { seed: 3, dtype: 'F16', gqa: false, tied: false },
  'tiny-f32-mha-tied': { seed: 4, dtype: 'F32', gqa: false, tied: true },
};

/** Which tiny variant each GGUF fixture is a copy of. */
export const TINY_GGUFS: Record<string, string> = {
  'tiny-f32.gguf': 'tiny-f32-gqa',
  'tiny-f16.gguf': 'tiny-f16-mha',
  'tiny-bf16.gguf': 'tiny-bf16-gqa-tied',
};
