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
import { tinyLlama11BConfigJson } from '../test/fixtures.ts';
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

  it('accepts Mistral without a sliding window and refuses one with it', () => {
    const mistral = { ...base, architectures: ['MistralForCausalLM'], model_type: 'mistral' };
    expect(parseHfConfig({ ...mistral, sliding_window: null }).architecture).toBe(
      'MistralForCausalLM',
    );
    expect(() => parseHfConfig({ ...mistral, sliding_window: 4096 })).toThrow(
      /sliding-window attention \(sliding_window: 4096\) is not supported/,
    );
  });

  it.each([
    [
      { architectures: ['Qwen2ForCausalLM'], model_type: 'qwen2' },
      /architecture Qwen2ForCausalLM is not supported/,
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
