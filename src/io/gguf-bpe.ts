/**
 * Byte-level BPE over a GGUF vocabulary (`tokenizer.ggml.model` = "gpt2": Qwen, Llama 3, SmolLM2):
 * the GGUF's tokens, token types and merges are turned back into the tokenizer.json they came from
 * (the pre-tokenizer named by `tokenizer.ggml.pre`) and tokenized by the same library as
 * tokenizer.json, so both give the same ids. Also the table of those pre-tokenizers that the GGUF
 * export names.
 */
import { FormatError, UnsupportedModelError } from './errors.ts';
import { metadataNumber as num, type GgufFile, type GgufValue } from './gguf.ts';
import { hfTokenizer, tokenizerParts as parts, type Tokenizer } from './tokenizer.ts';

type Json = Record<string, unknown>;

/** A byte-level BPE vocabulary as GGUF stores it (tokenizer.ggml.*). */
export interface BpeVocab {
  tokens: string[];
  /** 1 normal, 3 control (special), 4 user-defined; others are treated as normal. */
  types: number[];
  /** "left right" pairs in priority order. */
  merges: string[];
  /** llama.cpp's pre-tokenizer name (tokenizer.ggml.pre). */
  pre: string;
  /** Undefined when the GGUF names none. */
  bosId?: number;
  eosId: number;
  addBos: boolean;
  /** tokenizer.chat_template, when the GGUF carries one. */
  chatTemplate?: string;
}

const TYPE_CONTROL = 3;
const TYPE_USER_DEFINED = 4;

/** The Llama 3 pre-tokenizer regex (llama.cpp's "llama-bpe"). */
const LLAMA3_SPLIT =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
/** Qwen2's (llama.cpp's "qwen2"): Llama 3's with single digits. */
const QWEN2_SPLIT =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

const byteLevel = (trimOffsets: boolean, useRegex: boolean): Json => ({
  type: 'ByteLevel',
  add_prefix_space: false,
  trim_offsets: trimOffsets,
  use_regex: useRegex,
});
const split = (regex: string): Json => ({
  type: 'Split',
  pattern: { Regex: regex },
  behavior: 'Isolated',
  invert: false,
});

/** A byte-level pre-tokenizer llama.cpp names, as tokenizer.json writes it. */
interface BpePre {
  preTokenizer: Json;
  normalizer: Json | null;
  /** BPE's ignore_merges (a whole pre-token in the vocabulary is taken as it is). */
  ignoreMerges: boolean;
  /** llama.cpp adds BOS by default for this vocabulary (when the GGUF does not say). */
  addBos: boolean;
}

/** The pre-tokenizers by llama.cpp name (tokenizer.ggml.pre). */
export const BPE_PRE_TOKENIZERS: Readonly<Record<string, BpePre>> = {
  'gpt-2': {
    preTokenizer: byteLevel(true, true),
    normalizer: null,
    ignoreMerges: false,
    addBos: false,
  },
  'llama-bpe': {
    preTokenizer: {
      type: 'Sequence',
      pretokenizers: [split(LLAMA3_SPLIT), byteLevel(true, false)],
    },
    normalizer: null,
    ignoreMerges: true,
    addBos: true,
  },
  qwen2: {
    preTokenizer: {
      type: 'Sequence',
      pretokenizers: [split(QWEN2_SPLIT), byteLevel(false, false)],
    },
    normalizer: { type: 'NFC' },
    ignoreMerges: false,
    addBos: false,
  },
  smollm: {
    preTokenizer: {
      type: 'Sequence',
      pretokenizers: [{ type: 'Digits', individual_digits: true }, byteLevel(true, true)],
    },
    normalizer: null,
    ignoreMerges: false,
    addBos: false,
  },
};

/** What decides tokenization in a pre-tokenizer: its components' types, regexes and flags. */
function preKey(preTokenizer: unknown): string {
  return JSON.stringify(
    parts(preTokenizer).map((p) =>
      p.type === 'ByteLevel'
        ? { type: p.type, use_regex: p.use_regex !== false }
        : p.type === 'Split'
          ? { type: p.type, regex: (p.pattern as Json | undefined)?.Regex }
          : p.type === 'Digits'
            ? { type: p.type, individual: p.individual_digits === true }
            : { type: p.type },
    ),
  );
}

/**
 * llama.cpp's name for tokenizer.json's byte-level pre-tokenizer (GPT-2's, Llama 3's, Qwen2's or
 * SmolLM's); an UnsupportedModelError describing any other.
 */
export function bpePreName(preTokenizer: unknown): string {
  const key = preKey(preTokenizer);
  for (const [name, pre] of Object.entries(BPE_PRE_TOKENIZERS))
    if (preKey(pre.preTokenizer) === key) return name;
  const desc =
    parts(preTokenizer)
      .map((p) => String(p.type))
      .join(' + ') || 'none';
  throw new UnsupportedModelError(
    'tokenizer.json',
    `the byte-level BPE pre-tokenizer (${desc}) is not one llama.cpp names (GPT-2's, Llama 3's, Qwen2's or SmolLM's), so the GGUF could not split text as the model was trained; export from a .gguf that carries its tokenizer instead`,
  );
}

