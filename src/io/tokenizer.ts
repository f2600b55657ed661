/** Tokenizers: Hugging Face tokenizer.json (via @huggingface/tokenizers) and GGUF sentencepiece vocabularies. */
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { StudioError } from '../util/errors.ts';
import { FormatError } from './errors.ts';

/** What training, evaluation and generation need from a tokenizer. */
export interface Tokenizer {
  encode(text: string, opts?: { addBos?: boolean }): number[];
  /** Decodes ids to text, dropping special tokens (BOS, EOS). */
  decode(ids: readonly number[]): string;
  bosId: number;
  eosId: number;
  /** The EOS token as written in text (`</s>`, `<|endoftext|>`, …); a line holding only it separates documents. */
  eosText: string;
  vocabSize: number;
}

type Json = Record<string, unknown>;

function tokenContent(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'object' && v !== null && typeof (v as Json).content === 'string')
    return (v as Json).content as string;
  return undefined;
}

/**
 * A tokenizer from tokenizer.json (+ tokenizer_config.json). BOS is added by default when the config's
 * add_bos_token says so (true when absent); `fallback` supplies ids the files do not name.
 */
export function hfTokenizer(
  tokenizerJson: unknown,
  tokenizerConfig: unknown = {},
  fallback: { bosId?: number; eosId?: number } = {},
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
  fallback: { bosId?: number; eosId?: number },
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
  const idOf = (v: unknown, names: string[], fb: number | undefined): number => {
    for (const name of [tokenContent(v), ...names]) {
      const id = name === undefined ? undefined : tok.token_to_id(name);
      if (id !== undefined) return id;
    }
    if (fb !== undefined) return fb;
    throw new FormatError('tokenizer.json', `the tokenizer has no ${names[0]} token`);
  };
  const bosId = idOf(cfg.bos_token, ['<s>', '<|begin_of_text|>'], fallback.bosId);
  const eosId = idOf(cfg.eos_token, ['</s>', '<|end_of_text|>', '<|endoftext|>'], fallback.eosId);
  const addBosDefault = cfg.add_bos_token === undefined ? true : cfg.add_bos_token === true;
  const vocabSize = tok.get_vocab(true).size;
  const cleanUp = cfg.clean_up_tokenization_spaces === true;
  return {
    bosId,
    eosId,
    eosText: tok.id_to_token(eosId) ?? '',
    vocabSize,
    encode(text, opts = {}) {
      const ids = asFormatError(
        'the tokenizer failed on the text',
        () => tok.encode(text, { add_special_tokens: false }).ids,
      );
      return (opts.addBos ?? addBosDefault) ? [bosId, ...ids] : ids;
    },
    decode(ids) {
      // Llama tokenizers do not "clean up" spaces before punctuation unless the config asks to.
      return asFormatError('the tokenizer failed to decode', () =>
        tok.decode([...ids], {
          skip_special_tokens: true,
          clean_up_tokenization_spaces: cleanUp,
        }),
      );
    },
  };
}
