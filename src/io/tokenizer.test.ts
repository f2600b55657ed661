import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FormatError } from './errors.ts';
import { tinyTokenizerJson, tinyVocab } from '../test/fixtures.ts';
import { readGguf } from './gguf.ts';
import { writeGguf } from './gguf-writer.ts';
import { bytesSource } from './source.ts';
import { spmTokenizer, spmVocabFromGguf, type SpmVocab } from './spm.ts';
import { assetPath, assetSource, firstDifference } from '../test/assets-node.ts';
import { hfTokenizer } from './tokenizer.ts';
import { trainedTokenizerFiles } from '../test/bpe-train.ts';
import { realTokenizerFiles } from '../test/real-shapes.ts';

const json = (rel: string): unknown => JSON.parse(readFileSync(assetPath(rel), 'utf8'));
const text = readFileSync(assetPath('tinystories-197k.txt'), 'utf8').slice(0, 20_000);

async function storiesTokenizers() {
  const hf = hfTokenizer(json('tokenizer.json'), json('tokenizer_config.json'));
  const src = assetSource('stories260K.gguf');
  const spm = spmTokenizer(spmVocabFromGguf(src.name, await readGguf(src)));
  return { hf, spm };
}

describe('tokenizers of stories260K', () => {
  it('tokenizer.json and the GGUF vocabulary encode the first 20 KB of TinyStories identically and decode it back', async () => {
    const { hf, spm } = await storiesTokenizers();
    const a = hf.encode(text);
    const b = spm.encode(text);
    expect(a.length).toBe(9497);
    expect(a[0]).toBe(1);
    expect(firstDifference(a, b)).toBe(-1);
    expect(hf.decode(a)).toBe(text);
    expect(spm.decode(b)).toBe(text);
  });

  it('agree on ids, BOS handling, byte fallback and unicode', async () => {
    const { hf, spm } = await storiesTokenizers();
    for (const t of [hf, spm]) {
      expect([t.bosId, t.eosId, t.vocabSize]).toEqual([1, 2, 512]);
      expect(t.encode('Once upon a time').slice(0, 1)).toEqual([1]);
      expect(t.encode('Once upon a time', { addBos: false })[0]).not.toBe(1);
      expect(t.encode('', { addBos: false })).toEqual([]);
    }
    for (const s of [
      'Hello world\n\nfoo é 日本 🙂',
      ' leading space',
      'tab\there',
      'Lily\'s "toy".',
    ]) {
      const ids = spm.encode(s);
      expect(ids, s).toEqual(hf.encode(s));
      expect(spm.decode(ids)).toBe(s);
      expect(hf.decode(ids)).toBe(s);
    }
    // 日 is not in the 512-token vocabulary: it falls back to its three UTF-8 bytes (<0xNN> = id NN + 3).
    expect(spm.encode('日', { addBos: false }).slice(-3)).toEqual([0xe6 + 3, 0x97 + 3, 0xa5 + 3]);
  });
});

describe('tiny sentencepiece vocabulary (fixture)', () => {
  const vocab = (): SpmVocab => ({
    ...tinyVocab(),
    bosId: 1,
    eosId: 2,
    unkId: 0,
    addBos: true,
    addSpacePrefix: true,
  });

  it('merges by score like llama.cpp and matches the equivalent tokenizer.json', () => {
    const spm = spmTokenizer(vocab());
    const hf = hfTokenizer(tinyTokenizerJson(), {
      add_bos_token: true,
      bos_token: '<s>',
      eos_token: '</s>',
    });
    const { tokens } = tinyVocab();
    const ids = spm.encode('the hat and the sea', { addBos: false });
    expect(ids.map((i) => tokens[i])).toEqual([
      '▁the',
      '▁h',
      'a',
      't',
      '▁and',
      '▁the',
      '▁s',
      'e',
      'a',
    ]);
    for (const s of [
      'the hat and the sea',
      "This is it, isn't it?",
      'rain and wind\nin the dark ∑',
    ]) {
      expect(spm.encode(s), s).toEqual(hf.encode(s));
      expect(hf.decode(hf.encode(s))).toBe(s);
    }
  });

  it('refuses a GGUF tokenizer that is not sentencepiece', async () => {
    const file = writeGguf(
      [
        { key: 'tokenizer.ggml.model', type: 'string', value: 'gpt2' },
        { key: 'tokenizer.ggml.tokens', type: 'array', itemType: 'string', value: ['a'] },
      ],
      [],
    );
    const g = await readGguf(bytesSource('g.gguf', file));
    expect(() => spmVocabFromGguf('g.gguf', g)).toThrow(FormatError);
    expect(() => spmVocabFromGguf('g.gguf', g)).toThrow(/tokenizer model "gpt2" is not supported/);
  });
});

describe('BOS as Hugging Face adds it', () => {
  const smol = realTokenizerFiles('smollm2-135m');
  const llama3 = realTokenizerFiles('llama-3.2-1b');
  const qwen = trainedTokenizerFiles('qwen2', text, 100);

  it('SmolLM2: no add_bos_token and a post_processor that adds none: no BOS (the old default added one)', () => {
    expect(smol.tokenizerConfig.add_bos_token).toBeUndefined();
    const t = hfTokenizer(smol.tokenizer, smol.tokenizerConfig);
    expect([t.bosId, t.addsBos]).toEqual([0, false]);
    expect(t.encode('Hello the world')[0]).not.toBe(0);
    expect(t.encode('Hello the world', { addBos: true })[0]).toBe(0);
  });

  it("Llama 3: the post_processor's template adds <|begin_of_text|>; add_bos_token false removes it", () => {
    const t = hfTokenizer(llama3.tokenizer, llama3.tokenizerConfig);
    expect([t.bosId, t.addsBos]).toEqual([128000, true]);
    expect(t.encode('Hello')[0]).toBe(128000);
    const off = hfTokenizer(llama3.tokenizer, { ...llama3.tokenizerConfig, add_bos_token: false });
    expect(off.addsBos).toBe(false);
    expect(off.encode('Hello')[0]).not.toBe(128000);
  });

  it('Qwen: bos_token null means no BOS, never an invented id, with add_bos_token absent or false', () => {
    for (const cfg of [qwen.tokenizerConfig, { ...qwen.tokenizerConfig, add_bos_token: false }]) {
      const t = hfTokenizer(qwen.tokenizer, cfg);
      expect([t.bosId, t.addsBos]).toEqual([undefined, false]);
      const plain = t.encode('Hello world', { addBos: false });
      expect(t.encode('Hello world')).toEqual(plain);
      expect(t.encode('Hello world', { addBos: true })).toEqual(plain);
      expect(t.eosText).toBe('<|im_end|>');
      expect(t.chat).toBeUndefined();
    }
  });

  it('a Llama tokenizer class without add_bos_token adds BOS (transformers defaults it to true)', () => {
    const t = hfTokenizer(json('tokenizer.json'), {
      tokenizer_class: 'LlamaTokenizer',
      bos_token: '<s>',
      eos_token: '</s>',
    });
    expect([t.bosId, t.addsBos]).toEqual([1, true]);
  });
});
