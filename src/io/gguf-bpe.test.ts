import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { assetPath, firstDifference } from '../test/assets-node.ts';
import { trainedTokenizerFiles, type ByteLevelStyle } from '../test/bpe-train.ts';
import type { ModelConfig } from './config.ts';
import { UnsupportedModelError } from './errors.ts';
import { readGguf } from './gguf.ts';
import { bpeTokenizer, bpeVocabFromGguf } from './gguf-bpe.ts';
import { tokenizerKvsFromHf } from './gguf-export.ts';
import { writeGguf } from './gguf-writer.ts';
import { bytesSource } from './source.ts';
import { hfTokenizer, type Tokenizer } from './tokenizer.ts';

const STORIES = readFileSync(assetPath('tinystories-197k.txt'), 'utf8');
const STYLES: ByteLevelStyle[] = ['qwen2', 'llama3', 'smollm2'];

/** Text that byte-level BPE must give back exactly: ASCII, unicode, emoji, whitespace runs, odd bytes. */
const ROUND_TRIP = [
  'Once upon a time, there was a little girl named Lily.',
  '  leading and trailing spaces  ',
  'tabs\t\tand\n\nnewlines\r\n  mixed   \n\t \n',
  '     ',
  '\n',
  'Ünïcödé: café, naïve, Straße, Ελληνικά, русский, 日本語のテキスト, 한국어, עברית, العربية',
  'emoji 🙂🚀 and a family 👩‍👩‍👧 and flags 🇯🇵 and skin tones 👍🏽',
  'digits 1234567890 and 3.14159, 2024-11-30, $1,000,000',
  'Lily\'s "toy" — isn\'t it? (yes!) [ok] {x: 1} <tag> a|b ~`^',
  // Looks like markup of tokenizers, but is plain text here.
  'Ġhello Ċ âĢĻ <0xFF> <unk> </s> <|im_start <|endoftext| \\u0000',
  'control \u0001\u0007\u001b[0m\u007f and the replacement char \uFFFD',
  '\u200b zero width, \u00a0 no-break space, \u2028 line separator',
  '𝔘𝔫𝔦𝔠𝔬𝔡𝔢 outside the BMP: 𐍈 𠜎',
  '',
];

/** A few hundred merges from the first 100 KB of the demo text, trained once per style. */
const files = new Map<ByteLevelStyle, ReturnType<typeof trainedTokenizerFiles>>();
beforeAll(() => {
  const text = STORIES.slice(0, 100_000);
  for (const style of STYLES) files.set(style, trainedTokenizerFiles(style, text, 300));
}, 120_000);

const tokenizerOf = (style: ByteLevelStyle): Tokenizer => {
  const f = files.get(style)!;
  return hfTokenizer(f.tokenizer, f.tokenizerConfig);
};

/** The GGUF metadata our export writes for this tokenizer.json, read back as a GGUF tokenizer. */
async function ggufTokenizer(style: ByteLevelStyle): Promise<Tokenizer> {
  const f = files.get(style)!;
  const hf = tokenizerOf(style);
  const config = {
    vocabSize: hf.vocabSize,
    bosId: hf.bosId ?? 0,
    eosId: hf.eosId,
  } as ModelConfig;
  const kvs = tokenizerKvsFromHf(f.tokenizer, f.tokenizerConfig, config);
  const g = await readGguf(bytesSource('bpe.gguf', writeGguf(kvs, [])));
  return bpeTokenizer(bpeVocabFromGguf('bpe.gguf', g));
}

