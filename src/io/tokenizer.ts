/** Tokenizers: Hugging Face tokenizer.json (via @huggingface/tokenizers) and GGUF sentencepiece vocabularies. */
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { StudioError } from '../util/errors.ts';
import { chatTemplateFrom, type ChatTemplate } from './chat-template.ts';
import { FormatError } from './errors.ts';

/** What training, evaluation and generation need from a tokenizer. */
export interface Tokenizer {
  /**
   * Encodes text. `addBos` puts the BOS first (nothing when the model has none); when absent, BOS
   * comes first exactly when Hugging Face's `tokenizer(text)` would put it there (`addsBos`).
   * Special tokens written in the text (`<|im_start|>`, `<|endoftext|>`, …) become their ids.
   */
  encode(text: string, opts?: { addBos?: boolean }): number[];
  /** Decodes ids to text, dropping special tokens (BOS, EOS). */
  decode(ids: readonly number[]): string;
  /** The BOS id; undefined when the model has none (Qwen: `bos_token: null`). */
  bosId?: number;
  /**
   * Whether encode puts BOS first by default: tokenizer_config.json's `add_bos_token` when it says,
   * else whether tokenizer.json's post_processor adds one (Llama 3 yes; SmolLM2 and Qwen no).
   */
  addsBos: boolean;
  eosId: number;
  /** The EOS token as written in text (`</s>`, `<|endoftext|>`, …); a line holding only it separates documents. */
  eosText: string;
  vocabSize: number;
  /** The model's chat template (tokenizer_config.json's `chat_template`); undefined when it has none. */
  chat?: ChatTemplate;
}

type Json = Record<string, unknown>;

/** Tokenizer classes whose add_bos_token defaults to true in transformers. */
const LLAMA_CLASSES = /^(Code)?(Llama|Gemma)Tokenizer(Fast)?$/;

/** A token as tokenizer_config.json gives it: its text, or an AddedToken object's `content`. */
export function tokenContent(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'object' && v !== null && typeof (v as Json).content === 'string')
    return (v as Json).content as string;
  return undefined;
}

/**
 * Every component of a tokenizer.json normalizer / pre_tokenizer / decoder (a Sequence flattened).
 */
export function tokenizerParts(v: unknown): Json[] {
  if (!v || typeof v !== 'object') return [];
  const j = v as Json;
  const inner = j.normalizers ?? j.pretokenizers ?? j.decoders;
  if (j.type === 'Sequence' && Array.isArray(inner)) return inner.flatMap(tokenizerParts);
  return [j];
}

/**
 * A tokenizer from tokenizer.json (+ tokenizer_config.json), following Hugging Face: BOS is the
 * config's `bos_token` (none when it is `null`), added by default when the config's `add_bos_token`
 * says so or, when the config does not say, when tokenizer.json's post_processor adds it.
 * `fallback.eosId` supplies an EOS the files do not name.
 */
export function hfTokenizer(
  tokenizerJson: unknown,
  tokenizerConfig: unknown = {},
  fallback: { eosId?: number } = {},
): Tokenizer {
  // The tokenizer library throws plain errors (or TypeErrors) on a malformed tokenizer.json: each
  // becomes a FormatError naming the file, built here and on first use alike.
  const asFormatError = <T>(what: string, f: () => T): T => {
    try {
      return f();
    } catch (e) {
      if (e instanceof StudioError) throw e;
      throw new FormatError(
        'tokenizer.json',
        `${what}: ${e instanceof Error ? e.message : String(e)}`.slice(0, 500),
      );
    }
  };
  return asFormatError('cannot build the tokenizer', () =>
    buildHfTokenizer(tokenizerJson, tokenizerConfig, fallback, asFormatError),
  );
}

function buildHfTokenizer(
  tokenizerJson: unknown,
  tokenizerConfig: unknown,
  fallback: { eosId?: number },
  asFormatError: <T>(what: string, f: () => T) => T,
): Tokenizer {
  if (typeof tokenizerJson !== 'object' || tokenizerJson === null || Array.isArray(tokenizerJson))
    throw new FormatError('tokenizer.json', 'is not a JSON object');
  if (
    tokenizerConfig !== null &&
    tokenizerConfig !== undefined &&
    (typeof tokenizerConfig !== 'object' || Array.isArray(tokenizerConfig))
  )
    throw new FormatError('tokenizer_config.json', 'is not a JSON object');
  const cfg = (tokenizerConfig ?? {}) as Json;
  const tok = new HfTokenizer(tokenizerJson, cfg);
  const idOf = (v: unknown, names: string[], fb: number | undefined): number | undefined => {
    for (const name of [tokenContent(v), ...names]) {
      const id = name === undefined ? undefined : tok.token_to_id(name);
      if (id !== undefined) return id;
    }
    return fb;
  };
  // What the post_processor puts before the text (Llama 3's template: <|begin_of_text|>).
  const plain = tok.encode('a', { add_special_tokens: false }).ids;
  const special = tok.encode('a', { add_special_tokens: true }).ids;
  const at = plain.length
    ? special.findIndex((_, i) => special.slice(i, i + plain.length).join() === plain.join())
    : special.length;
  const prefix = at > 0 ? special.slice(0, at) : [];
  // `bos_token: null` (Qwen) means none; else the config's token, a usual name, or the prefix.
  const bosId =
    'bos_token' in cfg && cfg.bos_token === null
      ? undefined
      : idOf(
          cfg.bos_token,
          ['<s>', '<|begin_of_text|>'],
          prefix.length === 1 ? prefix[0] : undefined,
        );
  const eosId = idOf(cfg.eos_token, ['</s>', '<|end_of_text|>', '<|endoftext|>'], fallback.eosId);
  if (eosId === undefined)
    throw new FormatError('tokenizer.json', 'the tokenizer has no </s> (EOS) token');
  // transformers' Llama/Gemma tokenizer classes default add_bos_token to true and rewrite the
  // post_processor to match; other classes keep tokenizer.json's post_processor as it is.
  // Without a BOS there is nothing to add, whatever add_bos_token says.
  const addsBos =
    bosId !== undefined &&
    (typeof cfg.add_bos_token === 'boolean'
      ? cfg.add_bos_token
      : LLAMA_CLASSES.test(String(cfg.tokenizer_class ?? '')) || prefix.includes(bosId));
  const vocabSize = tok.get_vocab(true).size;
  const cleanUp = cfg.clean_up_tokenization_spaces === true;
  const chat = chatTemplateFrom(cfg);
  return {
    bosId,
    addsBos,
    eosId,
    eosText: tok.id_to_token(eosId) ?? '',
    vocabSize,
    encode(text, opts = {}) {
      const ids = asFormatError(
        'the tokenizer failed on the text',
        () => tok.encode(text, { add_special_tokens: false }).ids,
      );
      return (opts.addBos ?? addsBos) && bosId !== undefined ? [bosId, ...ids] : ids;
    },
    decode(ids) {
      if (ids.length === 0) return ''; // the library refuses an empty list
      // Llama tokenizers do not "clean up" spaces before punctuation unless the config asks to.
      return asFormatError('the tokenizer failed to decode', () =>
        tok.decode([...ids], {
          skip_special_tokens: true,
          clean_up_tokenization_spaces: cleanUp,
        }),
      );
    },
    ...(chat ? { chat } : {}),
  };
}
