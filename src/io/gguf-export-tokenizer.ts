/**
 * The tokenizer metadata a GGUF export carries: a source GGUF's tokenizer.* entries verbatim, or
 * llama.cpp's vocabulary built from tokenizer.json (sentencepiece-style BPE as "llama", byte-level
 * BPE as "gpt2"), or from a GGUF vocabulary read earlier.
 */
import type { ModelConfig } from './config.ts';
import { GgufExportError } from './errors.ts';
import type { GgufFile } from './gguf.ts';
import { bpePreName } from './gguf-bpe.ts';
import type { GgufKv } from './gguf-writer.ts';
import type { TokenizerSource } from './model.ts';
import { hfTokenizer, tokenContent, tokenizerParts as parts } from './tokenizer.ts';

const TOKEN_NORMAL = 1;
const TOKEN_UNKNOWN = 2;
const TOKEN_CONTROL = 3;
const TOKEN_USER_DEFINED = 4;
const TOKEN_BYTE = 6;

type Json = Record<string, unknown>;

/** Copies a GGUF's tokenizer.* metadata with its types. */
function tokenizerKvsFromGguf(gguf: GgufFile): GgufKv[] {
  const out: GgufKv[] = [];
  for (const [key, value] of Object.entries(gguf.metadata)) {
    if (!key.startsWith('tokenizer.')) continue;
    const t = gguf.types[key]!;
    if (t.type === 'array') {
      out.push({
        key,
        type: 'array',
        itemType: t.itemType as Exclude<typeof t.itemType, 'array' | undefined>,
        value: value as (number | string | boolean | bigint)[],
      });
    } else if (t.type === 'string') out.push({ key, type: 'string', value: String(value) });
    else if (t.type === 'bool') out.push({ key, type: 'bool', value: Boolean(value) });
    else out.push({ key, type: t.type, value: value as number | bigint } as GgufKv);
  }
  return out;
}

/**
 * The tokenizer metadata llama.cpp needs, built from tokenizer.json (+ tokenizer_config.json):
 * sentencepiece-style BPE (byte fallback, ▁ for spaces) as tokenizer model "llama" with scores that
 * order the merges, byte-level BPE as "gpt2" with its merges and pre-tokenizer name. Anything else
 * is a GgufExportError naming the tokenizer model.
 */