describe('byte-level BPE trained on the demo text (src/test/bpe-train.ts)', () => {
  it.each(STYLES)(
    '%s: round-trips text exactly, merges apply, specials are single ids',
    (style) => {
      const tok = tokenizerOf(style);
      const model = files.get(style)!.tokenizer.model as { merges: unknown[] };
      expect(model.merges).toHaveLength(300);
      for (const s of ROUND_TRIP) {
        const ids = tok.encode(s, { addBos: false });
        expect(tok.decode(ids), JSON.stringify(s)).toBe(s);
      }
      const story = STORIES.slice(150_000, 170_000);
      const ids = tok.encode(story, { addBos: false });
      expect(tok.decode(ids)).toBe(story);
      // The learned merges compress: well under the byte count of the text.
      const bytes = new TextEncoder().encode(story).length;
      expect(ids.length).toBeLessThan(bytes * 0.45);
      // A special token written in the text is one id; decoding drops it.
      const im = files.get(style)!.tokenizer.added_tokens as { id: number; content: string }[];
      const special = im[im.length - 1]!;
      expect(tok.encode(`a${special.content}b`, { addBos: false })).toContain(special.id);
      expect(tok.decode(tok.encode(`a${special.content}b`, { addBos: false }))).toBe('ab');
    },
  );

  it('Qwen2 normalizes to NFC as its tokenizer.json says (a decomposed é comes back composed)', () => {
    const tok = tokenizerOf('qwen2');
    expect(tok.decode(tok.encode('cafe\u0301', { addBos: false }))).toBe('caf\u00e9');
    const llama3 = tokenizerOf('llama3');
    expect(llama3.decode(llama3.encode('cafe\u0301', { addBos: false }))).toBe('cafe\u0301');
  });

  it.each(STYLES)(
    '%s: the same vocabulary written into GGUF metadata (gpt2) gives the same ids and BOS rule',
    async (style) => {
      const hf = tokenizerOf(style);
      const gguf = await ggufTokenizer(style);
      expect([gguf.vocabSize, gguf.eosId, gguf.addsBos]).toEqual([
        hf.vocabSize,
        hf.eosId,
        hf.addsBos,
      ]);
      const text = STORIES.slice(100_000, 130_000);
      const a = hf.encode(text);
      const b = gguf.encode(text);
      expect(a.length).toBeGreaterThan(5000);
      expect(firstDifference(a, b)).toBe(-1);
      for (const s of ROUND_TRIP) {
        // Qwen's NFC normalizer is in both; the texts here are NFC already.
        expect(gguf.encode(s), JSON.stringify(s)).toEqual(hf.encode(s));
        expect(gguf.decode(gguf.encode(s, { addBos: false }))).toBe(s);
      }
      for (const sp of files.get(style)!.tokenizer.added_tokens as { content: string }[])
        expect(gguf.encode(`x${sp.content}y`)).toEqual(hf.encode(`x${sp.content}y`));
    },
    60_000,
  );

  it('writes and reads the pre-tokenizer names llama.cpp uses', async () => {
    const pre = async (style: ByteLevelStyle) => {
      const f = files.get(style)!;
      const kvs = tokenizerKvsFromHf(f.tokenizer, f.tokenizerConfig, {
        vocabSize: 1,
        bosId: 0,
        eosId: 0,
      } as ModelConfig);
      return kvs.find((k) => k.key === 'tokenizer.ggml.pre')?.value;
    };
    expect([await pre('qwen2'), await pre('llama3'), await pre('smollm2')]).toEqual([
      'qwen2',
      'llama-bpe',
      'smollm',
    ]);
    const g = await readGguf(
      bytesSource(
        'x.gguf',
        writeGguf(
          [
            { key: 'tokenizer.ggml.model', type: 'string', value: 'gpt2' },
            { key: 'tokenizer.ggml.pre', type: 'string', value: 'deepseek-coder' },
            { key: 'tokenizer.ggml.tokens', type: 'array', itemType: 'string', value: ['a'] },
            { key: 'tokenizer.ggml.merges', type: 'array', itemType: 'string', value: [] },
            { key: 'tokenizer.ggml.eos_token_id', type: 'u32', value: 0 },
          ],
          [],
        ),
      ),
    );
    expect(() => bpeVocabFromGguf('x.gguf', g)).toThrow(UnsupportedModelError);
    expect(() => bpeVocabFromGguf('x.gguf', g)).toThrow(/pre-tokenizer "deepseek-coder"/);
  });
});
