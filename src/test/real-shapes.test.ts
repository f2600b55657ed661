/**
 * Real-shape fixtures: the published configs parse to the published sizes, and the small-width
 * folders the generator streams to disk read back through the project's own loaders exactly as a
 * Hugging Face save_pretrained folder would (shards, index, headers, dtypes, shapes, tokenizer).
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseRealArgs, writeRealModel } from '../../scripts/make-fixtures.ts';
import { expectedTensors, parseHfConfig } from '../io/config.ts';
import { bytesToF32, numel } from '../io/dtype.ts';
import { createTokenizer } from '../io/model.ts';
import { openModelPath } from '../io/open-node.ts';
import { readSafetensorsHeader } from '../io/safetensors.ts';
import { nodeFileSource } from '../io/source-node.ts';
import {
  bf16TensorChunks,
  HF_DEFAULT_MAX_SHARD_SIZE,
  normalQuantile,
  parameterCount,
  parseShardSize,
  plannedTensors,
  planShards,
  realConfigJson,
  realModelConfig,
  REAL_MODEL_NAMES,
  REAL_MODELS,
  REAL_SHAPES,
  safetensorsLayout,
  shardIndex,
  SMALL_WIDTH,
  type PlannedTensor,
  type RealModelName,
} from './real-shapes.ts';

describe('published configs', () => {
  it.each([
    ['smollm2-135m', 134_515_008, 134.5e6],
    ['tinyllama-1.1b', 1_100_048_384, 1.1e9],
    ['llama-3.2-1b', 1_235_814_400, 1.24e9],
    ['llama-2-7b', 6_738_415_616, 6.74e9],
  ] as const)('%s has %i parameters (≈ %d as published)', (name, exact, published) => {
    const n = parameterCount(realModelConfig(name));
    expect(n).toBe(exact);
    expect(REAL_MODELS[name].parameters).toBe(exact);
    expect(Math.abs(n - published) / published).toBeLessThan(0.005);
  });

  it('parse to the published architecture knobs', () => {
    const c = Object.fromEntries(REAL_MODEL_NAMES.map((n) => [n, realModelConfig(n)]));
    const knobs = (n: RealModelName) => {
      const x = c[n]!;
      return [x.hidden, x.intermediate, x.layers, x.heads, x.kvHeads, x.headDim, x.vocabSize];
    };
    expect(knobs('smollm2-135m')).toEqual([576, 1536, 30, 9, 3, 64, 49152]);
    expect(knobs('tinyllama-1.1b')).toEqual([2048, 5632, 22, 32, 4, 64, 32000]);
    expect(knobs('llama-3.2-1b')).toEqual([2048, 8192, 16, 32, 8, 64, 128256]);
    expect(knobs('llama-2-7b')).toEqual([4096, 11008, 32, 32, 32, 128, 32000]);
    expect(REAL_MODEL_NAMES.map((n) => c[n]!.tieWordEmbeddings)).toEqual([
      true,
      false,
      true,
      false,
    ]);
    expect(REAL_MODEL_NAMES.map((n) => c[n]!.ropeTheta)).toEqual([1e5, 1e4, 5e5, 1e4]);
    expect(REAL_MODEL_NAMES.map((n) => c[n]!.maxPositions)).toEqual([8192, 2048, 131072, 4096]);
    expect(REAL_MODEL_NAMES.map((n) => [c[n]!.bosId, c[n]!.eosId])).toEqual([
      [0, 0],
      [1, 2],
      [128000, 128001],
      [1, 2],
    ]);
    expect(REAL_MODEL_NAMES.every((n) => c[n]!.rmsEps === 1e-5)).toBe(true);
    expect(REAL_MODEL_NAMES.every((n) => c[n]!.torchDtype === 'bfloat16')).toBe(true);
    expect(c['llama-3.2-1b']!.ropeScaling).toEqual({
      type: 'llama3',
      factor: 32,
      lowFreqFactor: 1,
      highFreqFactor: 4,
      originalMaxPositions: 8192,
    });
    for (const n of ['smollm2-135m', 'tinyllama-1.1b', 'llama-2-7b'] as const) {
      expect(c[n]!.ropeScaling).toBeNull();
    }
    // head_dim is in the config exactly where the published one has it.
    expect(REAL_MODEL_NAMES.filter((n) => 'head_dim' in REAL_SHAPES[n].full)).toEqual([
      'llama-3.2-1b',
    ]);
  });

  it('small width keeps heads, kv heads, head_dim, vocabulary, rope and tying; narrows the rest', () => {
    for (const n of REAL_MODEL_NAMES) {
      const full = realModelConfig(n, 'full');
      const small = realModelConfig(n, 'small');
      expect({ ...small, hidden: 0, intermediate: 0, layers: 0 }, n).toEqual({
        ...full,
        hidden: 0,
        intermediate: 0,
        layers: 0,
      });
      expect([small.hidden, small.layers]).toEqual([SMALL_WIDTH.hidden, SMALL_WIDTH.layers]);
      expect(small.intermediate % 16, n).toBe(0);
    }
    const inter = REAL_MODEL_NAMES.map((n) => realModelConfig(n, 'small').intermediate);
    expect(inter).toEqual([176, 176, 256, 176]);
    // GQA ratios 3, 8, 4, 1; head_dim 64 and 128.
    expect(REAL_MODEL_NAMES.map((n) => realModelConfig(n, 'small').headDim)).toEqual([
      64, 64, 64, 128,
    ]);
  });

  it('realConfigJson hands out copies', () => {
    const a = realConfigJson('llama-3.2-1b');
    (a.rope_scaling as { factor: number }).factor = 1;
    expect(realModelConfig('llama-3.2-1b').ropeScaling).toMatchObject({ factor: 32 });
  });
});

describe('sharding as save_pretrained', () => {
  const t = (name: string, bytes: number): PlannedTensor => ({ name, shape: [bytes / 2], bytes });

  it('splits before the tensor that would tip a shard over, and gives an oversized tensor its own shard first', () => {
    const shards = planShards(
      [t('a', 40), t('b', 40), t('c', 40), t('big', 200), t('d', 20), t('e', 60)],
      100,
    );
    expect(shards.map((s) => [s.file, s.tensors.map((x) => x.name), s.bytes])).toEqual([
      ['model-00001-of-00004.safetensors', ['a', 'b'], 80],
      ['model-00002-of-00004.safetensors', ['big'], 200],
      ['model-00003-of-00004.safetensors', ['c', 'd'], 60],
      ['model-00004-of-00004.safetensors', ['e'], 60],
    ]);
    expect(shardIndex(shards)).toEqual({
      metadata: { total_size: 400 },
      weight_map: {
        a: 'model-00001-of-00004.safetensors',
        b: 'model-00001-of-00004.safetensors',
        big: 'model-00002-of-00004.safetensors',
        c: 'model-00003-of-00004.safetensors',
        d: 'model-00003-of-00004.safetensors',
        e: 'model-00004-of-00004.safetensors',
      },
    });
  });

  it('one shard is model.safetensors without an index', () => {
    const shards = planShards([t('a', 40)], 100);
    expect(shards.map((s) => s.file)).toEqual(['model.safetensors']);
    expect(shardIndex(shards)).toBeNull();
  });

  it.each([
    ['smollm2-135m', 1, 269_030_016],
    ['tinyllama-1.1b', 1, 2_200_096_768],
    ['llama-3.2-1b', 1, 2_471_628_800],
    ['llama-2-7b', 3, 13_476_831_232],
  ] as const)('%s at the default 5 GB: %i file(s), %i bytes', (name, files, total) => {
    const shards = planShards(plannedTensors(realModelConfig(name)), HF_DEFAULT_MAX_SHARD_SIZE);
    expect(shards.length).toBe(files);
    expect(shards.reduce((a, s) => a + s.bytes, 0)).toBe(total);
    expect(shards.every((s) => s.bytes <= 5e9)).toBe(true);
  });

  it('parses shard sizes as huggingface_hub does (decimal units) and binary units', () => {
    expect(parseShardSize('5GB')).toBe(5e9);
    expect(parseShardSize('200MB')).toBe(2e8);
    expect(parseShardSize('64kb')).toBe(64_000);
    expect(parseShardSize('1GiB')).toBe(2 ** 30);
    expect(parseShardSize('123456')).toBe(123456);
    expect(() => parseShardSize('5 parsecs')).toThrow(/not a shard size/);
    expect(() => parseShardSize('0')).toThrow(/not a shard size/);
  });

  it('lays out a safetensors header as the safetensors library writes it', async () => {
    const { head, order } = safetensorsLayout([
      { name: 'model.layers.10.x', shape: [2], bytes: 4 },
      { name: 'model.layers.2.x', shape: [1, 3], bytes: 6 },
      { name: 'lm_head.weight', shape: [1], bytes: 2 },
    ]);
    expect(order.map((x) => [x.name, x.begin, x.end])).toEqual([
      ['lm_head.weight', 0, 2],
      ['model.layers.10.x', 2, 6],
      ['model.layers.2.x', 6, 12],
    ]);
    const n = Number(new DataView(head.buffer).getBigUint64(0, true));
    expect(head.length).toBe(8 + n);
    expect(n % 8).toBe(0);
    const text = new TextDecoder().decode(head.subarray(8));
    expect(text.trimEnd()).toBe(
      '{"__metadata__":{"format":"pt"},' +
        '"lm_head.weight":{"dtype":"BF16","shape":[1],"data_offsets":[0,2]},' +
        '"model.layers.10.x":{"dtype":"BF16","shape":[2],"data_offsets":[2,6]},' +
        '"model.layers.2.x":{"dtype":"BF16","shape":[1,3],"data_offsets":[6,12]}}',
    );
  });
});

describe('values', () => {
  it('the normal quantile is right', () => {
    expect(normalQuantile(0.5)).toBeCloseTo(0, 12);
    expect(normalQuantile(0.975)).toBeCloseTo(1.959964, 5);
    expect(normalQuantile(0.001)).toBeCloseTo(-3.090232, 5);
  });

  it('are normal × 0.02, norms 1, the same whatever the chunk size', () => {
    const all = (chunk: number) => {
      const parts: number[] = [];
      for (const c of bf16TensorChunks('model.layers.0.mlp.up_proj.weight', 100_001, 7, chunk)) {
        parts.push(...bytesToF32(c.slice(), 'BF16'));
      }
      return parts;
    };
    const a = all(1 << 20);
    expect(all(4097)).toEqual(a);
    expect(a.length).toBe(100_001);
    const mean = a.reduce((s, x) => s + x, 0) / a.length;
    const std = Math.sqrt(a.reduce((s, x) => s + (x - mean) ** 2, 0) / a.length);
    expect(Math.abs(mean)).toBeLessThan(3e-4);
    expect(std).toBeGreaterThan(0.0197);
    expect(std).toBeLessThan(0.0203);
    expect(Math.max(...a.map(Math.abs))).toBeLessThan(0.02 * 4.5);
    const other = [...bf16TensorChunks('model.layers.0.mlp.up_proj.weight', 8, 8)][0]!;
    expect(bytesToF32(other.slice(), 'BF16')).not.toEqual(new Float32Array(a.slice(0, 8)));
    const norm = [...bf16TensorChunks('model.norm.weight', 5, 7)][0]!;
    expect([...bytesToF32(norm.slice(), 'BF16')]).toEqual([1, 1, 1, 1, 1]);
  });
});

describe('generated small-width folders read back through the project loaders', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'real-shapes-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  // Shard sizes that give each model several shards (the embedding alone is 3–16 MB).
  it.each([
    ['smollm2-135m', 200_000],
    ['tinyllama-1.1b', 1_000_000],
    ['llama-3.2-1b', 300_000],
    ['llama-2-7b', 1_000_000],
  ] as const)(
    '%s (max shard %i bytes)',
    async (name, maxShardSize) => {
      const out = join(dir, name);
      const written = await writeRealModel(out, name, { width: 'small', maxShardSize, seed: 3 });
      const config = realModelConfig(name, 'small');
      const expected = expectedTensors(config);
      const files = (await readdir(out)).sort();
      const n = written.shards.length;
      expect(n).toBeGreaterThanOrEqual(3);
      const shardFiles = Array.from(
        { length: n },
        (_, i) =>
          `model-${String(i + 1).padStart(5, '0')}-of-${String(n).padStart(5, '0')}.safetensors`,
      );
      expect(files).toEqual(
        [
          'config.json',
          'generation_config.json',
          'model.safetensors.index.json',
          'tokenizer.json',
          'tokenizer_config.json',
          ...shardFiles,
        ].sort(),
      );

      // config.json: sorted keys, parses to the spec's config.
      const configText = await readFile(join(out, 'config.json'), 'utf8');
      expect(configText.endsWith('}\n')).toBe(true);
      const configJson = JSON.parse(configText) as Record<string, unknown>;
      expect(Object.keys(configJson)).toEqual(Object.keys(configJson).sort());
      expect(configJson).toEqual(REAL_SHAPES[name].small);
      expect(parseHfConfig(configJson)).toEqual(config);

      // The index: total_size is the sum of tensor bytes; every entry is in its shard and vice versa.
      const index = JSON.parse(await readFile(join(out, 'model.safetensors.index.json'), 'utf8'));
      expect(Object.keys(index)).toEqual(['metadata', 'weight_map']);
      expect(Object.keys(index.weight_map)).toEqual(Object.keys(index.weight_map).sort());
      let tensorBytes = 0;
      const found = new Map<string, string>();
      for (const f of shardFiles) {
        const h = await readSafetensorsHeader(await nodeFileSource(join(out, f)));
        expect(h.metadata).toEqual({ format: 'pt' });
        const names = h.tensors.map((x) => x.name);
        expect(names, f).toEqual([...names].sort()); // data order = name order
        for (const x of h.tensors) {
          expect(x.dtype).toBe('BF16');
          tensorBytes += x.end - x.begin;
          found.set(x.name, f);
        }
      }
      expect(index.metadata).toEqual({ total_size: tensorBytes });
      expect(tensorBytes).toBe(2 * parameterCount(config));
      expect(written.totalSize).toBe(tensorBytes);
      expect(new Map(Object.entries(index.weight_map))).toEqual(found);
      // Shards are filled in state-dict order; a tensor over the limit sits alone in its own shard
      // (huggingface_hub places it before the shard being filled, so it may come out of order).
      const fits = [...expected].filter(([, shape]) => numel(shape) * 2 <= maxShardSize);
      const byShard = fits.map(([k]) => shardFiles.indexOf(found.get(k)!));
      expect(byShard).toEqual([...byShard].sort((a, b) => a - b));
      for (const [k, shape] of expected) {
        if (numel(shape) * 2 > maxShardSize) {
          expect([...found.values()].filter((f) => f === found.get(k)).length, k).toBe(1);
        }
      }

      // openModel: shapes as the config expects, BF16, nothing missing or unexpected.
      const m = await openModelPath(out);
      expect(m.format).toBe('safetensors');
      expect(m.dtypes).toEqual(['BF16']);
      expect(m.missing).toEqual([]);
      expect(m.unexpected).toEqual([]);
      expect(m.config).toEqual(config);
      expect(new Map(m.tensors.map((x) => [x.name, x.shape]))).toEqual(expected);
      expect(m.parameterCount).toBe(parameterCount(config));
      expect(m.tensors.every((x) => x.byteLength === numel(x.shape) * 2)).toBe(true);
      const norm = m.tensors.find(
        (x) => x.name === 'model.layers.1.post_attention_layernorm.weight',
      )!;
      expect([...bytesToF32(await norm.read(), 'BF16')].every((x) => x === 1)).toBe(true);
      const q = m.tensors.find((x) => x.name === 'model.layers.0.self_attn.q_proj.weight')!;
      const qv = bytesToF32(await q.read(), 'BF16');
      expect(qv.length).toBe(config.heads * config.headDim * config.hidden);
      expect(Math.sqrt(qv.reduce((s, x) => s + x * x, 0) / qv.length)).toBeCloseTo(0.02, 3);

      // The tokenizer: the config's vocabulary size and special ids, and it round-trips text.
      const tok = createTokenizer(m.tokenizer, m.config)!;
      expect([tok.vocabSize, tok.bosId, tok.eosId]).toEqual([
        config.vocabSize,
        config.bosId,
        config.eosId,
      ]);
      const text = 'Hello the world and 123 — é 🙂';
      const ids = tok.encode(text);
      // BOS first as Hugging Face's tokenizer(text) puts it: SmolLM2's post_processor adds none
      // (its tokenizer_config has no add_bos_token), Llama 3's template and Llama 2's config do.
      expect(tok.addsBos).toBe(name !== 'smollm2-135m');
      expect(ids[0] === config.bosId).toBe(name !== 'smollm2-135m');
      expect(ids.every((id) => id >= 0 && id < config.vocabSize)).toBe(true);
      expect(tok.decode(ids)).toBe(text);
      // The real merges apply: common words take one or two tokens, not a token per byte.
      expect(tok.encode('the and the', { addBos: false }).length).toBeLessThanOrEqual(4);
    },
    60_000,
  );

  it('the same seed gives the same tensors whatever the sharding', async () => {
    const a = await writeRealModel(join(dir, 'seed-a'), 'smollm2-135m', {
      width: 'small',
      maxShardSize: 150_000,
    });
    const b = await writeRealModel(join(dir, 'seed-b'), 'smollm2-135m', { width: 'small' });
    expect(a.shards.length).toBeGreaterThan(3);
    expect(b.shards.map((s) => s.file)).toEqual(['model.safetensors']);
    const [ma, mb] = [await openModelPath(a.dir), await openModelPath(b.dir)];
    const rb = new Map(mb.tensors.map((x) => [x.name, x]));
    for (const name of ['model.embed_tokens.weight', 'model.layers.1.mlp.down_proj.weight']) {
      const x = await ma.tensors.find((t) => t.name === name)!.read();
      expect(Buffer.from(x).equals(Buffer.from(await rb.get(name)!.read())), name).toBe(true);
    }
  });

  it('--config-only writes the config and tokenizer files and no weights', async () => {
    const out = join(dir, 'llama-2-7b-config');
    const w = await writeRealModel(out, 'llama-2-7b', { configOnly: true });
    expect((await readdir(out)).sort()).toEqual([
      'config.json',
      'generation_config.json',
      'tokenizer.json',
      'tokenizer_config.json',
    ]);
    expect(w.parameters).toBe(6_738_415_616);
    const config = parseHfConfig(await readFile(join(out, 'config.json'), 'utf8'));
    expect(config).toEqual(realModelConfig('llama-2-7b'));
    await expect(writeRealModel(join(dir, 'no'), 'llama-2-7b')).rejects.toThrow(
      /config-only here .*13\.5 GB/,
    );
  });
});

describe('make-fixtures arguments', () => {
  it('parses --real', () => {
    expect(parseRealArgs([])).toBeNull();
    expect(
      parseRealArgs([
        '--real',
        'smollm2-135m',
        '--width',
        'small',
        '--out',
        'x',
        '--max-shard-size',
        '200MB',
      ]),
    ).toEqual({
      names: ['smollm2-135m'],
      all: false,
      width: 'small',
      out: 'x',
      maxShardSize: 2e8,
      seed: 0,
      configOnly: false,
    });
    expect(parseRealArgs(['--real', 'all', '--config-only'])).toMatchObject({
      names: [...REAL_MODEL_NAMES],
      all: true,
      width: 'full',
      maxShardSize: 5e9,
      configOnly: true,
    });
    expect(() => parseRealArgs(['--real', 'gpt-9'])).toThrow(/unknown model "gpt-9"/);
    expect(() => parseRealArgs(['--real', 'all', '--width', 'huge'])).toThrow(/--width/);
    expect(() => parseRealArgs(['--real', 'all', '--out', 'x'])).toThrow(/one model/);
  });
});
