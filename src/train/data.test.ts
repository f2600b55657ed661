import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { hfTokenizer } from '../io/tokenizer.ts';
import { assetPath } from '../test/assets-node.ts';
import {
  buildDataset,
  cutBlocks,
  DataError,
  detectFormat,
  parseAlpaca,
  type TextEncoder,
} from './data.ts';

/** Byte-level encoder: id = char code + 3 (0 pad, 1 BOS, 2 EOS). */
const bytes: TextEncoder = {
  bosId: 1,
  eosId: 2,
  encode: (t) => [...t].map((c) => c.charCodeAt(0) + 3),
};

describe('training data', () => {
  it('joins documents with EOS after one BOS and cuts blocks with next-token labels', () => {
    const ds = buildDataset('a.txt', 'ab\n\ncd\n\nef', bytes, { context: 4, heldOutFraction: 0 });
    // stream: BOS a b EOS c d EOS e f EOS = 10 tokens → 2 blocks of 4
    expect(ds.documents).toBe(3);
    expect(ds.tokens).toBe(10);
    expect(ds.train.length).toBe(2);
    const b0 = ds.train[0]!;
    expect([...b0.ids]).toEqual([1, 100, 101, 2]);
    expect([...b0.labels]).toEqual([100, 101, 2, -100]);
  });

  it('masks Alpaca prompt tokens from the loss', () => {
    const rec = { instruction: 'hi', output: 'yo' };
    const ds = buildDataset('d.json', JSON.stringify([rec, rec]), bytes, {
      context: 19,
      heldOutFraction: 0,
    });
    expect(ds.format).toBe('alpaca-json');
    // each record: BOS + "[INST]hi[/INST]" (15 tokens) + y o EOS = 19 tokens → two blocks of 19
    const b = ds.train[0]!;
    const code = (c: string) => c.charCodeAt(0) + 3;
    expect([...b.labels].filter((l) => l !== -100)).toEqual([code('y'), code('o'), 2]);
    expect(b.labels[14]).toBe(-100); // predicting the prompt's last token is not trained
    expect(b.labels[15]).toBe(code('y'));
  });

  it('reads JSONL and reports the line of invalid JSON and missing fields', () => {
    expect(
      parseAlpaca(
        '{"instruction":"a","output":"b"}\n\n{"instruction":"c","output":"d","input":"e"}',
        'alpaca-jsonl',
      ),
    ).toHaveLength(2);
    expect(() => parseAlpaca('{"instruction":"a","output":"b"}\n{oops', 'alpaca-jsonl')).toThrow(
      /line 2/,
    );
    expect(() => parseAlpaca('[{"instruction":"a"}]', 'alpaca-json')).toThrow(
      /Record 1 has no "output"/,
    );
    expect(() => parseAlpaca('[{"instruction": }]', 'alpaca-json')).toThrow(DataError);
    expect(detectFormat('x.jsonl', '')).toBe('alpaca-jsonl');
    expect(detectFormat('notes.txt', 'plain words')).toBe('text');
  });

  it('refuses an empty file and a file smaller than one block', () => {
    expect(() => buildDataset('e.txt', '  \n ', bytes, { context: 8 })).toThrow(/empty/);
    expect(() => buildDataset('s.txt', 'abc', bytes, { context: 64 })).toThrow(
      /fewer than one block of 64/,
    );
  });

  it('holds out blocks for evaluation', () => {
    const text = Array.from({ length: 40 }, (_, i) => `doc ${i}`).join('\n\n');
    const ds = buildDataset('t.txt', text, bytes, { context: 16, heldOutFraction: 0.1 });
    expect(ds.heldOut.length).toBeGreaterThanOrEqual(1);
    expect(ds.train.length + ds.heldOut.length).toBe(Math.floor(ds.tokens / 16));
  });

  it('cuts the TinyStories sample with the real stories260K tokenizer', () => {
    const tok = hfTokenizer(
      JSON.parse(readFileSync(assetPath('tokenizer.json'), 'utf8')),
      JSON.parse(readFileSync(assetPath('tokenizer_config.json'), 'utf8')),
    );
    const text = readFileSync(assetPath('tinystories-197k.txt'), 'utf8').slice(0, 20000);
    const ds = buildDataset('tinystories.txt', text, tok, { context: 256 });
    expect(ds.tokens).toBeGreaterThan(4000);
    expect(ds.train[0]!.ids[0]).toBe(tok.bosId);
    // One BOS for the whole file, documents separated by EOS only.
    const all = [...ds.train, ...ds.heldOut].flatMap((b) => [...b.ids]);
    expect(all.filter((i) => i === tok.bosId)).toHaveLength(1);
    expect(all.filter((i) => i === tok.eosId).length).toBeGreaterThan(10);
    expect(cutBlocks([1, 2, 3], null, 2)).toHaveLength(1);
  });
});
