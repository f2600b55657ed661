import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeFixtures } from '../../scripts/make-fixtures.ts';
import { FormatError } from './errors.ts';
import { malformedFixtures } from '../test/fixtures-malformed.ts';
import { TINY_GGUFS, TINY_MODELS, tinyGguf, tinyHfFolder } from '../test/fixtures.ts';
import { createTokenizer, openModel, type OpenedModel } from './model.ts';
import { openModelPath } from './open-node.ts';
import { bytesSource } from './source.ts';
import { assetPath, assetSource, firstDifference, sourcesOf } from '../test/assets-node.ts';

async function sameTensors(a: OpenedModel, b: OpenedModel): Promise<void> {
  const bm = new Map(b.tensors.map((t) => [t.name, t]));
  for (const t of a.tensors) {
    const u = bm.get(t.name);
    expect(u, t.name).toBeDefined();
    expect([t.shape, t.dtype], t.name).toEqual([u!.shape, u!.dtype]);
    expect(firstDifference(await t.read(), await u!.read()), t.name).toBe(-1);
  }
}

describe('openModel', () => {
  it.each(Object.entries(TINY_MODELS))('opens the HF folder %s', async (_, spec) => {
    const m = await openModel(sourcesOf(tinyHfFolder(spec)));
    expect(m.format).toBe('safetensors');
    expect(m.dtypes).toEqual([spec.dtype]);
    expect(m.config.kvHeads).toBe(spec.gqa ? 2 : 4);
    expect(m.config.tieWordEmbeddings).toBe(spec.tied);
    expect(m.tensors.some((t) => t.name === 'lm_head.weight')).toBe(!spec.tied);
    // Qwen3's tiny model has head_dim 8 (q_proj out 32); Qwen2 adds q/k/v biases, Qwen3 q/k norms.
    const hd = spec.arch === 'qwen3' ? 8 : 4;
    const [q, kv] = [4 * hd, (spec.gqa ? 2 : 4) * hd];
    const extra = spec.arch === 'qwen2' ? q + 2 * kv : spec.arch === 'qwen3' ? 2 * hd : 0;
    const perLayer = q * 16 * 2 + 2 * kv * 16 + 3 * 16 * 24 + 2 * 16 + extra;
    expect(m.parameterCount).toBe(290 * 16 * (spec.tied ? 1 : 2) + 2 * perLayer + 16);
    expect(m.tokenizer?.kind).toBe('hf');
    expect(m.missing).toEqual([]);
    expect(m.unexpected).toEqual([]);
    const t = m.tensors.find((x) => x.name === 'model.layers.1.mlp.down_proj.weight')!;
    expect(t.shape).toEqual([16, 24]);
    expect((await t.read()).length).toBe(16 * 24 * (spec.dtype === 'F32' ? 4 : 2));
  });

  it.each(Object.entries(TINY_GGUFS))(
    '%s gives the same config and tensors (q/k unpermuted) as its HF folder',
    async (name, variant) => {
      const spec = TINY_MODELS[variant]!;
      const g = await openModel([bytesSource(name, tinyGguf(spec))]);
      const h = await openModel(sourcesOf(tinyHfFolder(spec)));
      expect(g.format).toBe('gguf');
      expect(g.config).toEqual({ ...h.config, torchDtype: g.config.torchDtype });
      expect(g.tokenizer?.kind).toBe('gguf');
      expect(g.tensors.length).toBe(h.tensors.length);
      expect(g.parameterCount).toBe(h.parameterCount);
      await sameTensors(g, h);
    },
  );

  it('opens a sharded checkpoint identically to the single file', async () => {
    const spec = TINY_MODELS['tiny-bf16-gqa-tied']!;
    const sharded = await openModel(sourcesOf(tinyHfFolder(spec, 3)));
    const single = await openModel(sourcesOf(tinyHfFolder(spec)));
    expect(new Set(sharded.tensors.map((t) => t.file)).size).toBe(3);
    expect(sharded.unexpected).toEqual([]);
    await sameTensors(sharded, single);
  });

  it('opens stories260K from the HF files and from the GGUF with equal weights', async () => {
    const names = [
      'config.json',
      'model.safetensors',
      'tokenizer.json',
      'tokenizer_config.json',
      'tok512.model',
    ];
    const hf = await openModel(names.map((n) => assetSource(n)));
    const gg = await openModel([assetSource('stories260K.gguf')]);
    expect(hf.parameterCount).toBe(
      512 * 64 + 5 * (64 * 64 * 2 + 32 * 64 * 2 + 3 * 64 * 172 + 128) + 64,
    );
    expect(hf.unexpected).toEqual([]);
    expect(gg.tensors.map((t) => t.name)).toContain('lm_head.weight');
    const ggNoHead = { ...gg, tensors: gg.tensors.filter((t) => t.name !== 'lm_head.weight') };
    await sameTensors(ggNoHead, hf);
    const a = createTokenizer(hf.tokenizer, hf.config)!;
    const b = createTokenizer(gg.tokenizer, gg.config)!;
    expect(a.encode('Once upon a time, there was a little girl named Lily.')).toEqual(
      b.encode('Once upon a time, there was a little girl named Lily.'),
    );
  });

  it('reads any byte range of a tensor as read() has it (safetensors shards and GGUF, q/k too)', async () => {
    const spec = TINY_MODELS['tiny-bf16-gqa-tied']!;
    const sharded = await openModel(sourcesOf(tinyHfFolder(spec, 3)));
    const gg = await openModel([assetSource('stories260K.gguf')]);
    for (const m of [sharded, gg]) {
      for (const t of m.tensors) {
        const whole = await t.read();
        const a = Math.floor(whole.length / 3);
        const b = Math.floor((2 * whole.length) / 3);
        expect(firstDifference(await t.readRange(a, b - a), whole.subarray(a, b)), t.name).toBe(-1);
        expect(firstDifference(await t.readRange(0, whole.length), whole), t.name).toBe(-1);
      }
    }
    const t = sharded.tensors[0]!;
    await expect(t.readRange(1, t.byteLength)).rejects.toThrow(/outside the tensor/);
  });

  it('refuses a GGUF whose RoPE is scaled by a rope_freqs tensor (Llama 3.1+), naming the way out', async () => {
    const spec = TINY_MODELS['tiny-f32-gqa']!;
    const freqs = { name: 'rope_freqs.weight', dims: [4], type: 0, data: new Uint8Array(16) };
    const file = bytesSource('llama31.gguf', tinyGguf(spec, undefined, [freqs]));
    await expect(openModel([file])).rejects.toThrow(
      /llama31\.gguf: this GGUF scales RoPE with a rope_freqs tensor .*open the Hugging Face folder/,
    );
    await expect(openModel([file])).rejects.toMatchObject({ kind: 'unsupported-model' });
  });

  it('reports missing tokenizer files and unexpected files', async () => {
    const files = tinyHfFolder(TINY_MODELS['tiny-f32-gqa']!);
    delete files['tokenizer.json'];
    delete files['tokenizer_config.json'];
    files['notes.txt'] = new Uint8Array(3);
    const m = await openModel(sourcesOf(files));
    expect(m.tokenizer).toBeNull();
    expect(m.missing).toEqual(['tokenizer.json', 'tokenizer_config.json']);
    expect(m.unexpected).toEqual(['notes.txt']);
  });

  it('refuses safetensors without config.json, a missing shard, and config/weights disagreement', async () => {
    const files = tinyHfFolder(TINY_MODELS['tiny-f32-gqa']!);
    delete files['config.json'];
    await expect(openModel(sourcesOf(files))).rejects.toThrow(/config\.json is missing/);
    const bad = malformedFixtures();
    await expect(openModel(sourcesOf(bad, 'sharded-missing/'))).rejects.toThrow(
      /missing shard file: model-00002-of-00003\.safetensors/,
    );
    const err = await openModel(sourcesOf(bad, 'config-mismatch/')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FormatError);
    expect(String(err)).toMatch(
      /k_proj\.weight has shape \[16, 16\] but the config expects \[8, 16\]/,
    );
    await expect(openModel([bytesSource('q2_k.gguf', bad['q2_k.gguf']!)])).rejects.toThrow(
      /"blk\.0\.attn_q\.weight" has ggml type Q2_K, which this reader does not support/,
    );
  });
});

describe('openModelPath (Node, from fixture files written by the script)', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'io-fixtures-'));
    expect(await makeFixtures(dir)).toBeGreaterThan(40);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('opens a folder, a .safetensors with config.json beside it, and a .gguf', async () => {
    const folder = await openModelPath(join(dir, 'tiny-bf16-sharded'));
    const file = await openModelPath(join(dir, 'tiny-bf16-gqa-tied', 'model.safetensors'));
    const gguf = await openModelPath(join(dir, 'tiny-bf16.gguf'));
    expect(folder.tokenizer?.kind).toBe('hf');
    expect(file.tokenizer?.kind).toBe('hf');
    expect(file.missing).toEqual([]);
    await sameTensors(folder, file);
    await sameTensors(gguf, file);
  });

  it('opens the real stories260K GGUF from its path', async () => {
    const m = await openModelPath(assetPath('stories260K.gguf'));
    expect(m.config.layers).toBe(5);
    expect(m.tokenizer?.kind).toBe('gguf');
  });
});
