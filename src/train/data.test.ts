import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { hfTokenizer } from '../io/tokenizer.ts';
import { assetPath } from '../test/assets-node.ts';
import { QWEN25_STYLE_CHAT_TEMPLATE, trainedTokenizerFiles } from '../test/bpe-train.ts';
import {
  buildDataset,
  cutBlocks,
  DataError,
  detectFormat,
  detectSeparator,
  parseAlpaca,
  splitDocuments,
  type TextEncoder,
} from './data.ts';

/** Byte-level encoder: id = char code + 3 (0 pad, 1 BOS, 2 EOS). */
const bytes: TextEncoder = {
  bosId: 1,
  eosId: 2,
  eosText: '</s>',
  vocabSize: 259,
  encode: (t) => [...t].map((c) => c.charCodeAt(0) + 3),
};
const code = (c: string) => c.charCodeAt(0) + 3;

describe('training data', () => {
  it('keeps a .txt without separators as one document: blank lines and newlines stay in the text', () => {
    const ds = buildDataset('a.txt', 'ab\n\ncd\nef\n', bytes, { context: 4, heldOutFraction: 0 });
    expect(ds.format).toBe('text');
    expect([ds.detectedSeparator, ds.separator]).toEqual(['none', 'none']);
    expect(ds.documents).toBe(1);
    expect(ds.boundary).toBeNull();
    // BOS a b \n \n c d \n e f EOS = 11 tokens → 2 blocks of 4; one EOS, at the end
    expect(ds.tokens).toBe(11);
    expect([...ds.train[0]!.ids, ...ds.train[1]!.ids]).toEqual(
      [1, ...'ab\n\ncd\n'].map((c) => (typeof c === 'number' ? c : code(c))),
    );
  });

  it('cuts a .txt at lines holding only <|endoftext|> or the EOS text, detected', () => {
    const text = 'one\n\nstill one\n<|endoftext|>\ntwo\n  </s>  \nthree\n';
    expect(detectSeparator(text, '</s>')).toBe('eos');
    expect(detectSeparator('a <|endoftext|> b', '</s>')).toBe('none'); // not a line of its own
    expect(detectSeparator('a\n</s>\nb')).toBe('none'); // EOS text unknown: only <|endoftext|>
    expect(splitDocuments('a\r\n<|endoftext|>\r\nb\r\n', 'eos')).toEqual(['a', 'b']); // CRLF
    const ds = buildDataset('e.txt', text, bytes, { context: 4, heldOutFraction: 0 });
    expect([ds.detectedSeparator, ds.separator, ds.documents]).toEqual(['eos', 'eos', 3]);
    expect(ds.boundary).toEqual({ before: 'one\n\nstill one', after: 'two' });
    // BOS one…one EOS two EOS three EOS = 26 tokens → 6 blocks of 4; separator lines become EOS
    const stream = ds.train.flatMap((b) => [...b.ids]);
    const doc = (t: string) => [...t].map(code);
    expect(stream).toEqual(
      [1, ...doc('one\n\nstill one'), 2, ...doc('two'), 2, ...doc('three'), 2].slice(0, 24),
    );
    expect(stream).not.toContain(code('<'));
  });

  it('cuts at the separator the user picks: none, blank line, line', () => {
    const text = 'ab\ncd\n\nef\n';
    expect(splitDocuments(text, 'none')).toEqual(['ab\ncd\n\nef']);
    expect(splitDocuments(text, 'blank-line')).toEqual(['ab\ncd', 'ef']);
    expect(splitDocuments(text, 'line')).toEqual(['ab', 'cd', 'ef']);
    expect(splitDocuments('a\r\n\r\nb', 'blank-line')).toEqual(['a', 'b']);
    const ds = buildDataset('a.txt', 'ab\n\ncd\n\nef', bytes, {
      context: 4,
      heldOutFraction: 0,
      separator: 'blank-line',
    });
    expect([ds.detectedSeparator, ds.separator]).toEqual(['none', 'blank-line']);
    expect(ds.boundary).toEqual({ before: 'ab', after: 'cd' });
    // stream: BOS a b EOS c d EOS e f EOS = 10 tokens → 2 blocks of 4
    expect(ds.documents).toBe(3);
    expect(ds.tokens).toBe(10);
    expect(ds.train.length).toBe(2);
    const b0 = ds.train[0]!;
    expect([...b0.ids]).toEqual([1, 100, 101, 2]);
    expect([...b0.labels]).toEqual([100, 101, 2, -100]);
  });

  it('takes JSON/JSONL records with a text field as documents (RedPajama, PG19)', () => {
    const jsonl = '{"text":"ab\\n\\ncd","meta":{"id":1}}\n\n{"text":"ef"}\n';
    expect(detectFormat('r.jsonl', jsonl)).toBe('text-jsonl');
    const ds = buildDataset('r.jsonl', jsonl, bytes, { context: 3, heldOutFraction: 0 });
    expect([ds.format, ds.documents, ds.separator]).toEqual(['text-jsonl', 2, null]);
    // BOS a b \n \n c d EOS e f EOS = 11 tokens
    expect(ds.tokens).toBe(11);
    expect([...ds.train[2]!.ids]).toEqual([code('d'), 2, code('e')]);
    const json = JSON.stringify([{ text: 'xy' }, { text: 'z' }]);
    expect(detectFormat('r.json', json)).toBe('text-json');
    expect(buildDataset('r.json', json, bytes, { context: 2 }).documents).toBe(2);
    expect(() =>
      buildDataset('r.jsonl', '{"text":"a"}\n{"body":"b"}', bytes, { context: 2 }),
    ).toThrow(/Record 2 has no "text"/);
  });

  it('takes a JSON array of token ids as the token stream as it is, and refuses bad ids', () => {
    const ds = buildDataset('ids.json', '[5, 6, 7, 8, 9, 10, 11]', bytes, {
      context: 3,
      heldOutBlocks: 0,
    });
    expect([ds.format, ds.tokens, ds.train.length, ds.heldOut.length]).toEqual([
      'token-ids',
      7,
      2,
      0,
    ]);
    expect([...ds.train[0]!.ids]).toEqual([5, 6, 7]); // no BOS, no EOS added
    expect([...ds.train[0]!.labels]).toEqual([6, 7, -100]);
    expect(() => buildDataset('ids.json', '[5, 259]', bytes, { context: 1 })).toThrow(
      /Token id 259 \(element 2\) is outside the vocabulary of 259 ids/,
    );
    expect(() =>
      buildDataset('ids.json', '[5, 9, 300]', bytes, { context: 1, vocabSize: 512 }),
    ).not.toThrow();
    expect(() => buildDataset('ids.json', '[5, 1.5]', bytes, { context: 1 })).toThrow(
      /Element 2 of the token ids is 1.5, not a token id/,
    );
    expect(() => buildDataset('ids.json', '[]', bytes, { context: 1 })).toThrow(
      /empty array of token ids/,
    );
    expect(() => buildDataset('ids.json', '{"ids": [1]}', bytes, { context: 1 })).toThrow(
      /Expected a JSON array/,
    );
  });

  it('holds out exactly K blocks when asked, 0 allowed, and keeps one to train on', () => {
    const ids = JSON.stringify(Array.from({ length: 40 }, (_, i) => 3 + i));
    const at = (k: number) =>
      buildDataset('ids.json', ids, bytes, { context: 10, heldOutBlocks: k });
    expect([at(0).train.length, at(0).heldOut.length]).toEqual([4, 0]);
    expect([at(3).train.length, at(3).heldOut.length]).toEqual([1, 3]);
    expect([...at(3).heldOut[0]!.ids]).toEqual(Array.from({ length: 10 }, (_, i) => 13 + i));
    expect(() => at(4)).toThrow(/Cannot hold out 4 of 4 blocks of 10/);
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
    expect(ds.documents).toBe(1);
    expect(ds.heldOut.length).toBeGreaterThanOrEqual(1);
    expect(ds.train.length + ds.heldOut.length).toBe(Math.floor(ds.tokens / 16));
  });

  it('cuts the TinyStories sample with the real stories260K tokenizer', () => {
    const tok = hfTokenizer(
      JSON.parse(readFileSync(assetPath('tokenizer.json'), 'utf8')),
      JSON.parse(readFileSync(assetPath('tokenizer_config.json'), 'utf8')),
    );
    expect(tok.eosText).toBe('</s>');
    const text = readFileSync(assetPath('tinystories-197k.txt'), 'utf8').slice(0, 20000);
    // No separator lines: one document, the same tokens as encoding the whole text (+ EOS at the end).
    const ds = buildDataset('tinystories.txt', text, tok, { context: 256, heldOutFraction: 0 });
    expect([ds.separator, ds.documents]).toEqual(['none', 1]);
    const all = ds.train.flatMap((b) => [...b.ids]);
    const whole = [tok.bosId, ...tok.encode(text.trim(), { addBos: false }), tok.eosId];
    expect(all).toEqual(whole.slice(0, all.length));
    expect(ds.tokens).toBe(whole.length);
    expect(all.filter((i) => i === tok.eosId)).toHaveLength(0);
    // Stories separated by blank lines, when the user asks: one BOS, EOS between documents only.
    const byBlank = buildDataset('tinystories.txt', text, tok, {
      context: 256,
      separator: 'blank-line',
    });
    const cut = [...byBlank.train, ...byBlank.heldOut].flatMap((b) => [...b.ids]);
    expect(cut.filter((i) => i === tok.bosId)).toHaveLength(1);
    expect(cut.filter((i) => i === tok.eosId).length).toBeGreaterThan(10);
    expect(cutBlocks([1, 2, 3], null, 2)).toHaveLength(1);
  });
});

