/**
 * The GGUF export read back by this project's GGUF reader (metadata, tensor names, dims, types; the
 * merged values recomputed in float64 from the HF files; q/k rows un-permuted), the LoRA adapter
 * GGUF's layout, the refusals, and llama.cpp's tokenizer (node-llama-cpp) on vocabularies built from
 * tokenizer.json: sentencepiece-style and both byte-level styles tokenize as ours do.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Rng } from '../util/rng.ts';
import { disposeLlamaCpp, loadLlamaCpp } from '../test/llama-cpp.ts';
import {
  byteLevelTokenizerJson,
  randomWeights,
  tinyConfigJson,
  tinyHfFolder,
  TINY_MODELS,
  type TinySpec,
} from '../test/fixtures.ts';
import { sourcesOf } from '../test/assets-node.ts';
import { linearPath, linearShape, parseHfConfig, type LinearName } from './config.ts';
import { bytesToF32 } from './dtype.ts';
import { readGguf, readGgufTensorBytes } from './gguf.ts';
import { unpermuteQK } from './gguf-llama.ts';
import {
  ggufRope,
  loraAdapterGguf,
  mergedGguf,
  streamGguf,
  tokenizerKvs,
  tokenizerKvsFromHf,
  type GgufExport,
} from './gguf-export.ts';
import { createTokenizer, openModel, type OpenedModel } from './model.ts';
import type { LoraWeights, ReadAdapter } from './peft.ts';
import { writeSafetensors } from './safetensors.ts';
import { bytesSource } from './source.ts';

const dir = mkdtempSync(join(tmpdir(), 'gguf-export-unit-'));
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
  expect(p).toBe(exp.fileBytes);
  return out;
}

async function tinyModel(spec: TinySpec): Promise<OpenedModel> {
  return openModel(sourcesOf(tinyHfFolder(spec)));
}

function randomAdapter(m: OpenedModel, trainedToo: boolean): ReadAdapter {
  const rng = new Rng(5);
  const r = 2;
  const lora: LoraWeights[] = [];
  for (let layer = 0; layer < m.config.layers; layer++)
    for (const module of ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'down_proj'] as LinearName[]) {
      const [out, inF] = linearShape(m.config, module);
      lora.push({ layer, module, A: rng.floats(r * inF), B: rng.floats(out * r) });
    }
  const trained = trainedToo
    ? [
        {
          name: 'model.embed_tokens.weight',
          shape: [m.config.vocabSize, m.config.hidden],
          data: rng.floats(m.config.vocabSize * m.config.hidden),
        },
        { name: 'model.norm.weight', shape: [m.config.hidden], data: rng.floats(m.config.hidden) },
      ]
    : [];
  return {
    baseModel: 'tiny',
    r,
    alpha: 6,
    targets: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'down_proj'],
    modulesToSave: [],
    lora,
    trained,
    ropeFactor: 4,
  };
}

describe('merged GGUF export', () => {
  it('holds base + (alpha/r)·B·A, the trained tensors, llama metadata and q/k in GGUF order', async () => {
    const m = await tinyModel(TINY_MODELS['tiny-f32-gqa']!);
    const a = randomAdapter(m, true);
    const exp = mergedGguf({
      model: m,
      adapter: a,
      dtype: 'f32',
      contextLength: 256,
      rope: { kind: 'linear', factor: 4 },
      name: 'tiny-longlora',
      tokenizer: tokenizerKvs(m.tokenizer, m.config),
    });
    const bytes = await toBytes(exp);
    const src = bytesSource('x.gguf', bytes);
    const g = await readGguf(src);
    expect(g.metadata['general.architecture']).toBe('llama');
    expect(g.metadata['llama.context_length']).toBe(256);
    expect(g.metadata['llama.rope.scaling.type']).toBe('linear');
    expect(g.metadata['llama.rope.scaling.factor']).toBe(4);
    expect(g.metadata['llama.attention.head_count_kv']).toBe(2);
    expect(g.metadata['tokenizer.ggml.model']).toBe('llama');
    expect(g.types['llama.context_length']).toEqual({ type: 'u32' });
    // Untied: 3 globals + 9 per layer.
    expect(g.tensors.length).toBe(3 + 9 * m.config.layers);
    const byName = new Map(m.tensors.map((t) => [t.name, t]));
    const scale = a.alpha / a.r;
    for (const l of a.lora) {
      const hf = `model.layers.${l.layer}.${linearPath(l.module)}.weight`;
      const base = bytesToF32(await byName.get(hf)!.read(), 'F32');
      const [out, inF] = linearShape(m.config, l.module);
      const short = { q_proj: 'attn_q', k_proj: 'attn_k', v_proj: 'attn_v', o_proj: 'attn_output' };
      const gname = `blk.${l.layer}.${(short as Record<string, string>)[l.module] ?? 'ffn_down'}.weight`;
      const info = g.tensors.find((t) => t.name === gname)!;
      expect(info.dims).toEqual([inF, out]);
      let got = bytesToF32(await readGgufTensorBytes(src, info), 'F32');
      if (l.module === 'q_proj' || l.module === 'k_proj')
        got = unpermuteQK(got, l.module === 'q_proj' ? m.config.heads : m.config.kvHeads, out, inF);
      let worst = 0;
      for (let o = 0; o < out; o++)
        for (let i = 0; i < inF; i++) {
          let d = 0;
          for (let k = 0; k < a.r; k++) d += l.B[o * a.r + k]! * l.A[k * inF + i]!;
          worst = Math.max(worst, Math.abs(got[o * inF + i]! - (base[o * inF + i]! + scale * d)));
        }
      expect(worst).toBeLessThan(1e-6);
    }
    const embd = g.tensors.find((t) => t.name === 'token_embd.weight')!;
    expect(bytesToF32(await readGgufTensorBytes(src, embd), 'F32')).toEqual(a.trained[0]!.data);
    const norm = g.tensors.find((t) => t.name === 'output_norm.weight')!;
    expect(bytesToF32(await readGgufTensorBytes(src, norm), 'F32')).toEqual(a.trained[1]!.data);
    // Untouched weights are copied as they are.
    const up = g.tensors.find((t) => t.name === 'blk.1.ffn_up.weight')!;
    expect(bytesToF32(await readGgufTensorBytes(src, up), 'F32')).toEqual(
      bytesToF32(await byName.get('model.layers.1.mlp.up_proj.weight')!.read(), 'F32'),
    );
  });

  it('writes f16/bf16 matrices with f32 norms, and llama3 frequencies as rope_freqs', async () => {
    const m = await tinyModel(TINY_MODELS['tiny-bf16-gqa-tied']!);
    const factors = new Float32Array([1, 4]);
    for (const [dtype, type, fileType] of [
      ['f16', 1, 1],
      ['bf16', 30, 32],
    ] as const) {
      const g = await readGguf(
        bytesSource(
          'x.gguf',
          await toBytes(
            mergedGguf({
              model: m,
              dtype,
              contextLength: 64,
              rope: { kind: 'freqs', factors },
              name: 'tiny',
              tokenizer: tokenizerKvs(m.tokenizer, m.config),
            }),
          ),
        ),
      );
      expect(g.metadata['general.file_type']).toBe(fileType);
      expect(g.metadata['llama.rope.scaling.type']).toBeUndefined();
      expect(g.tensors.find((t) => t.name === 'rope_freqs.weight')?.dims).toEqual([2]);
      expect(g.tensors.find((t) => t.name === 'blk.0.attn_q.weight')?.type).toBe(type);
      expect(g.tensors.find((t) => t.name === 'blk.0.attn_norm.weight')?.type).toBe(0);
      expect(g.tensors.some((t) => t.name === 'output.weight')).toBe(false); // tied
    }
  });

  it('streams to a writer that transfers (detaches) each chunk, as the worker does', async () => {
    const m = await tinyModel(TINY_MODELS['tiny-f32-gqa']!);
    const plan = () =>
      mergedGguf({
        model: m,
        adapter: randomAdapter(m, true),
        dtype: 'f16',
        contextLength: 256,
        rope: { kind: 'linear', factor: 4 },
        name: 'x',
        tokenizer: tokenizerKvs(m.tokenizer, m.config),
      });
    const parts: Uint8Array[] = [];
    const seen: number[] = [];
    await streamGguf(
      plan(),
      (c) => {
        const own = c.byteLength === c.buffer.byteLength ? c : c.slice();
        parts.push(structuredClone(own, { transfer: [own.buffer] }));
        return Promise.resolve();
      },
      (done) => seen.push(done),
    );
    const whole = await toBytes(plan());
    expect(seen.at(-1)).toBe(whole.length);
    expect(Buffer.concat(parts).equals(Buffer.from(whole))).toBe(true);
  });

  it('refuses an adapter whose trained tensor does not fit, naming both shapes', async () => {
    const m = await tinyModel(TINY_MODELS['tiny-f32-gqa']!);
    const a = randomAdapter(m, true);
    a.trained[1] = { name: 'model.norm.weight', shape: [8], data: new Float32Array(8) };
    expect(() =>
      mergedGguf({
        model: m,
        adapter: a,
        dtype: 'f32',
        contextLength: 256,
        rope: { kind: 'plain' },
        name: 'x',
        tokenizer: [],
      }),
    ).toThrow(/trained tensor model\.norm\.weight is \[8\]; the model's is \[16\]/);
    a.trained = [];
    a.lora[0] = { ...a.lora[0]!, A: new Float32Array(3) };
    expect(() => loraAdapterGguf(m.config, a, 'x')).toThrow(
      /layer 0 q_proj: the model needs A \[2, 16\] and B \[16, 2\]/,
    );
  });
});

describe('ggufRope', () => {
  it('linear factor, plain, llama3 as rope_freqs (plain / trained frequency), dynamic refused', () => {
    const base = parseHfConfig(tinyConfigJson(TINY_MODELS['tiny-f32-gqa']!));
    const inv = (f: number, l3?: { factor: number }) =>
      Float32Array.from([1, 0.5], (x) => x / f / (l3 ? l3.factor : 1));
    expect(ggufRope(base, 4, inv)).toEqual({ kind: 'linear', factor: 4 });
    expect(ggufRope(base, 1, inv)).toEqual({ kind: 'plain' });
    const llama3 = {
      ...base,
      ropeScaling: {
        type: 'llama3' as const,
        factor: 8,
        lowFreqFactor: 1,
        highFreqFactor: 4,
        originalMaxPositions: 16,
      },
    };
    const r = ggufRope(llama3, 1, inv);
    expect(r.kind).toBe('freqs');
    expect(r.kind === 'freqs' && [...r.factors]).toEqual([8, 8]);
    expect(() =>
      ggufRope({ ...base, ropeScaling: { type: 'dynamic', factor: 2 } }, 1, inv),
    ).toThrow(/rope_scaling type "dynamic" .* export refused/);
  });
});

describe('LoRA adapter GGUF', () => {
  it('general.type adapter, alpha, lora_a [r, in] and lora_b [out, r] with q/k rows permuted', async () => {
    const m = await tinyModel(TINY_MODELS['tiny-f32-gqa']!);
    const a = randomAdapter(m, false);
    const src = bytesSource('a.gguf', await toBytes(loraAdapterGguf(m.config, a, 'tiny-lora')));
    const g = await readGguf(src);
    expect(g.metadata['general.type']).toBe('adapter');
    expect(g.metadata['adapter.type']).toBe('lora');
    expect(g.metadata['adapter.lora.alpha']).toBe(6);
    expect(g.tensors.length).toBe(2 * a.lora.length);
    const k = a.lora.find((l) => l.layer === 1 && l.module === 'k_proj')!;
    const infoA = g.tensors.find((t) => t.name === 'blk.1.attn_k.weight.lora_a')!;
    const infoB = g.tensors.find((t) => t.name === 'blk.1.attn_k.weight.lora_b')!;
    expect(infoA.dims).toEqual([16, 2]);
    expect(infoB.dims).toEqual([2, 8]);
    expect(bytesToF32(await readGgufTensorBytes(src, infoA), 'F32')).toEqual(k.A);
    const b = bytesToF32(await readGgufTensorBytes(src, infoB), 'F32');
    expect(unpermuteQK(b, m.config.kvHeads, 8, 2)).toEqual(k.B);
  });

  it('refuses a LoRA+ adapter: llama.cpp adapters cannot carry embeddings or norms', async () => {
    const m = await tinyModel(TINY_MODELS['tiny-f32-gqa']!);
    expect(() => loraAdapterGguf(m.config, randomAdapter(m, true), 'x')).toThrow(
      /also trained 2 embedding\/norm tensors \(LoRA\+\); a llama\.cpp LoRA adapter can only carry LoRA pairs.*Export the merged GGUF instead/,
    );
  });
});

describe('tokenizer metadata from tokenizer.json, read by llama.cpp', () => {
  const config = (vocab: number) => ({
    ...tinyConfigJson(TINY_MODELS['tiny-f32-mha-tied']!),
    vocab_size: vocab,
  });

  /** Exports a tiny model with this tokenizer.json and compares llama.cpp's tokens with ours. */
  async function sameTokens(tokenizerJson: unknown, vocab: number, text: string): Promise<string> {
    const files = tinyHfFolder(TINY_MODELS['tiny-f32-mha-tied']!);
    const enc = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
    files['tokenizer.json'] = enc(tokenizerJson);
    files['config.json'] = enc(config(vocab));
    // Weights for the new vocabulary size.
    const w = randomWeights(parseHfConfig(config(vocab)), 9);
    files['model.safetensors'] = writeSafetensors(
      [...w].map(([name, t]) => ({ name, dtype: 'F32' as const, shape: t.shape, data: t.data })),
    );
    const m = await openModel(sourcesOf(files));
    const kvs = tokenizerKvs(m.tokenizer, m.config);
    const file = join(dir, `tok-${Math.random().toString(36).slice(2)}.gguf`);
    writeFileSync(
      file,
      await toBytes(
        mergedGguf({
          model: m,
          dtype: 'f32',
          contextLength: 64,
          rope: { kind: 'plain' },
          name: 'tok',
          tokenizer: kvs,
        }),
      ),
    );
    const ours = createTokenizer(m.tokenizer, m.config)!.encode(text, { addBos: false });
    const cpp = await loadLlamaCpp(file, 64);
    try {
      expect(cpp.tokenize(text)).toEqual(ours);
      return String(cpp.metadata['tokenizer.ggml.pre'] ?? cpp.metadata['tokenizer.ggml.model']);
    } finally {
      await cpp.dispose();
    }
  }

  const TEXT = 'the cat sat on the mat and then it was 2024, going to the sea. Is it?';

  it('sentencepiece-style BPE (byte fallback) as "llama"', async () => {
    const files = tinyHfFolder(TINY_MODELS['tiny-f32-mha-tied']!);
    const tj = JSON.parse(new TextDecoder().decode(files['tokenizer.json'])) as Record<
      string,
      unknown
    >;
    const vocab = Object.keys((tj.model as { vocab: object }).vocab).length;
    expect(await sameTokens(tj, vocab, 'the cat sat on the mat, and then it went home.')).toBe(
      'llama',
    );
  }, 120_000);

  it('GPT-2 style byte-level BPE with digits split (SmolLM2) as "gpt2" / smollm', async () => {
    const tj = byteLevelTokenizerJson({
      style: 'gpt2',
      vocabSize: 320,
      specials: [
        { id: 0, content: '<|endoftext|>' },
        { id: 1, content: '<|im_start|>' },
        { id: 2, content: '<|im_end|>' },
      ],
    });
    expect(await sameTokens(tj, 320, TEXT)).toBe('smollm');
  }, 120_000);

  it('Llama 3 style byte-level BPE as "gpt2" / llama-bpe', async () => {
    const tj = byteLevelTokenizerJson({
      style: 'llama3',
      vocabSize: 320,
      specials: [
        { id: 300, content: '<|begin_of_text|>' },
        { id: 301, content: '<|end_of_text|>' },
      ],
    });
    expect(await sameTokens(tj, 320, TEXT)).toBe('llama-bpe');
  }, 120_000);

  it('refuses tokenizers llama.cpp could not reproduce, naming what they are', () => {
    const c = { vocabSize: 4, bosId: 1, eosId: 2 } as never;
    expect(() => tokenizerKvsFromHf({ model: { type: 'Unigram', vocab: [] } }, {}, c)).toThrow(
      /tokenizer model "Unigram" cannot be written as a llama\.cpp vocabulary/,
    );
    expect(() =>
      tokenizerKvsFromHf(
        {
          model: { type: 'BPE', vocab: {}, merges: [] },
          pre_tokenizer: { type: 'Whitespace' },
          decoder: { type: 'ByteLevel' },
        },
        {},
        c,
      ),
    ).toThrow(/byte-level BPE pre-tokenizer \(Whitespace\) is not one llama\.cpp names/);
    expect(() =>
      tokenizerKvsFromHf({ model: { type: 'BPE', vocab: {}, merges: [] } }, {}, c),
    ).toThrow(/neither sentencepiece-style .* nor byte-level/);
    expect(() => tokenizerKvs(null, c)).toThrow(/the model has no tokenizer/);
  });
});
