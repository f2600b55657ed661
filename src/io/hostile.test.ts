/**
 * Regression tests for what the mutation fuzzer (src/worker/fuzz.test.ts) found in the readers: each
 * hostile file is refused with a FormatError (or DataError) naming the problem, never a
 * RangeError/TypeError, and a header claiming 10^15 items is refused before anything is allocated.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { assetPath, assetSource } from '../test/assets-node.ts';
import { buildDataset, DataError } from '../train/data.ts';
import { checkWeightsAgainstConfig, parseHfConfig } from './config.ts';
import { describeValue, FormatError } from './errors.ts';
import { readGguf } from './gguf.ts';
import { createTokenizer, openModel } from './model.ts';
import { readSafetensorsHeader, readShardedSafetensors } from './safetensors.ts';
import { bytesSource } from './source.ts';
import { hfTokenizer } from './tokenizer.ts';

const enc = new TextEncoder();
const deep = (n: number) => '['.repeat(n) + ']'.repeat(n);

/** A GGUF v3 prefix: magic, version, tensor count, metadata count, then `body`. */
function gguf(nTensors: bigint, nKv: bigint, body: number[]): Uint8Array {
  const out = new Uint8Array(24 + body.length);
  const v = new DataView(out.buffer);
  v.setUint32(0, 0x46554747, true);
  v.setUint32(4, 3, true);
  v.setBigUint64(8, nTensors, true);
  v.setBigUint64(16, nKv, true);
  out.set(body, 24);
  return out;
}
const u32 = (x: number) => [...new Uint8Array(new Uint32Array([x]).buffer)];
const u64 = (x: bigint) => [...new Uint8Array(new BigUint64Array([x]).buffer)];
const key = (k: string) => [...u64(BigInt(k.length)), ...enc.encode(k)];

async function formatError(p: Promise<unknown> | (() => unknown)): Promise<FormatError> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    expect(e).toBeInstanceOf(FormatError);
    return e as FormatError;
  }
  throw new Error('expected a FormatError');
}

describe('GGUF: hostile headers', () => {
  it('refuses arrays nested more than 4 deep instead of overflowing the stack', async () => {
    const levels = 100_000;
    const body = [...key('x'), ...u32(9)];
    for (let i = 0; i < levels; i++) body.push(...u32(9), ...u64(1n));
    body.push(...u32(4), ...u64(0n));
    const e = await formatError(readGguf(bytesSource('nested.gguf', gguf(0n, 1n, body))));
    expect(e.message).toMatch(/nested\.gguf: metadata "x" nests arrays more than 4 deep/);
  });

  it('refuses a count of 10^15 (or one the rest of the file cannot hold) before allocating', async () => {
    for (const n of [10n ** 15n, 100_000n]) {
      // An array of u32 claiming n items in a file of a few hundred bytes.
      const body = [
        ...key('x'),
        ...u32(9),
        ...u32(4),
        ...u64(n),
        ...new Array<number>(400).fill(0),
      ];
      const e = await formatError(readGguf(bytesSource('count.gguf', gguf(0n, 1n, body))));
      expect(e.message).toMatch(new RegExp(`implausible metadata "x" array length count ${n}`));
    }
    const e = await formatError(readGguf(bytesSource('t.gguf', gguf(10n ** 15n, 0n, []))));
    expect(e.message).toMatch(/implausible tensor count 1000000000000000/);
  });

  it('refuses an array of an unknown value type', async () => {
    const body = [...key('x'), ...u32(9), ...u32(77), ...u64(1n), 0, 0, 0, 0];
    const e = await formatError(readGguf(bytesSource('t.gguf', gguf(0n, 1n, body))));
    expect(e.message).toMatch(/metadata "x" is an array of unknown value type 77/);
  });

  it('refuses a tensor listed twice and tensors whose data overlap', async () => {
    const real = new Uint8Array(readFileSync(assetPath('stories260K.gguf')));
    const g = await readGguf(bytesSource('s.gguf', real));
    const find = (name: string) => {
      const b = enc.encode(name);
      for (let i = 0; i < real.length - b.length; i++)
        if (b.every((x, j) => real[i + j] === x)) return i;
      throw new Error(name);
    };
    // blk.0.attn_k.weight renamed to blk.0.attn_q.weight (same length).
    const dup = real.slice();
    dup.set(enc.encode('blk.0.attn_q.weight'), find('blk.0.attn_k.weight'));
    expect((await formatError(readGguf(bytesSource('s.gguf', dup)))).message).toMatch(
      /tensor "blk\.0\.attn_q\.weight" is listed twice/,
    );
    // blk.0.attn_k.weight's offset := blk.0.attn_q.weight's.
    const q = g.tensors.find((t) => t.name === 'blk.0.attn_q.weight')!;
    const kName = find('blk.0.attn_k.weight');
    const kOffsetAt = kName + 19 + 4 + 2 * 8 + 4; // name, nDims, two dims, type
    const over = real.slice();
    new DataView(over.buffer).setBigUint64(kOffsetAt, BigInt(q.offset - g.dataStart), true);
    expect((await formatError(readGguf(bytesSource('s.gguf', over)))).message).toMatch(
      /overlaps tensor/,
    );
  });
});