/** Extracts the byte-level BPE vocabulary from GGUF metadata; other tokenizer models are a FormatError. */
export function bpeVocabFromGguf(file: string, gguf: GgufFile): BpeVocab {
  const md = gguf.metadata;
  if (md['tokenizer.ggml.model'] !== 'gpt2')
    throw new FormatError(
      file,
      `GGUF tokenizer model "${String(md['tokenizer.ggml.model'])}" is not byte-level BPE ("gpt2")`,
    );
  const arr = (key: string): GgufValue[] => {
    const v = md[key];
    if (!Array.isArray(v)) throw new FormatError(file, `missing metadata ${key}`);
    return v;
  };
  const tokens = arr('tokenizer.ggml.tokens').map(String);
  const types = md['tokenizer.ggml.token_type']
    ? arr('tokenizer.ggml.token_type').map(Number)
    : tokens.map(() => 1);
  if (types.length !== tokens.length)
    throw new FormatError(file, 'tokenizer.ggml.tokens and token_type have different lengths');
  const merges = arr('tokenizer.ggml.merges').map(String);
  const rawPre = md['tokenizer.ggml.pre'];
  const pre = rawPre === undefined || rawPre === 'default' ? 'gpt-2' : String(rawPre);
  const known = BPE_PRE_TOKENIZERS[pre];
  if (!known)
    throw new UnsupportedModelError(
      file,
      `GGUF byte-level pre-tokenizer "${pre}" is not supported (${Object.keys(BPE_PRE_TOKENIZERS).join(', ')}); add tokenizer.json instead`,
    );
  const inRange = (id: number | undefined, key: string): number | undefined => {
    if (id === undefined) return undefined;
    if (!Number.isInteger(id) || id < 0 || id >= tokens.length)
      throw new FormatError(file, `${key} ${id} is outside the ${tokens.length} tokens`);
    return id;
  };
  const bosId = inRange(num(md, 'tokenizer.ggml.bos_token_id'), 'tokenizer.ggml.bos_token_id');
  const eosId = inRange(num(md, 'tokenizer.ggml.eos_token_id'), 'tokenizer.ggml.eos_token_id');
  if (eosId === undefined)
    throw new FormatError(file, 'missing metadata tokenizer.ggml.eos_token_id');
  const flag = md['tokenizer.ggml.add_bos_token'];
  const addBos = (typeof flag === 'boolean' ? flag : known.addBos) && bosId !== undefined;
  const chat = md['tokenizer.chat_template'];
  return {
    tokens,
    types,
    merges,
    pre,
    bosId,
    eosId,
    addBos,
    ...(typeof chat === 'string' ? { chatTemplate: chat } : {}),
  };
}

/**
 * tokenizer.json's `model` of a byte-level BPE (GPT-2's byte alphabet: no unknown token, no byte
 * fallback); `ignoreMerges` as Llama 3's (a whole pre-token in the vocabulary is taken as it is).
 */
export function byteLevelBpeModel(
  vocab: Record<string, number>,
  merges: [string, string][],
  ignoreMerges: boolean,
): Json {
  return {
    type: 'BPE',
    dropout: null,
    unk_token: null,
    continuing_subword_prefix: null,
    end_of_word_suffix: null,
    fuse_unk: false,
    byte_fallback: false,
    ignore_merges: ignoreMerges,
    vocab,
    merges,
  };
}

/** The tokenizer.json a GGUF byte-level vocabulary was converted from (as far as tokenization goes). */
export function bpeTokenizerJson(vocab: BpeVocab): Json {
  const pre = BPE_PRE_TOKENIZERS[vocab.pre];
  if (!pre)
    throw new UnsupportedModelError('GGUF', `pre-tokenizer "${vocab.pre}" is not supported`);
  const vocabMap: Record<string, number> = {};
  vocab.tokens.forEach((t, id) => {
    if (!(t in vocabMap)) vocabMap[t] = id;
  });
  const added = vocab.tokens.flatMap((content, id) =>
    vocab.types[id] === TYPE_CONTROL || vocab.types[id] === TYPE_USER_DEFINED
      ? [
          {
            id,
            content,
            single_word: false,
            lstrip: false,
            rstrip: false,
            normalized: false,
            special: vocab.types[id] === TYPE_CONTROL,
          },
        ]
      : [],
  );
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: pre.normalizer,
    pre_tokenizer: pre.preTokenizer,
    post_processor: { ...byteLevel(false, false), add_prefix_space: false },
    decoder: byteLevel(false, false),
    model: byteLevelBpeModel(
      vocabMap,
      vocab.merges.map((m) => {
        const i = m.indexOf(' ');
        return [m.slice(0, i), m.slice(i + 1)];
      }),
      pre.ignoreMerges,
    ),
  };
}

/** A Tokenizer over a GGUF byte-level BPE vocabulary (BOS as the GGUF's add_bos_token says). */
export function bpeTokenizer(vocab: BpeVocab): Tokenizer {
  return hfTokenizer(bpeTokenizerJson(vocab), {
    bos_token: vocab.bosId === undefined ? null : vocab.tokens[vocab.bosId],
    eos_token: vocab.tokens[vocab.eosId],
    add_bos_token: vocab.addBos,
    clean_up_tokenization_spaces: false,
    ...(vocab.chatTemplate ? { chat_template: vocab.chatTemplate } : {}),
  });
}
