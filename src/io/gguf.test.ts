import { describe, expect, it } from 'vitest';
import { FormatError } from './errors.ts';
import { malformedFixtures } from '../test/fixtures-malformed.ts';
import { readGguf, readGgufTensorBytes, type GgufTensorInfo } from './gguf.ts';
import {
  ggufDimsToShape,
  ggufToHfName,
  ggufToModelConfig,
  hfToGgufName,
  permuteQK,
  unpermuteQK,
} from './gguf-llama.ts';
import { writeGguf } from './gguf-writer.ts';
import { readSafetensorsHeader, readTensorBytes } from './safetensors.ts';
import { bytesSource } from './source.ts';
import { assetSource, firstDifference } from '../test/assets-node.ts';
import { bytesToF32 } from './dtype.ts';

const bad = malformedFixtures();

describe('GGUF reader', () => {
  it('reads stories260K: metadata, tensor infos and llama config', async () => {
    const src = assetSource('stories260K.gguf');
    const g = await readGguf(src);
    expect(g.version).toBe(3);
    expect(g.alignment).toBe(32);
    expect(g.tensors.length).toBe(48);
    expect(g.metadata['general.architecture']).toBe('llama');
    expect((g.metadata['tokenizer.ggml.tokens'] as string[]).length).toBe(512);
    expect(g.types['tokenizer.ggml.scores']).toEqual({ type: 'array', itemType: 'f32' });
    const q = g.tensors.find((t) => t.name === 'blk.0.attn_k.weight')!;
    expect(q.dims).toEqual([64, 32]);
    expect(q.typeName).toBe('F32');
    expect(q.offset % 32).toBe(0);
    const c = ggufToModelConfig(src.name, g);
    expect(c).toMatchObject({
      architecture: 'LlamaForCausalLM',
      vocabSize: 512,
      hidden: 64,
      intermediate: 172,
      layers: 5,
      heads: 8,
      kvHeads: 4,
      headDim: 8,
      rmsEps: 1e-5,
      ropeTheta: 10000,
      maxPositions: 2048,
      ropeScaling: null,
      tieWordEmbeddings: false,
      bosId: 1,
      eosId: 2,
      torchDtype: 'float32',
    });
  });

  it('stories260K: GGUF tensors equal model.safetensors exactly after unpermuting q/k rows', async () => {
    const gsrc = assetSource('stories260K.gguf');
    const ssrc = assetSource('model.safetensors');
    const g = await readGguf(gsrc);
    const hf = new Map((await readSafetensorsHeader(ssrc)).tensors.map((t) => [t.name, t]));
    let qk = 0;
    for (const info of g.tensors) {
      const name = ggufToHfName(info.name)!;
      const hfName = name === 'lm_head.weight' ? 'model.embed_tokens.weight' : name; // HF ties them
      const ref = hf.get(hfName)!;
      const shape = ggufDimsToShape(info.dims);
      expect(shape, name).toEqual(ref.shape);
      let data = bytesToF32(await readGgufTensorBytes(gsrc, info), 'F32');
      const want = bytesToF32(await readTensorBytes(ssrc, ref), 'F32');
      const heads = name.includes('q_proj') ? 8 : name.includes('k_proj') ? 4 : 0;
      if (heads) {
        // Without the inverse permutation the rows differ: the test can tell the layouts apart.
        expect(firstDifference(data, want)).not.toBe(-1);
        data = unpermuteQK(data, heads, shape[0]!, shape[1]!);
        qk++;
      }
      expect(firstDifference(data, want), name).toBe(-1);
    }
    expect(qk).toBe(10);
  });

  it('permuteQK and unpermuteQK are inverses and match llama.cpp on a tiny example', () => {
    // One head of 4 rows: HF rotate-half rows [r0 r1 | r2 r3] pair (0,2), (1,3); Meta interleaves them.
    const hfRows = new Float32Array([0, 1, 2, 3]);
    expect(Array.from(permuteQK(hfRows, 1, 4, 1))).toEqual([0, 2, 1, 3]);
    const x = Float32Array.from({ length: 8 * 3 }, (_, i) => i);
    expect(unpermuteQK(permuteQK(x, 2, 8, 3), 2, 8, 3)).toEqual(x);
    expect(permuteQK(new Uint16Array(x), 2, 8, 3)).toEqual(new Uint16Array(permuteQK(x, 2, 8, 3)));
  });

  it('maps GGUF names to HF names and back', () => {
    const pairs: [string, string][] = [
      ['token_embd.weight', 'model.embed_tokens.weight'],
      ['blk.3.attn_q.weight', 'model.layers.3.self_attn.q_proj.weight'],
      ['blk.3.attn_k.weight', 'model.layers.3.self_attn.k_proj.weight'],
      ['blk.3.attn_v.weight', 'model.layers.3.self_attn.v_proj.weight'],
      ['blk.3.attn_output.weight', 'model.layers.3.self_attn.o_proj.weight'],
      ['blk.12.ffn_gate.weight', 'model.layers.12.mlp.gate_proj.weight'],
      ['blk.12.ffn_up.weight', 'model.layers.12.mlp.up_proj.weight'],
      ['blk.12.ffn_down.weight', 'model.layers.12.mlp.down_proj.weight'],
      ['blk.0.attn_norm.weight', 'model.layers.0.input_layernorm.weight'],
      ['blk.0.ffn_norm.weight', 'model.layers.0.post_attention_layernorm.weight'],
      ['output_norm.weight', 'model.norm.weight'],
      ['output.weight', 'lm_head.weight'],
    ];
    for (const [g, h] of pairs) {
      expect(ggufToHfName(g)).toBe(h);
      expect(hfToGgufName(h)).toBe(g);
    }
    expect(ggufToHfName('rope_freqs.weight')).toBeNull();
  });

  it('round-trips every metadata value type through the writer (v3, and read as v2)', async () => {
    const file = writeGguf(
      [
        { key: 'a.u8', type: 'u8', value: 200 },
        { key: 'a.i8', type: 'i8', value: -100 },
        { key: 'a.u16', type: 'u16', value: 60000 },
        { key: 'a.i16', type: 'i16', value: -30000 },
        { key: 'a.u32', type: 'u32', value: 4000000000 },
        { key: 'a.i32', type: 'i32', value: -2000000000 },
        { key: 'a.f32', type: 'f32', value: 0.5 },
        { key: 'a.bool', type: 'bool', value: true },
        { key: 'a.str', type: 'string', value: 'héllo ▁' },
        { key: 'a.u64', type: 'u64', value: 2n ** 60n },
        { key: 'a.i64', type: 'i64', value: -5 },
        { key: 'a.f64', type: 'f64', value: Math.PI },
        { key: 'a.arr', type: 'array', itemType: 'string', value: ['x', '', 'zz'] },
        { key: 'a.arr2', type: 'array', itemType: 'i32', value: [1, -2, 3] },
        { key: 'general.alignment', type: 'u32', value: 64 },
      ],
      [
        {
          name: 'w',
          dims: [3, 2],
          type: 0,
          data: new Uint8Array(new Float32Array([1, 2, 3, 4, 5, 6]).buffer),
        },
      ],
      64,
    );
    for (const version of [3, 2]) {
      const bytes = file.slice();
      bytes[4] = version;
      const src = bytesSource('t.gguf', bytes);
      const g = await readGguf(src);
      expect(g.version).toBe(version);
      expect(g.metadata).toEqual({
        'a.u8': 200,
        'a.i8': -100,
        'a.u16': 60000,
        'a.i16': -30000,
        'a.u32': 4000000000,
        'a.i32': -2000000000,
        'a.f32': 0.5,
        'a.bool': true,
        'a.str': 'héllo ▁',
        'a.u64': 2n ** 60n,
        'a.i64': -5,
        'a.f64': Math.PI,
        'a.arr': ['x', '', 'zz'],
        'a.arr2': [1, -2, 3],
        'general.alignment': 64,
      });
      expect(g.alignment).toBe(64);
      expect(g.dataStart % 64).toBe(0);
      const w = g.tensors[0]!;
      expect(bytesToF32(await readGgufTensorBytes(src, w), 'F32')).toEqual(
        new Float32Array([1, 2, 3, 4, 5, 6]),
      );
    }
  });

  async function ggufError(
    name: string,
    read?: (g: GgufTensorInfo[]) => GgufTensorInfo,
  ): Promise<FormatError> {
    const src = bytesSource(name, bad[name]!);
    const err = await readGguf(src)
      .then((g) => readGgufTensorBytes(src, read!(g.tensors)))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FormatError);
    expect((err as FormatError).file).toBe(name);
    return err as FormatError;
  }

  it('bad magic → FormatError', async () => {
    expect((await ggufError('bad-magic.gguf')).message).toMatch(
      /bad magic 0x58554747 \(not a GGUF file\)/,
    );
  });

  it('truncated file → FormatError', async () => {
    expect((await ggufError('truncated.gguf')).message).toMatch(/file is truncated/);
  });

  it('unsupported tensor type (Q2_K) → FormatError naming the tensor, its type and the supported list', async () => {
    const err = await ggufError('q2_k.gguf', (ts) =>
      ts.find((t) => t.name === 'blk.0.attn_q.weight')!,
    );
    expect(err.message).toMatch(
      /tensor "blk\.0\.attn_q\.weight" has ggml type Q2_K, which this reader does not support \(supported: F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q5_K, Q6_K\)/,
    );
  });

  it('refuses other GGUF versions', async () => {
    const bytes = bad['q2_k.gguf']!.slice();
    bytes[4] = 1;
    await expect(readGguf(bytesSource('v1.gguf', bytes))).rejects.toThrow(
      /GGUF version 1 is not supported/,
    );
  });
});
