/**
 * A small byte-level BPE tokenizer trained here on real text (the demo's TinyStories), written as the
 * tokenizer.json + tokenizer_config.json of a Qwen2-, Llama 3- or SmolLM2-style model: GPT-2's byte
 * alphabet, the merges learned by counting adjacent pairs inside pre-tokens, and each style's
 * pre-tokenizer, special tokens and BOS convention. scripts/make-bpe-tokenizer.ts writes one to disk.
 */
import { BPE_PRE_TOKENIZERS, byteLevelBpeModel } from '../io/gguf-bpe.ts';
import { byteLevelAlphabet } from './fixtures.ts';

type Json = Record<string, unknown>;

export type ByteLevelStyle = 'qwen2' | 'llama3' | 'smollm2';

/** GPT-2's pre-tokenizer regex: words with their leading space, digits, punctuation, whitespace runs. */
const GPT2_SPLIT = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

/**
 * Learns `merges` byte-level BPE merges from `text`: each pre-token becomes its bytes in GPT-2's
 * alphabet, and the most frequent adjacent pair (ties: the first in string order) is merged until
 * `merges` are learned or no pair occurs twice.
 */
export function trainByteLevelBpe(text: string, merges: number): [string, string][] {
  const alphabet = new Map(byteLevelAlphabet().map((b) => [b.byte, b.char]));
  const utf8 = new TextEncoder();
  const counts = new Map<string, number>();
  for (const m of text.matchAll(GPT2_SPLIT)) {
    const w = Array.from(utf8.encode(m[0]), (b) => alphabet.get(b)!).join('\u0000');
    counts.set(w, (counts.get(w) ?? 0) + 1);
  }
  const words = [...counts].map(([w, n]) => ({ parts: w.split('\u0000'), n }));
  // Pair counts, and which words hold each pair, kept up to date as merges rewrite words.
  const pairs = new Map<string, number>();
  const holders = new Map<string, Set<number>>();
  const count = (wi: number, sign: 1 | -1) => {
    const { parts, n } = words[wi]!;
    for (let i = 0; i + 1 < parts.length; i++) {
      const k = `${parts[i]}\u0000${parts[i + 1]}`;
      pairs.set(k, (pairs.get(k) ?? 0) + sign * n);
      if (sign > 0) {
        let h = holders.get(k);
        if (!h) holders.set(k, (h = new Set()));
        h.add(wi);
      }
    }
  };
  words.forEach((_, wi) => count(wi, 1));
  const learned: [string, string][] = [];
  while (learned.length < merges) {
    let best: string | undefined;
    let bestN = 1;
    for (const [k, n] of pairs)
      if (n > bestN || (n === bestN && best !== undefined && k < best)) {
        best = k;
        bestN = n;
      }
    if (best === undefined) break;
    const [l, r] = best.split('\u0000') as [string, string];
    learned.push([l, r]);
    for (const wi of holders.get(best) ?? []) {
      const w = words[wi]!;
      count(wi, -1);
      const out: string[] = [];
      for (let i = 0; i < w.parts.length; i++) {
        if (i + 1 < w.parts.length && w.parts[i] === l && w.parts[i + 1] === r) {
          out.push(l + r);
          i++;
        } else out.push(w.parts[i]!);
      }
      w.parts = out;
      count(wi, 1);
    }
    pairs.delete(best);
  }
  return learned;
}

/** The special tokens of each style, in id order after the learned vocabulary (SmolLM2: before it). */
const SPECIALS: Record<ByteLevelStyle, string[]> = {
  qwen2: ['<|endoftext|>', '<|im_start|>', '<|im_end|>'],
  llama3: [
    '<|begin_of_text|>',
    '<|end_of_text|>',
    '<|start_header_id|>',
    '<|end_header_id|>',
    '<|eot_id|>',
  ],
  smollm2: ['<|endoftext|>', '<|im_start|>', '<|im_end|>'],
};

const PRE: Record<ByteLevelStyle, string> = {
  qwen2: 'qwen2',
  llama3: 'llama-bpe',
  smollm2: 'smollm',
};

/**
 * tokenizer.json and tokenizer_config.json of a `style` byte-level BPE tokenizer with `merges`
 * merges learned from `text`. Qwen2: `bos_token: null`, no BOS added, NFC normalizer, specials after
 * the vocabulary; Llama 3: `<|begin_of_text|>` added by the post_processor's template; SmolLM2:
 * specials at ids 0–2 inside the vocabulary, no BOS added (its config has no add_bos_token).
 */
