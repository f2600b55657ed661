/**
 * GGUF in and out for the Qwen architectures (src/io/arch.ts): a tiny Qwen2 (q/k/v biases, untied)
 * and Qwen3 (q/k norms, head_dim 8 with hidden 16, tied) exported as merged GGUFs carry their
 * `qwen2` / `qwen3` metadata and tensors (blk.N.attn_q.bias, attn_q_norm, attn_k_norm) in Hugging
 * Face's q/k row order; our GGUF reader gives back the same config and tensors; llama.cpp (node-
 * llama-cpp) loads them and its perplexity of a window equals the float64 reference's loss.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { randomRefModel, refLossAndGrads, type RefConfig } from '../reference/llama.ts';
import { assetPath, sourcesOf } from '../test/assets-node.ts';
import { qwenStyleTokenizerFiles } from '../test/bpe-train.ts';
import { tinyHfFolder, TINY_MODELS } from '../test/fixtures.ts';
import { disposeLlamaCpp, loadLlamaCpp } from '../test/llama-cpp.ts';
import { Rng } from '../util/rng.ts';
import { qkNormName } from './block.ts';
import type { ModelConfig } from './config.ts';
import { bytesToF32 } from './dtype.ts';
import { readGguf } from './gguf.ts';
import { mergedGguf, streamGguf, tokenizerKvs, type GgufExport } from './gguf-export.ts';
import { createTokenizer, openModel, type OpenedModel } from './model.ts';
import { bytesSource } from './source.ts';

const dir = mkdtempSync(join(tmpdir(), 'gguf-qwen-'));
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await disposeLlamaCpp();
});

async function toBytes(exp: GgufExport): Promise<Uint8Array> {
  const out = new Uint8Array(exp.fileBytes);
  let p = 0;
  await streamGguf(exp, (c) => {
    out.set(c, p);
    p += c.length;
    return Promise.resolve();
  });
  return out;
}

function exportOf(
  m: OpenedModel,
  trained: { name: string; shape: number[]; data: Float32Array }[],
) {
  return mergedGguf({
    model: m,
    adapter: trained.length
      ? {
          baseModel: 'tiny',
          r: 1,
          alpha: 1,
          targets: [],
          modulesToSave: ['norm'],
          lora: [],
          trained,
          ropeFactor: 1,
        }
      : undefined,
    dtype: 'f32',
    contextLength: 64,
    rope: { kind: 'linear', factor: 1 },
    name: 'tiny-qwen',
    tokenizer: tokenizerKvs(m.tokenizer, m.config),
  });
}

/** The float64 reference model of an opened model's weights. */
async function refOf(
  m: OpenedModel,
): Promise<{ cfg: RefConfig; w: Parameters<typeof refLossAndGrads>[1] }> {
  const c: ModelConfig = m.config;
  const cfg: RefConfig = {
    vocab: c.vocabSize,
    hidden: c.hidden,
    intermediate: c.intermediate,
    layers: c.layers,
    heads: c.heads,
    kvHeads: c.kvHeads,
    headDim: c.headDim,
    rmsEps: c.rmsEps,
    ropeTheta: c.ropeTheta,
    ropeFactor: 1,
    tied: c.tieWordEmbeddings,
    pattern: 'full',
    group: 2,
    loraTargets: [],
    rank: 1,
    alpha: 1,
    biases: [...c.biases],
    qkNorm: c.qkNorm,
  };
  const w = randomRefModel(cfg, 1); // shapes only: every tensor is overwritten below
  const by = new Map(m.tensors.map((t) => [t.name, t]));
  const get = async (name: string) =>
    Float64Array.from(bytesToF32(await by.get(name)!.read(), by.get(name)!.dtype));
  w.embed = await get('model.embed_tokens.weight');
  w.norm = await get('model.norm.weight');
  if (!cfg.tied) w.lmHead = await get('lm_head.weight');
  for (let i = 0; i < c.layers; i++) {
    const l = w.layers[i]!;
    const p = `model.layers.${i}`;
    l.inputNorm = await get(`${p}.input_layernorm.weight`);
    l.postNorm = await get(`${p}.post_attention_layernorm.weight`);
    for (const [key, path] of [
      ['q', 'self_attn.q_proj'],
      ['k', 'self_attn.k_proj'],
      ['v', 'self_attn.v_proj'],
      ['o', 'self_attn.o_proj'],
      ['gate', 'mlp.gate_proj'],
      ['up', 'mlp.up_proj'],
      ['down', 'mlp.down_proj'],
    ] as const)
      l[key] = await get(`${p}.${path}.weight`);
    for (const b of c.biases) l.bias![b] = await get(`${p}.self_attn.${b}.bias`);
    if (c.qkNorm) {
      l.qNorm = await get(qkNormName(i, 'q'));
      l.kNorm = await get(qkNormName(i, 'k'));
    }
  }
  return { cfg, w };
}