export function tokenizerKvsFromHf(
  tokenizerJson: unknown,
  tokenizerConfig: unknown,
  config: ModelConfig,
): GgufKv[] {
  const tj = (tokenizerJson ?? {}) as Json;
  const cfg = (tokenizerConfig ?? {}) as Json;
  const model = (tj.model ?? {}) as Json;
  if (model.type !== 'BPE') {
    throw new GgufExportError(
      'tokenizer.json',
      `tokenizer model "${String(model.type)}" cannot be written as a llama.cpp vocabulary (only sentencepiece-style BPE with byte fallback, as "llama", and byte-level BPE, as "gpt2")`,
    );
  }
  const vocab = (model.vocab ?? {}) as Record<string, number>;
  const added = (Array.isArray(tj.added_tokens) ? tj.added_tokens : []) as Json[];
  const byId = new Map<number, string>();
  for (const [tok, id] of Object.entries(vocab)) byId.set(id, tok);
  const special = new Set<number>();
  const userDefined = new Set<number>();
  for (const a of added) {
    const id = Number(a.id);
    byId.set(id, String(a.content));
    (a.special === true ? special : userDefined).add(id);
  }
  const n = Math.max(config.vocabSize, byId.size);
  const tokens: string[] = [];
  for (let id = 0; id < n; id++) {
    // Ids the tokenizer does not name (padding rows of the embedding) get a placeholder.
    tokens.push(byId.get(id) ?? `[PAD${id}]`);
  }
  const rawMerges = (Array.isArray(model.merges) ? model.merges : []) as unknown[];
  const merges = rawMerges.map((m) => (Array.isArray(m) ? m.join(' ') : String(m)));
  const idOf = (v: unknown, names: string[], fb: number): number => {
    for (const name of [tokenContent(v), ...names]) {
      if (name === undefined) continue;
      const i = tokens.indexOf(name);
      if (i >= 0) return i;
    }
    return fb;
  };
  const bos = idOf(cfg.bos_token, ['<s>', '<|begin_of_text|>'], config.bosId);
  const eos = idOf(cfg.eos_token, ['</s>', '<|end_of_text|>', '<|endoftext|>'], config.eosId);
  const addEos = cfg.add_eos_token === true;
  const kvs: GgufKv[] = [];
  const decoders = parts(tj.decoder);
  const byteFallback = model.byte_fallback === true;
  const metaspace =
    decoders.some(
      (d) =>
        d.type === 'Metaspace' ||
        (d.type === 'Replace' && (d.pattern as Json | undefined)?.String === '▁'),
    ) || parts(tj.pre_tokenizer).some((p) => p.type === 'Metaspace');
  const byteLevel = decoders.some((d) => d.type === 'ByteLevel');
  if (byteFallback && metaspace) {
    // A merged piece scores minus the rank of its earliest merge, so llama.cpp's sentencepiece
    // tokenizer (highest score first, leftmost on ties) merges in the order BPE does.
    const rank = new Map<string, number>();
    merges.forEach((m, r) => {
      const piece = m.replace(' ', '');
      if (!rank.has(piece)) rank.set(piece, r);
    });
    const unk = tokenContent(model.unk_token);
    const types = tokens.map((t, id) =>
      special.has(id)
        ? t === unk
          ? TOKEN_UNKNOWN
          : TOKEN_CONTROL
        : userDefined.has(id)
          ? TOKEN_USER_DEFINED
          : /^<0x[0-9A-Fa-f]{2}>$/.test(t)
            ? TOKEN_BYTE
            : t === unk
              ? TOKEN_UNKNOWN
              : TOKEN_NORMAL,
    );
    const scores = tokens.map((t, id) =>
      types[id] === TOKEN_NORMAL ? -(rank.get(t) ?? (t.length > 1 ? merges.length : 0)) : 0,
    );
    const prepend =
      parts(tj.normalizer).some((p) => p.type === 'Prepend' && p.prepend === '▁') ||
      parts(tj.pre_tokenizer).some(
        (p) =>
          p.type === 'Metaspace' &&
          (p.prepend_scheme === 'always' ||
            p.prepend_scheme === 'first' ||
            p.add_prefix_space === true),
      );
    kvs.push(
      { key: 'tokenizer.ggml.model', type: 'string', value: 'llama' },
      { key: 'tokenizer.ggml.tokens', type: 'array', itemType: 'string', value: tokens },
      { key: 'tokenizer.ggml.scores', type: 'array', itemType: 'f32', value: scores },
      { key: 'tokenizer.ggml.token_type', type: 'array', itemType: 'i32', value: types },
      { key: 'tokenizer.ggml.add_space_prefix', type: 'bool', value: prepend },
    );
    const unkId = unk === undefined ? -1 : tokens.indexOf(unk);
    if (unkId >= 0) kvs.push({ key: 'tokenizer.ggml.unknown_token_id', type: 'u32', value: unkId });
  } else if (byteLevel && !byteFallback) {
    const pre = bpePreName(tj.pre_tokenizer);
    const types = tokens.map((_, id) =>
      special.has(id) ? TOKEN_CONTROL : userDefined.has(id) ? TOKEN_USER_DEFINED : TOKEN_NORMAL,
    );
    kvs.push(
      { key: 'tokenizer.ggml.model', type: 'string', value: 'gpt2' },
      { key: 'tokenizer.ggml.pre', type: 'string', value: pre },
      { key: 'tokenizer.ggml.tokens', type: 'array', itemType: 'string', value: tokens },
      { key: 'tokenizer.ggml.token_type', type: 'array', itemType: 'i32', value: types },
      { key: 'tokenizer.ggml.merges', type: 'array', itemType: 'string', value: merges },
    );
  } else {
    throw new GgufExportError(
      'tokenizer.json',
      `this BPE tokenizer is neither sentencepiece-style (byte_fallback ${String(model.byte_fallback ?? false)}, ▁ for spaces) nor byte-level (a ByteLevel decoder), so it cannot be written as a llama.cpp vocabulary`,
    );
  }
  // Whether Hugging Face's tokenizer(text) puts BOS first (add_bos_token, else the post_processor).
  const addBos = hfTokenizer(tokenizerJson, tokenizerConfig).addsBos;
  kvs.push(
    { key: 'tokenizer.ggml.bos_token_id', type: 'u32', value: bos },
    { key: 'tokenizer.ggml.eos_token_id', type: 'u32', value: eos },
    { key: 'tokenizer.ggml.add_bos_token', type: 'bool', value: addBos },
    { key: 'tokenizer.ggml.add_eos_token', type: 'bool', value: addEos },
  );
  if (typeof cfg.chat_template === 'string')
    kvs.push({ key: 'tokenizer.chat_template', type: 'string', value: cfg.chat_template });
  const pad = tokenContent(cfg.pad_token);
  const padId = pad === undefined ? -1 : tokens.indexOf(pad);
  if (padId >= 0) kvs.push({ key: 'tokenizer.ggml.padding_token_id', type: 'u32', value: padId });
  return kvs;
}