export function trainedTokenizerFiles(
  style: ByteLevelStyle,
  text: string,
  merges = 300,
): { tokenizer: Json; tokenizerConfig: Json } {
  const learned = trainByteLevelBpe(text, merges);
  const regular = [...byteLevelAlphabet().map((b) => b.char), ...learned.map(([l, r]) => l + r)];
  const specials = SPECIALS[style];
  const first = style === 'smollm2' ? 0 : regular.length;
  const vocab: Record<string, number> = {};
  const offset = style === 'smollm2' ? specials.length : 0;
  regular.forEach((t, i) => {
    if (!(t in vocab)) vocab[t] = i + offset;
  });
  const specialIds = specials.map((content, i) => ({ id: first + i, content }));
  if (style === 'smollm2') for (const s of specialIds) vocab[s.content] = s.id;
  const pre = BPE_PRE_TOKENIZERS[PRE[style]]!;
  const byteLevel = {
    type: 'ByteLevel',
    add_prefix_space: false,
    trim_offsets: false,
    use_regex: false,
  };
  const bos = specialIds[0]!;
  const postProcessor =
    style === 'llama3'
      ? {
          type: 'Sequence',
          processors: [
            { ...byteLevel, trim_offsets: false },
            {
              type: 'TemplateProcessing',
              single: [
                { SpecialToken: { id: bos.content, type_id: 0 } },
                { Sequence: { id: 'A', type_id: 0 } },
              ],
              pair: [
                { SpecialToken: { id: bos.content, type_id: 0 } },
                { Sequence: { id: 'A', type_id: 0 } },
                { SpecialToken: { id: bos.content, type_id: 1 } },
                { Sequence: { id: 'B', type_id: 1 } },
              ],
              special_tokens: {
                [bos.content]: { id: bos.content, ids: [bos.id], tokens: [bos.content] },
              },
            },
          ],
        }
      : byteLevel;
  const tokenizer: Json = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: specialIds.map((s) => ({
      id: s.id,
      content: s.content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: pre.normalizer,
    pre_tokenizer: pre.preTokenizer,
    post_processor: postProcessor,
    decoder: byteLevel,
    model: byteLevelBpeModel(vocab, learned, pre.ignoreMerges),
  };
  const tokenizerConfig: Json =
    style === 'qwen2'
      ? {
          add_prefix_space: false,
          bos_token: null,
          clean_up_tokenization_spaces: false,
          eos_token: '<|im_end|>',
          pad_token: '<|endoftext|>',
          split_special_tokens: false,
          tokenizer_class: 'Qwen2Tokenizer',
          unk_token: null,
        }
      : style === 'llama3'
        ? {
            bos_token: '<|begin_of_text|>',
            clean_up_tokenization_spaces: false,
            eos_token: '<|end_of_text|>',
            tokenizer_class: 'PreTrainedTokenizerFast',
          }
        : {
            add_prefix_space: false,
            bos_token: '<|endoftext|>',
            clean_up_tokenization_spaces: false,
            eos_token: '<|endoftext|>',
            tokenizer_class: 'GPT2Tokenizer',
            unk_token: '<|endoftext|>',
          };
  return { tokenizer, tokenizerConfig };
}

/**
 * A Qwen2.5-style ChatML chat template (the tool-calling branches left out): a default system turn
 * when the conversation has none, `<|im_start|>{role}\n{content}<|im_end|>\n` per message, and
 * `<|im_start|>assistant\n` as the generation prompt.
 */
export const QWEN25_STYLE_CHAT_TEMPLATE = [
  "{%- if messages[0]['role'] == 'system' %}",
  "    {{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}",
  '{%- else %}',
  "    {{- '<|im_start|>system\\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\\n' }}",
  '{%- endif %}',
  '{%- for message in messages %}',
  '    {%- if (message.role == "user") or (message.role == "system" and not loop.first) or (message.role == "assistant") %}',
  "        {{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + '\\n' }}",
  '    {%- endif %}',
  '{%- endfor %}',
  '{%- if add_generation_prompt %}',
  "    {{- '<|im_start|>assistant\\n' }}",
  '{%- endif %}',
].join('\n');

/**
 * Qwen2.5-style tokenizer files: a Qwen2-style byte-level BPE learned from `text` (no BOS: its
 * tokenizer_config says `bos_token: null`) with the Qwen2.5-style ChatML chat template.
 */
export function qwenStyleTokenizerFiles(
  text: string,
  merges = 200,
): { tokenizer: Json; tokenizerConfig: Json } {
  const f = trainedTokenizerFiles('qwen2', text, merges);
  return {
    tokenizer: f.tokenizer,
    tokenizerConfig: { ...f.tokenizerConfig, chat_template: QWEN25_STYLE_CHAT_TEMPLATE },
  };
}
