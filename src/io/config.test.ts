import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  checkWeightsAgainstConfig,
  expectedTensors,
  modelConfigToHfJson,
  parseHfConfig,
  ropeScalingToHfJson,
} from './config.ts';
import { FormatError, UnsupportedModelError } from './errors.ts';
import { malformedFixtures } from '../test/fixtures-malformed.ts';
import {
  qwen25_05BConfigJson,
  qwen3_06BConfigJson,
  tinyLlama11BConfigJson,
} from '../test/fixtures.ts';
import { ropeFactor, ropeProblem } from '../model/longlora.ts';
import { readSafetensorsHeader } from './safetensors.ts';
import { bytesSource } from './source.ts';
import { assetPath, assetSource } from '../test/assets-node.ts';

const stories = JSON.parse(readFileSync(assetPath('config.json'), 'utf8')) as Record<
  string,
  unknown
>;
const base = tinyLlama11BConfigJson();

describe('parseHfConfig', () => {
  it('normalizes the stories260K config', () => {
    expect(parseHfConfig(stories)).toEqual({
      architecture: 'LlamaForCausalLM',
      biases: [],
      qkNorm: false,
      slidingWindow: null,
      vocabSize: 512,
      hidden: 64,
      intermediate: 172,
      layers: 5,
      heads: 8,
      kvHeads: 4,
      headDim: 8,
      rmsEps: 1e-5,
      ropeTheta: 10000,
      maxPositions: 512,
      ropeScaling: null,
      tieWordEmbeddings: true,
      bosId: 1,
      eosId: 2,
      eosIds: [2],
      torchDtype: 'float32',
    });
  });

  it('reads TinyLlama-1.1B (GQA 32/4, untied)', () => {
    const c = parseHfConfig(base);
    expect(c).toMatchObject({
      hidden: 2048,
      layers: 22,
      heads: 32,
      kvHeads: 4,
      headDim: 64,
      intermediate: 5632,
    });
    expect(c.tieWordEmbeddings).toBe(false);
    const params = [...expectedTensors(c).values()].reduce(
      (n, s) => n + s.reduce((a, b) => a * b, 1),
      0,
    );
    expect(params).toBe(1_100_048_384);
  });

  it('reads Llama 3.2 (llama3 rope scaling, several eos ids, explicit head_dim) and SmolLM (tied)', () => {
    const llama32 = parseHfConfig({
      ...base,
      rope_theta: 500000,
      head_dim: 64,
      tie_word_embeddings: true,
      bos_token_id: 128000,
      eos_token_id: [128001, 128008, 128009],
      rope_scaling: {
        factor: 32.0,
        high_freq_factor: 4.0,
        low_freq_factor: 1.0,
        original_max_position_embeddings: 8192,
        rope_type: 'llama3',
      },
    });
    expect(llama32.ropeScaling).toEqual({
      type: 'llama3',
      factor: 32,
      lowFreqFactor: 1,
      highFreqFactor: 4,
      originalMaxPositions: 8192,
    });
    expect(llama32.eosId).toBe(128001);
    expect(llama32.eosIds).toEqual([128001, 128008, 128009]);
    const smol = parseHfConfig({
      ...base,
      num_key_value_heads: 3,
      num_attention_heads: 9,
      hidden_size: 576,
      tie_word_embeddings: true,
    });
    expect(smol).toMatchObject({ headDim: 64, tieWordEmbeddings: true });
    expect(
      parseHfConfig({ ...base, rope_scaling: { type: 'linear', factor: 4 } }).ropeScaling,
    ).toEqual({
      type: 'linear',
      factor: 4,
    });
  });

  it('parses dynamic NTK scaling (training refuses it later) and round-trips every rope type', () => {
    const dynamic = parseHfConfig({ ...base, rope_scaling: { type: 'dynamic', factor: 2 } });
    expect(dynamic.ropeScaling).toEqual({ type: 'dynamic', factor: 2 });
    expect(parseHfConfig({ ...base, rope_scaling: { rope_type: 'default' } }).ropeScaling).toBe(
      null,
    );
    for (const rope_scaling of [
      null,
      { type: 'linear', factor: 4 },
      { type: 'dynamic', factor: 2 },
      {
        rope_type: 'llama3',
        factor: 32,
        low_freq_factor: 1,
        high_freq_factor: 4,
        original_max_position_embeddings: 8192,
      },
    ]) {
      const c = parseHfConfig({ ...base, rope_scaling });
      expect(ropeScalingToHfJson(c.ropeScaling)).toEqual(rope_scaling);
      expect(parseHfConfig(modelConfigToHfJson(c)).ropeScaling).toEqual(c.ropeScaling);
    }
  });

  it('Mistral: a sliding window shorter than the target context is refused with the reason; null or longer is accepted', () => {
    const mistral = { ...base, architectures: ['MistralForCausalLM'], model_type: 'mistral' };
    const none = parseHfConfig({ ...mistral, sliding_window: null });
    expect(none).toMatchObject({ architecture: 'MistralForCausalLM', slidingWindow: null });
    expect(ropeProblem(8192, none)).toBeNull();
    const windowed = parseHfConfig({ ...mistral, sliding_window: 4096 });
    expect(windowed.slidingWindow).toBe(4096);
    expect(ropeProblem(4096, windowed)).toBeNull();
    expect(ropeProblem(8192, windowed)).toMatch(
      /sliding window of 4096 tokens \(config.json sliding_window\), shorter than the target context of 8192: LongLoRA trains full-span attention/,
    );
    expect(() => ropeFactor(8192, windowed)).toThrow(/sliding window of 4096 tokens/);
    // A window switched off by use_sliding_window: false is none.
    expect(
      parseHfConfig({ ...mistral, sliding_window: 4096, use_sliding_window: false }).slidingWindow,
    ).toBeNull();
    expect(modelConfigToHfJson(windowed)).toMatchObject({
      model_type: 'mistral',
      sliding_window: 4096,
    });
  });

  it('reads Qwen2.5-0.5B (q/k/v biases, tied, sliding window off) and plans its tensors', () => {
    const c = parseHfConfig(qwen25_05BConfigJson());
    expect(c).toMatchObject({
      architecture: 'Qwen2ForCausalLM',
      biases: ['q_proj', 'k_proj', 'v_proj'],
      qkNorm: false,
      slidingWindow: null,
      hidden: 896,
      layers: 24,
      heads: 14,
      kvHeads: 2,
      headDim: 64,
      intermediate: 4864,
      vocabSize: 151936,
      tieWordEmbeddings: true,
      ropeTheta: 1000000,
      maxPositions: 32768,
      rmsEps: 1e-6,
    });
    const t = expectedTensors(c);
    expect(t.get('model.layers.0.self_attn.q_proj.bias')).toEqual([896]);
    expect(t.get('model.layers.23.self_attn.k_proj.bias')).toEqual([128]);
    expect(t.has('model.layers.0.self_attn.o_proj.bias')).toBe(false);
    // 494,032,768 parameters, as the published checkpoint holds.
    const params = [...t.values()].reduce((n, s) => n + s.reduce((a, b) => a * b, 1), 0);
    expect(params).toBe(494_032_768);
    const json = modelConfigToHfJson(c);
    expect(json).toMatchObject({
      architectures: ['Qwen2ForCausalLM'],
      model_type: 'qwen2',
      use_sliding_window: false,
    });
    expect(parseHfConfig(json)).toEqual(c);
  });

  it('reads Qwen3-0.6B (per-head q/k norms, head_dim 128 ≠ 1024 / 16) and plans its tensors', () => {
    const c = parseHfConfig(qwen3_06BConfigJson());
    expect(c).toMatchObject({
      architecture: 'Qwen3ForCausalLM',
      biases: [],
      qkNorm: true,
      hidden: 1024,
      layers: 28,
      heads: 16,
      kvHeads: 8,
      headDim: 128,
      intermediate: 3072,
      vocabSize: 151936,
      tieWordEmbeddings: true,
      ropeTheta: 1000000,
      maxPositions: 40960,
    });
    const t = expectedTensors(c);
    expect(t.get('model.layers.0.self_attn.q_proj.weight')).toEqual([2048, 1024]);
    expect(t.get('model.layers.0.self_attn.o_proj.weight')).toEqual([1024, 2048]);
    expect(t.get('model.layers.27.self_attn.q_norm.weight')).toEqual([128]);
    expect(t.get('model.layers.27.self_attn.k_norm.weight')).toEqual([128]);
    // 596,049,920 parameters, as the published checkpoint holds.
    const params = [...t.values()].reduce((n, s) => n + s.reduce((a, b) => a * b, 1), 0);
    expect(params).toBe(596_049_920);
    const json = modelConfigToHfJson(c);
    expect(json).toMatchObject({ model_type: 'qwen3', head_dim: 128, use_sliding_window: false });
    expect(parseHfConfig(json)).toEqual(c);
  });

  it('refuses a Qwen sliding window that is on, with the reason', () => {
    expect(() => parseHfConfig({ ...qwen25_05BConfigJson(), use_sliding_window: true })).toThrow(
      /sliding-window attention \(use_sliding_window: true, sliding_window: 32768\) is not supported: LongLoRA trains full-span attention/,
    );
  });

  it('refuses a bias the architecture has not, and checks a Qwen2 bias shape', () => {
    const llama = parseHfConfig(stories);
    const tensors = [...expectedTensors(llama)].map(([name, shape]) => ({ name, shape }));
    expect(() =>
      checkWeightsAgainstConfig(llama, [
        ...tensors,
        { name: 'model.layers.0.self_attn.q_proj.bias', shape: [64] },
      ]),
    ).toThrow(
      /attention bias \(model.layers.0.self_attn.q_proj.bias\) is not supported for LlamaForCausalLM/,
    );
    const qwen = parseHfConfig(qwen25_05BConfigJson());
    const qt = [...expectedTensors(qwen)].map(([name, shape]) => ({ name, shape }));
    const wrong = qt.map((t) =>
      t.name === 'model.layers.3.self_attn.v_proj.bias' ? { ...t, shape: [64] } : t,
    );
    expect(() => checkWeightsAgainstConfig(qwen, wrong)).toThrow(
      /tensor model.layers.3.self_attn.v_proj.bias has shape \[64\] but the config expects \[128\]/,
    );
    expect(() =>
      checkWeightsAgainstConfig(
        qwen,
        qt.filter((t) => t.name !== 'model.layers.5.self_attn.q_proj.bias'),
      ),
    ).toThrow(/missing tensors: model.layers.5.self_attn.q_proj.bias/);
  });

  it.each([
    [
      { architectures: ['GPTNeoXForCausalLM'], model_type: 'gpt_neox' },
      /architecture GPTNeoXForCausalLM is not supported \(supported: LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM, Qwen3ForCausalLM\)/,
    ],
    [{ architectures: ['MixtralForCausalLM'] }, /architecture MixtralForCausalLM is not supported/],
    [{ num_local_experts: 8 }, /mixture-of-experts \(num_local_experts: 8\)/],
    [{ attention_bias: true }, /attention bias \(attention_bias: true\) is not supported/],
    [{ mlp_bias: true }, /MLP bias/],
    [{ hidden_act: 'gelu' }, /activation "gelu" is not supported/],
    [
      { rope_scaling: { rope_type: 'yarn', factor: 4 } },
      /rope_scaling type "yarn" is not supported \(only linear, llama3 and dynamic\)/,
    ],
  ])('refuses unsupported models clearly (%#)', (patch, message) => {
    const err = (() => {
      try {
        parseHfConfig({ ...base, ...patch });
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(UnsupportedModelError);
    expect(String(err)).toMatch(message);
  });

  it('reports malformed configs', () => {
    expect(() => parseHfConfig('{"hidden_size": ')).toThrow(FormatError);
    expect(() => parseHfConfig({ ...base, hidden_size: undefined })).toThrow(
      /"hidden_size" must be a positive integer/,
    );
    expect(() => parseHfConfig({ ...base, num_key_value_heads: 5 })).toThrow(
      /not a multiple of num_key_value_heads 5/,
    );
  });
});

describe('checkWeightsAgainstConfig', () => {
  it('accepts stories260K (tied: no lm_head expected)', async () => {
    const h = await readSafetensorsHeader(assetSource('model.safetensors'));
    expect(checkWeightsAgainstConfig(parseHfConfig(stories), h.tensors)).toEqual({
      unexpected: [],
    });
  });

  it('names the wrong shape (expected vs found) and lists missing tensors', async () => {
    const files = malformedFixtures();
    const cfg = parseHfConfig(new TextDecoder().decode(files['config-mismatch/config.json']));
    const h = await readSafetensorsHeader(
      bytesSource('model.safetensors', files['config-mismatch/model.safetensors']!),
    );
    const err = (() => {
      try {
        checkWeightsAgainstConfig(cfg, h.tensors, 'model.safetensors');
      } catch (e) {
        return e as FormatError;
      }
    })();
    expect(err).toBeInstanceOf(FormatError);
    expect(err!.file).toBe('model.safetensors');
    expect(err!.message).toMatch(
      /tensor model\.layers\.1\.self_attn\.k_proj\.weight has shape \[16, 16\] but the config expects \[8, 16\]/,
    );
    expect(err!.message).toMatch(
      /missing tensors: model\.layers\.0\.post_attention_layernorm\.weight/,
    );
  });

  it('lists unexpected tensors and refuses attention bias', () => {
    const c = parseHfConfig(stories);
    const ok = [...expectedTensors(c)].map(([name, shape]) => ({ name, shape }));
    expect(
      checkWeightsAgainstConfig(c, [...ok, { name: 'extra.weight', shape: [1] }]).unexpected,
    ).toEqual(['extra.weight']);
    expect(() =>
      checkWeightsAgainstConfig(c, [
        ...ok,
        { name: 'model.layers.0.self_attn.q_proj.bias', shape: [64] },
      ]),
    ).toThrow(/attention bias \(model\.layers\.0\.self_attn\.q_proj\.bias\) is not supported/);
  });
});
