import { describe, expect, it } from 'vitest';
import { bytesToF32 } from './dtype.ts';
import { FormatError } from './errors.ts';
import { malformedFixtures } from '../test/fixtures-malformed.ts';
import { TINY_MODELS, tinyHfFolder } from '../test/fixtures.ts';
import {
  readSafetensorsHeader,
  readShardedSafetensors,
  readTensorBytes,
  writeSafetensors,
} from './safetensors.ts';
import { bytesSource } from './source.ts';
import { assetSource, sourcesOf } from '../test/assets-node.ts';

const bad = malformedFixtures();

async function errorOf(name: string): Promise<FormatError> {
  const err = await readSafetensorsHeader(bytesSource(name, bad[name]!)).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(FormatError);
  expect((err as FormatError).file).toBe(name);
  return err as FormatError;
}

describe('safetensors writer', () => {
  it('round-trips F32, F16 and BF16 with an 8-aligned, space-padded header and metadata', async () => {
    const vals = new Float32Array([1, -2.5, 0.15625, 3e-3, 65504, -0]);
    const bytes = writeSafetensors(
      [
        { name: 'x.f32', dtype: 'F32', shape: [2, 3], data: vals },
        { name: 'x.f16', dtype: 'F16', shape: [6], data: vals },
        { name: 'x.bf16', dtype: 'BF16', shape: [3, 2], data: vals },
      ],
      { format: 'pt' },
    );
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect(n % 8).toBe(0);
    const headerText = new TextDecoder().decode(bytes.subarray(8, 8 + n));
    expect(headerText.trimEnd().endsWith('}')).toBe(true);
    expect(/^ *$/.test(headerText.slice(headerText.lastIndexOf('}') + 1))).toBe(true);

    const src = bytesSource('w.safetensors', bytes);
    const h = await readSafetensorsHeader(src);
    expect(h.metadata).toEqual({ format: 'pt' });
    expect(h.tensors.map((t) => [t.name, t.dtype, t.shape])).toEqual([
      ['x.f32', 'F32', [2, 3]],
      ['x.f16', 'F16', [6]],
      ['x.bf16', 'BF16', [3, 2]],
    ]);
    const [f32, f16, bf16] = await Promise.all(h.tensors.map((t) => readTensorBytes(src, t)));
    expect(bytesToF32(f32!, 'F32')).toEqual(vals);
    expect(Array.from(bytesToF32(f16!, 'F16'))).toEqual([
      1, -2.5, 0.15625, 0.0030002593994140625, 65504, -0,
    ]);
    expect(Array.from(bytesToF32(bf16!, 'BF16'))).toEqual([
      1, -2.5, 0.15625, 0.0030059814453125, 65536, -0,
    ]);
  });

  it('refuses data whose size disagrees with the shape', () => {
    expect(() =>
      writeSafetensors([{ name: 'a', dtype: 'F16', shape: [3], data: new Uint8Array(4) }]),
    ).toThrow(/"a" has 4 bytes, shape × F16 needs 6/);
  });
});

describe('safetensors reader', () => {
  it('reads the stories260K checkpoint header', async () => {
    const src = assetSource('model.safetensors');
    const h = await readSafetensorsHeader(src);
    const byName = new Map(h.tensors.map((t) => [t.name, t]));
    expect(byName.get('model.embed_tokens.weight')?.shape).toEqual([512, 64]);
    expect(byName.get('model.layers.4.self_attn.k_proj.weight')?.shape).toEqual([32, 64]);
    expect(byName.get('model.layers.0.mlp.down_proj.weight')?.shape).toEqual([64, 172]);
    expect(h.tensors.every((t) => t.dtype === 'F32')).toBe(true);
    const norm = bytesToF32(await readTensorBytes(src, byName.get('model.norm.weight')!), 'F32');
    expect(norm.length).toBe(64);
    expect(norm.every((x) => Number.isFinite(x) && x !== 0)).toBe(true);
  });

  it.each([
    ['truncated.safetensors', /file is 5 bytes, shorter than the 8-byte header length/],
    [
      'header-past-end.safetensors',
      /header length 4096 runs past the end of the file \(154 bytes\)/,
    ],
    [
      'header-too-large.safetensors',
      /header length 200000000 bytes is over the 100000000-byte limit/,
    ],
    ['invalid-json.safetensors', /header is not valid JSON/],
    [
      'offsets-out-of-range.safetensors',
      /tensor "b" data_offsets \[24, 40\] are out of range \(data section is 32 bytes\)/,
    ],
    ['offsets-overlap.safetensors', /tensor "b" overlaps tensor "a"/],
    ['offsets-gap.safetensors', /do not cover the data: 8 unused bytes before tensor "b"/],
    ['size-mismatch.safetensors', /tensor "b" has 16 bytes but shape \[3, 2\] × F32 needs 24/],
    ['unknown-dtype.safetensors', /tensor "b" has unknown dtype "Q7"/],
  ])('%s → its specific FormatError', async (name, message) => {
    expect((await errorOf(name)).message).toMatch(message);
  });

  it('names unsupported safetensors dtypes', async () => {
    const file = writeSafetensors([
      { name: 'w', dtype: 'F32', shape: [1], data: new Float32Array(1) },
    ]);
    const text = new TextDecoder().decode(file).replace('"F32"', '"I64"');
    const err = await readSafetensorsHeader(
      bytesSource('i.safetensors', new TextEncoder().encode(text)),
    ).catch((e: unknown) => e);
    expect(String(err)).toMatch(
      /tensor "w" has dtype I64, which is not supported \(only F32, F16, BF16\)/,
    );
  });

  it('reports trailing bytes not covered by any tensor', async () => {
    const file = writeSafetensors([
      { name: 'w', dtype: 'F32', shape: [2], data: new Float32Array(2) },
    ]);
    const longer = new Uint8Array(file.length + 4);
    longer.set(file);
    await expect(readSafetensorsHeader(bytesSource('t.safetensors', longer))).rejects.toThrow(
      /4 bytes after the last tensor/,
    );
  });
});

describe('sharded safetensors', () => {
  it('reads every tensor through the index, from the right shard', async () => {
    const files = tinyHfFolder(TINY_MODELS['tiny-bf16-gqa-tied']!, 3);
    const single = tinyHfFolder(TINY_MODELS['tiny-bf16-gqa-tied']!, 1);
    const srcs = sourcesOf(files);
    const index = srcs.find((s) => s.name === 'model.safetensors.index.json')!;
    const tensors = await readShardedSafetensors(
      index,
      srcs.filter((s) => s.name.endsWith('.safetensors')),
    );
    const one = bytesSource('model.safetensors', single['model.safetensors']!);
    const ref = await readSafetensorsHeader(one);
    expect(new Set(tensors.map((t) => t.source.name)).size).toBe(3);
    expect(tensors.map((t) => t.name).sort()).toEqual(ref.tensors.map((t) => t.name).sort());
    for (const t of tensors) {
      const r = ref.tensors.find((x) => x.name === t.name)!;
      expect(await readTensorBytes(t.source, t)).toEqual(await readTensorBytes(one, r));
    }
  });

  it('names the missing shard files', async () => {
    const srcs = sourcesOf(bad, 'sharded-missing/');
    const index = srcs.find((s) => s.name === 'model.safetensors.index.json')!;
    const err = await readShardedSafetensors(index, srcs).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FormatError);
    expect(String(err)).toMatch(/missing shard file: model-00002-of-00003\.safetensors/);
  });
});
