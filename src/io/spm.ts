/** llama.cpp's sentencepiece (SPM) tokenizer over a GGUF vocabulary: score-ordered merges, byte fallback. */
import { FormatError, UnsupportedModelError } from './errors.ts';
import type { GgufFile, GgufValue } from './gguf.ts';
import type { Tokenizer } from './tokenizer.ts';

/** A sentencepiece vocabulary as GGUF stores it (tokenizer.ggml.*). */
export interface SpmVocab {
  tokens: string[];
  scores: number[];
  /** 1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte. */
  types: number[];
  bosId: number;
  eosId: number;
  unkId: number;
  addBos: boolean;
  addSpacePrefix: boolean;
}

const TYPE_CONTROL = 3;
const TYPE_BYTE = 6;

/** Extracts the sentencepiece vocabulary from GGUF metadata; other tokenizer models are a FormatError. */
export function spmVocabFromGguf(file: string, gguf: GgufFile): SpmVocab {
  const md = gguf.metadata;
  const model = md['tokenizer.ggml.model'];
  if (model !== 'llama') {
    throw new UnsupportedModelError(
      file,
      `GGUF tokenizer model "${String(model)}" is not supported (only sentencepiece "llama"); add tokenizer.json instead`,
    );
  }
  const arr = (key: string): GgufValue[] => {
    const v = md[key];
    if (!Array.isArray(v)) throw new FormatError(file, `missing metadata ${key}`);
    return v;
  };
  const tokens = arr('tokenizer.ggml.tokens').map(String);
  const scores = md['tokenizer.ggml.scores']
    ? arr('tokenizer.ggml.scores').map(Number)
    : tokens.map(() => 0);
  const types = md['tokenizer.ggml.token_type']
    ? arr('tokenizer.ggml.token_type').map(Number)
    : tokens.map(() => 1);
  if (scores.length !== tokens.length || types.length !== tokens.length) {
    throw new FormatError(file, 'tokenizer.ggml.tokens/scores/token_type have different lengths');
  }
  const id = (key: string, fb: number): number =>
    typeof md[key] === 'number' ? (md[key] as number) : fb;
  const flag = (key: string, fb: boolean): boolean =>
    typeof md[key] === 'boolean' ? (md[key] as boolean) : fb;
  return {
    tokens,
    scores,
    types,
    bosId: id('tokenizer.ggml.bos_token_id', 1),
    eosId: id('tokenizer.ggml.eos_token_id', 2),
    unkId: id('tokenizer.ggml.unknown_token_id', 0),
    addBos: flag('tokenizer.ggml.add_bos_token', true),
    addSpacePrefix: flag('tokenizer.ggml.add_space_prefix', true),
  };
}

interface Bigram {
  left: number;
  right: number;
  score: number;
  size: number;
}

/** Max-heap on score, ties to the leftmost pair (llama.cpp's llm_bigram_spm comparator). */
class BigramQueue {
  private heap: Bigram[] = [];
  private static before(a: Bigram, b: Bigram): boolean {
    return a.score > b.score || (a.score === b.score && a.left < b.left);
  }
  get size(): number {
    return this.heap.length;
  }
  push(b: Bigram): void {
    const h = this.heap;
    h.push(b);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!BigramQueue.before(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }
  pop(): Bigram {
    const h = this.heap;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && BigramQueue.before(h[l]!, h[m]!)) m = l;
        if (r < h.length && BigramQueue.before(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}

/** A Tokenizer over a GGUF sentencepiece vocabulary, behaving as llama.cpp's SPM tokenizer. */
export function spmTokenizer(vocab: SpmVocab): Tokenizer {
  const toId = new Map<string, number>();
  vocab.tokens.forEach((t, i) => {
    if (!toId.has(t)) toId.set(t, i);
  });
  const byteIds = new Array<number>(256);
  for (let b = 0; b < 256; b++) {
    byteIds[b] = toId.get(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`) ?? vocab.unkId;
  }
  const utf8 = new TextEncoder();

  function tokenize(text: string, out: number[]): void {
    const chars = Array.from(text);
    const n = chars.length;
    const start: number[] = []; // offsets in UTF-16 units
    const len: number[] = [];
    const prev: number[] = [];
    const next: number[] = [];
    let off = 0;
    for (let i = 0; i < n; i++) {
      start.push(off);
      len.push(chars[i]!.length);
      off += chars[i]!.length;
      prev.push(i - 1);
      next.push(i + 1 < n ? i + 1 : -1);
    }
    const queue = new BigramQueue();
    const tryAdd = (left: number, right: number): void => {
      if (left < 0 || right < 0) return;
      const s = text.slice(start[left], start[left]! + len[left]! + len[right]!);
      const id = toId.get(s);
      if (id === undefined) return;
      queue.push({ left, right, score: vocab.scores[id]!, size: s.length });
    };
    for (let i = 1; i < n; i++) tryAdd(i - 1, i);
    while (queue.size) {
      const b = queue.pop();
      const ln = len[b.left]!;
      const rn = len[b.right]!;
      if (ln === 0 || rn === 0 || ln + rn !== b.size) continue; // stale: one side already merged
      len[b.left] = ln + rn;
      len[b.right] = 0;
      next[b.left] = next[b.right]!;
      if (next[b.right]! >= 0) prev[next[b.right]!] = b.left;
      tryAdd(prev[b.left]!, b.left);
      tryAdd(b.left, next[b.left]!);
    }
    for (let i = n ? 0 : -1; i !== -1; i = next[i]!) {
      const s = text.slice(start[i], start[i]! + len[i]!);
      const id = toId.get(s);
      if (id !== undefined) out.push(id);
      else for (const byte of utf8.encode(s)) out.push(byteIds[byte]!);
    }
  }

  return {
    bosId: vocab.bosId,
    addsBos: vocab.addBos,
    eosId: vocab.eosId,
    eosText: vocab.tokens[vocab.eosId] ?? '',
    vocabSize: vocab.tokens.length,
    encode(text, opts = {}) {
      const out: number[] = [];
      if (opts.addBos ?? vocab.addBos) out.push(vocab.bosId);
      if (text.length)
        tokenize(((vocab.addSpacePrefix ? ' ' : '') + text).replaceAll(' ', '▁'), out);
      return out;
    },
    decode(ids) {
      const bytes: number[] = [];
      for (const id of ids) {
        const type = vocab.types[id];
        const tok = vocab.tokens[id];
        if (tok === undefined || type === TYPE_CONTROL || id === vocab.unkId) continue;
        if (type === TYPE_BYTE) bytes.push(parseInt(tok.slice(3, 5), 16));
        else for (const b of utf8.encode(tok.replaceAll('▁', ' '))) bytes.push(b);
      }
      const text = new TextDecoder().decode(new Uint8Array(bytes));
      return vocab.addSpacePrefix && text.startsWith(' ') ? text.slice(1) : text;
    },
  };
}