describe('instruction records in the model chat format, and tokenizers without BOS', () => {
  const stories = readFileSync(assetPath('tinystories-197k.txt'), 'utf8').slice(0, 60_000);
  const qwen = trainedTokenizerFiles('qwen2', stories, 200);
  const qwenTok = hfTokenizer(qwen.tokenizer, {
    ...qwen.tokenizerConfig,
    chat_template: QWEN25_STYLE_CHAT_TEMPLATE,
  });
  const rec = {
    instruction: 'Summarize the story below in one sentence.',
    input: 'Lily found a red ball in the park. She shared it with her friend Tom.',
    output: 'Lily found a ball and shared it with Tom.',
  };

  it('a LongAlpaca record through a Qwen2.5-style ChatML template masks exactly the prompt tokens', () => {
    expect(qwenTok.bosId).toBeUndefined();
    const ds = buildDataset('longalpaca.json', JSON.stringify([rec, rec, rec]), qwenTok, {
      context: 16,
      heldOutFraction: 0,
    });
    expect(ds.promptFormat).toBe('chat-template');
    const prompt =
      '<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n' +
      `<|im_start|>user\n${rec.instruction}\n\n${rec.input}<|im_end|>\n<|im_start|>assistant\n`;
    const answer = `${rec.output}<|im_end|>\n`;
    expect(ds.example).toMatchObject({ format: 'chat-template', prompt, answer });
    // The masked part is exactly the tokens of the prompt rendered with add_generation_prompt.
    const promptIds = qwenTok.encode(
      qwenTok.chat!.render([{ role: 'user', content: `${rec.instruction}\n\n${rec.input}` }], true),
    );
    const answerIds = qwenTok.encode(answer);
    expect(ds.example!.promptTokens).toBe(promptIds.length);
    expect(ds.example!.answerTokens).toBe(answerIds.length);
    const imStart = qwenTok.encode('<|im_start|>');
    expect(imStart).toHaveLength(1);
    expect(promptIds.filter((i) => i === imStart[0])).toHaveLength(3);
    // The stream: record after record, no BOS anywhere (the model has none), no EOS added.
    const one = [...promptIds, ...answerIds];
    const all = [...ds.train.flatMap((b) => [...b.ids])];
    expect(ds.tokens).toBe(3 * one.length);
    expect(all).toEqual([...one, ...one, ...one].slice(0, all.length));
    // Labels: position t is trained exactly when token t+1 is an answer token.
    const stream = [...one, ...one, ...one];
    const trained = stream.map((_, i) => i % one.length >= promptIds.length);
    ds.train.forEach((b, k) =>
      b.labels.forEach((l, t) => {
        const next = k * 16 + t + 1;
        if (t === 15) expect(l).toBe(-100);
        else expect(l, `block ${k} position ${t}`).toBe(trained[next] ? stream[next] : -100);
      }),
    );
  });

  it('keeps the Llama-2 [INST] format without a template (or with --chat-template none)', () => {
    const ds = buildDataset('d.json', JSON.stringify([rec]), qwenTok, {
      context: 8,
      heldOutFraction: 0,
      chatTemplate: false,
    });
    expect(ds.promptFormat).toBe('inst');
    expect(ds.example).toMatchObject({
      prompt: `[INST]${rec.instruction}\n\n${rec.input}[/INST]`,
      answer: `${rec.output}<|im_end|>`,
    });
    // No BOS for a model without one: the prompt is its text's tokens only.
    expect(ds.example!.promptTokens).toBe(qwenTok.encode(ds.example!.prompt).length);
    expect(buildDataset('d.json', JSON.stringify([rec]), bytes, { context: 8 }).promptFormat).toBe(
      'inst',
    );
  });

  it('refuses a template whose conversation does not start with its prompt', () => {
    const tok = hfTokenizer(qwen.tokenizer, {
      ...qwen.tokenizerConfig,
      chat_template:
        '{% for m in messages %}{{ m.role }}: {{ m.content }}\n{% endfor %}{% if add_generation_prompt %}assistant (thinking): {% endif %}',
    });
    expect(() =>
      buildDataset('d.json', JSON.stringify([rec]), tok, { context: 8, heldOutFraction: 0 }),
    ).toThrow(/does not render the prompt as the start of the conversation/);
  });

  it('text without a BOS: the stream starts with the first token of the text, EOS after each document', () => {
    const text = 'Once upon a time.\n<|endoftext|>\nThe end.';
    const ds = buildDataset('t.txt', text, qwenTok, { context: 4, heldOutFraction: 0 });
    const want = [
      ...qwenTok.encode('Once upon a time.'),
      qwenTok.eosId,
      ...qwenTok.encode('The end.'),
      qwenTok.eosId,
    ];
    expect(ds.tokens).toBe(want.length);
    expect(ds.train.flatMap((b) => [...b.ids])).toEqual(want.slice(0, ds.train.length * 4));
  });
});