/**
 * The tokenizer metadata for an opened model: the source GGUF's tokenizer.* entries verbatim when
 * there is one, else built from tokenizer.json; a model with no tokenizer is refused.
 */
export function tokenizerKvs(
  tokenizer: TokenizerSource,
  config: ModelConfig,
  sourceGguf?: GgufFile,
): GgufKv[] {
  if (sourceGguf) return tokenizerKvsFromGguf(sourceGguf);
  if (tokenizer?.kind === 'hf') return tokenizerKvsFromHf(tokenizer.json, tokenizer.config, config);
  if (tokenizer?.kind === 'gguf-bpe') {
    const v = tokenizer.vocab;
    return [
      { key: 'tokenizer.ggml.model', type: 'string', value: 'gpt2' },
      { key: 'tokenizer.ggml.pre', type: 'string', value: v.pre },
      { key: 'tokenizer.ggml.tokens', type: 'array', itemType: 'string', value: v.tokens },
      { key: 'tokenizer.ggml.token_type', type: 'array', itemType: 'i32', value: v.types },
      { key: 'tokenizer.ggml.merges', type: 'array', itemType: 'string', value: v.merges },
      ...(v.bosId === undefined
        ? []
        : [{ key: 'tokenizer.ggml.bos_token_id', type: 'u32', value: v.bosId } as const]),
      { key: 'tokenizer.ggml.eos_token_id', type: 'u32', value: v.eosId },
      { key: 'tokenizer.ggml.add_bos_token', type: 'bool', value: v.addBos },
    ];
  }
  if (tokenizer?.kind === 'gguf') {
    const v = tokenizer.vocab;
    return [
      { key: 'tokenizer.ggml.model', type: 'string', value: 'llama' },
      { key: 'tokenizer.ggml.tokens', type: 'array', itemType: 'string', value: v.tokens },
      { key: 'tokenizer.ggml.scores', type: 'array', itemType: 'f32', value: v.scores },
      { key: 'tokenizer.ggml.token_type', type: 'array', itemType: 'i32', value: v.types },
      { key: 'tokenizer.ggml.bos_token_id', type: 'u32', value: v.bosId },
      { key: 'tokenizer.ggml.eos_token_id', type: 'u32', value: v.eosId },
      { key: 'tokenizer.ggml.unknown_token_id', type: 'u32', value: v.unkId },
      { key: 'tokenizer.ggml.add_bos_token', type: 'bool', value: v.addBos },
      { key: 'tokenizer.ggml.add_space_prefix', type: 'bool', value: v.addSpacePrefix },
    ];
  }
  throw new GgufExportError(
    'tokenizer.json',
    'the model has no tokenizer (tokenizer.json or a GGUF vocabulary); llama.cpp needs one in the GGUF',
  );
}