describe('safetensors and index: hostile JSON', () => {
  const st = (header: string) => {
    const h = enc.encode(header);
    const out = new Uint8Array(8 + h.length);
    new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
    out.set(h, 8);
    return bytesSource('m.safetensors', out);
  };

  it('refuses __metadata__ values that are not strings (a deep array used to overflow String())', async () => {
    const e = await formatError(
      readSafetensorsHeader(st(`{"__metadata__":{"x":${deep(50_000)}}}`)),
    );
    expect(e.message).toMatch(/__metadata__ "x" is an array of 1 item, not a string/);
  });

  it('names a deeply nested shape without overflowing JSON.stringify', async () => {
    const header = `{"a":{"dtype":"F32","shape":${deep(50_000)},"data_offsets":[0,0]}}`;
    const e = await formatError(readSafetensorsHeader(st(header)));
    expect(e.message).toMatch(/tensor "a" has an invalid shape an array of 1 item/);
  });

  it('refuses a weight_map entry that is not a .safetensors file name', async () => {
    for (const v of ['42', 'null', deep(20_000), '"../../etc/passwd"']) {
      const index = bytesSource(
        'model.safetensors.index.json',
        enc.encode(`{"weight_map":{"a":${v}}}`),
      );
      const e = await formatError(readShardedSafetensors(index, []));
      expect(e.message).toMatch(
        /weight_map says tensor "a" is in .*, not a \.safetensors file name/,
      );
    }
  });
});

describe('config.json and tokenizer.json: hostile values', () => {
  const config = JSON.parse(readFileSync(assetPath('config.json'), 'utf8')) as Record<
    string,
    unknown
  >;

  it('names a deeply nested hidden_act without overflowing String()', async () => {
    const text = JSON.stringify(config).replace(/\}$/, `,"hidden_act":${deep(50_000)}}`);
    const e = await formatError(() => parseHfConfig(text));
    expect(e.message).toMatch(/activation an array of 1 item is not supported/);
  });

  it('refuses num_hidden_layers of 2^53+1 at once, without listing 2^56 expected tensors', () => {
    const c = parseHfConfig({ ...config, num_hidden_layers: 2 ** 53 + 2 });
    const t0 = performance.now();
    expect(() => checkWeightsAgainstConfig(c, [{ name: 'a', shape: [1] }], 'm')).toThrow(
      /9007199254740994 layers need .* or more tensors, the weights hold 1/,
    );
    expect(performance.now() - t0).toBeLessThan(100);
  });

  it('turns the tokenizer library’s errors on a malformed tokenizer.json into FormatErrors', async () => {
    const good = JSON.parse(readFileSync(assetPath('tokenizer.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    const cases: [unknown, RegExp][] = [
      [1.5, /tokenizer\.json: .*is not a JSON object/],
      [{ ...good, model: 1.5 }, /tokenizer\.json: cannot build the tokenizer/],
      [{ ...good, decoder: { type: 'Nope' } }, /tokenizer\.json: cannot build the tokenizer/],
      [{ ...good, added_tokens: [1e308] }, /tokenizer\.json: cannot build the tokenizer/],
    ];
    for (const [json, re] of cases) {
      const e = await formatError(() => hfTokenizer(json, {}));
      expect(e.message).toMatch(re);
    }
    // Through the model loader as the studio calls it.
    const opened = await openModel([
      assetSource('config.json'),
      assetSource('model.safetensors'),
      bytesSource('tokenizer.json', enc.encode(JSON.stringify({ ...good, model: null }))),
    ]);
    await formatError(() => createTokenizer(opened.tokenizer, opened.config));
  });

  it('describes any value briefly', () => {
    expect(describeValue('gpt2')).toBe('"gpt2"');
    expect(describeValue([1, 2])).toBe('[1,2]');
    expect(describeValue(JSON.parse(deep(50_000)))).toBe('an array of 1 item');
    expect(describeValue({ a: 1 })).toBe('an object');
    expect(describeValue('x'.repeat(1000)).length).toBeLessThan(100);
  });
});

describe('training data: hostile token ids', () => {
  it('names a deeply nested element of a token-id file without overflowing JSON.stringify', () => {
    const tok = { encode: () => [5], bosId: 1, eosId: 2, vocabSize: 512 };
    const text = `[1, 2, ${deep(50_000)}]`;
    expect(() => buildDataset('ids.json', text, tok, { context: 2 })).toThrow(DataError);
    expect(() => buildDataset('ids.json', text, tok, { context: 2 })).toThrow(
      /Element 3 of the token ids is an array of 1 item, not a token id/,
    );
  });
});