describe('Qwen GGUF export and import', () => {
  for (const [name, arch, perLayer] of [
    ['tiny-qwen2-f32', 'qwen2', 12],
    ['tiny-qwen3-bf16-tied', 'qwen3', 11],
  ] as const) {
    it(`${name}: ${arch} metadata and tensors, read back unchanged, and llama.cpp's perplexity = the float64 reference`, async () => {
      const m = await openModel(sourcesOf(tinyHfFolder(TINY_MODELS[name]!)));
      const bytes = await toBytes(exportOf(m, []));
      const g = await readGguf(bytesSource('x.gguf', bytes));
      expect(g.metadata['general.architecture']).toBe(arch);
      expect(g.metadata[`${arch}.context_length`]).toBe(64);
      expect(g.metadata[`${arch}.attention.head_count_kv`]).toBe(2);
      const names = g.tensors.map((t) => t.name);
      const globals = m.config.tieWordEmbeddings ? 2 : 3;
      expect(names.length).toBe(globals + perLayer * m.config.layers);
      if (arch === 'qwen2') {
        expect(names).toContain('blk.1.attn_q.bias');
        expect(names).toContain('blk.1.attn_v.bias');
      } else {
        expect(names).toContain('blk.1.attn_q_norm.weight');
        expect(g.metadata['qwen3.attention.key_length']).toBe(8);
      }
      // Our reader: the same config and every tensor's values (q/k rows not permuted for qwen).
      const back = await openModel([bytesSource(`${name}.gguf`, bytes)]);
      expect(back.config).toMatchObject({
        architecture: m.config.architecture,
        biases: m.config.biases,
        qkNorm: m.config.qkNorm,
        headDim: m.config.headDim,
        tieWordEmbeddings: m.config.tieWordEmbeddings,
      });
      const orig = new Map(m.tensors.map((t) => [t.name, t]));
      expect(back.tensors.map((t) => t.name).sort()).toEqual([...orig.keys()].sort());
      for (const t of back.tensors) {
        const o = orig.get(t.name)!;
        expect(t.shape, t.name).toEqual(o.shape);
        expect(bytesToF32(await t.read(), t.dtype), t.name).toEqual(
          bytesToF32(await o.read(), o.dtype),
        );
      }
      // llama.cpp reads the architecture as Hugging Face defines it: its perplexity of a window
      // is the float64 reference's mean loss on the same weights.
      const file = join(dir, `${name}.gguf`);
      writeFileSync(file, bytes);
      const run = await loadLlamaCpp(file, 64);
      const rng = new Rng(9);
      const window = Array.from({ length: 24 }, () => 3 + rng.int(m.config.vocabSize - 3));
      const got = await run.perplexity(window);
      await run.dispose();
      const { cfg, w } = await refOf(m);
      const want = refLossAndGrads(cfg, w, window).loss;
      expect(Math.abs(got.loss - want) / want).toBeLessThan(1e-3);
    }, 300_000);
  }

  it('a Qwen2 with its byte-level BPE (no BOS) opens from its GGUF and tokenizes as from its folder and as llama.cpp does', async () => {
    const stories = readFileSync(assetPath('tinystories-197k.txt'), 'utf8');
    const folder = tinyHfFolder({
      ...TINY_MODELS['tiny-qwen2-f32']!,
      tokenizer: qwenStyleTokenizerFiles(stories.slice(0, 40_000)),
    });
    const m = await openModel(sourcesOf(folder));
    const bytes = await toBytes(exportOf(m, []));
    const back = await openModel([bytesSource('qwen-bpe.gguf', bytes)]);
    expect(back.tokenizer?.kind).toBe('gguf-bpe');
    const hf = createTokenizer(m.tokenizer, m.config)!;
    const gg = createTokenizer(back.tokenizer, back.config)!;
    // As llama.cpp's converter writes Qwen: a BOS id (config.json's <|endoftext|>) that is never added.
    expect(hf.bosId).toBeUndefined();
    const md = (await readGguf(bytesSource('qwen-bpe.gguf', bytes))).metadata;
    expect(md['tokenizer.ggml.add_bos_token']).toBe(false);
    expect(gg.addsBos).toBe(false);
    expect(gg.eosId).toBe(hf.eosId);
    expect(gg.vocabSize).toBe(back.config.vocabSize);
    const file = join(dir, 'qwen-bpe.gguf');
    writeFileSync(file, bytes);
    const cpp = await loadLlamaCpp(file, 64);
    try {
      for (const text of [
        stories.slice(150_000, 152_000),
        'Ünïcödé café 日本語 🙂 <|im_start|>user\nHi<|im_end|>\n  two  spaces\t\ttabs 3.14159',
      ]) {
        const ids = hf.encode(text);
        const plain = text.replace(/<\|im_(start|end)\|>/g, '');
        expect(gg.encode(text)).toEqual(ids);
        // Decoding skips the special tokens, from either file.
        expect(gg.decode(ids)).toBe(hf.decode(ids));
        expect(gg.decode(ids)).toBe(plain);
        // llama.cpp's tokenizer (here without parsing special tokens) on the plain text.
        expect(cpp.tokenize(plain)).toEqual(hf.encode(plain));
      }
    } finally {
      await cpp.dispose();
    }
  }, 300_000);

  it('a trained q_norm (LoRA+) replaces the base one in the merged Qwen3 GGUF', async () => {
    const m = await openModel(sourcesOf(tinyHfFolder(TINY_MODELS['tiny-qwen3-bf16-tied']!)));
    const data = new Float32Array([1, 2, 3, 4, 5, 6, 7, 8]);
    const bytes = await toBytes(exportOf(m, [{ name: qkNormName(1, 'q'), shape: [8], data }]));
    const back = await openModel([bytesSource('t.gguf', bytes)]);
    const t = back.tensors.find((x) => x.name === qkNormName(1, 'q'))!;
    expect(bytesToF32(await t.read(), t.dtype)).toEqual(data);
  });
});
