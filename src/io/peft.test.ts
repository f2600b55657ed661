import { describe, expect, it } from 'vitest';
import { Rng } from '../util/rng.ts';
import { linearShape, parseHfConfig, type LinearName } from './config.ts';
import { tinyConfigJson, TINY_LLAMA3_ROPE, TINY_MODELS } from '../test/fixtures.ts';
import { exportedRopeScaling, ropeFactor } from '../model/longlora.ts';
import {
  buildAdapterFiles,
  readAdapter,
  unzipFiles,
  zipFiles,
  type AdapterArgs,
  type LoraWeights,
} from './peft.ts';
import { readSafetensorsHeader } from './safetensors.ts';
import { bytesSource } from './source.ts';

/**
 * Adapter pieces for a tiny model trained at `context` (256: ×4 its 64 positions), with the
 * rope_scaling the rule in src/model/longlora.ts picks, as the trainer's export does.
 */
function args(
  ropeScaling?: Record<string, unknown> | null,
  context = 256,
): AdapterArgs & { ropeScaling: Record<string, unknown> | null } {
  const configJson = tinyConfigJson({ ...TINY_MODELS['tiny-f32-gqa']!, ropeScaling });
  const config = parseHfConfig(configJson);
  const factor = ropeFactor(context, config);
  const rng = new Rng(7);
  const r = 4;
  const targets: LinearName[] = ['q_proj', 'k_proj', 'v_proj', 'o_proj'];
  const lora: LoraWeights[] = [];
  for (let layer = 0; layer < config.layers; layer++) {
    for (const module of targets) {
      const [out, inp] = linearShape(config, module);
      lora.push({ layer, module, A: rng.floats(r * inp), B: rng.floats(out * r) });
    }
  }
  const trained = [
    {
      name: 'model.embed_tokens.weight',
      shape: [config.vocabSize, config.hidden],
      data: rng.floats(config.vocabSize * config.hidden),
    },
    { name: 'model.norm.weight', shape: [config.hidden], data: rng.floats(config.hidden) },
  ];
  for (let i = 0; i < config.layers; i++) {
    for (const n of ['input_layernorm', 'post_attention_layernorm']) {
      trained.push({
        name: `model.layers.${i}.${n}.weight`,
        shape: [config.hidden],
        data: rng.floats(config.hidden),
      });
    }
  }
  return {
    config,
    baseModel: 'org/tiny-llama',
    r,
    alpha: 8,
    targets,
    lora,
    trained,
    ropeFactor: factor,
    ropeScaling: exportedRopeScaling(config, factor, configJson),
    baseConfigJson: configJson,
    contextLength: context,
  };
}

const modelConfigOf = (files: Record<string, Uint8Array>) =>
  JSON.parse(text(files['config.json'])) as Record<string, unknown>;

const text = (b: Uint8Array | undefined): string => new TextDecoder().decode(b);

describe('PEFT adapter export', () => {
  it('writes every file in the PEFT / LongLoRA format', async () => {
    const a = args();
    const files = buildAdapterFiles(a);
    expect(Object.keys(files).sort()).toEqual([
      'README.md',
      'adapter_config.json',
      'adapter_model.safetensors',
      'config.json',
      'trainable_params.bin',
      'trainable_params.safetensors',
    ]);
    const cfg = JSON.parse(text(files['adapter_config.json'])) as Record<string, unknown>;
    expect(cfg).toMatchObject({
      peft_type: 'LORA',
      task_type: 'CAUSAL_LM',
      r: 4,
      lora_alpha: 8,
      lora_dropout: 0,
      target_modules: ['q_proj', 'k_proj', 'v_proj', 'o_proj'],
      bias: 'none',
      fan_in_fan_out: false,
      inference_mode: true,
      base_model_name_or_path: 'org/tiny-llama',
      modules_to_save: ['embed_tokens', 'norm'],
    });

    const model = JSON.parse(text(files['config.json'])) as Record<string, unknown>;
    expect(model.rope_scaling).toEqual({ type: 'linear', factor: 4 });
    expect(model.max_position_embeddings).toBe(64);
    expect(parseHfConfig(model).ropeScaling).toEqual({ type: 'linear', factor: 4 });

    const adapter = await readSafetensorsHeader(
      bytesSource('adapter_model.safetensors', files['adapter_model.safetensors']!),
    );
    const shapes = Object.fromEntries(adapter.tensors.map((t) => [t.name, t.shape]));
    expect(adapter.tensors.every((t) => t.dtype === 'F32')).toBe(true);
    expect(adapter.metadata).toEqual({ format: 'pt' });
    const p = 'base_model.model.model.layers';
    expect(shapes[`${p}.0.self_attn.q_proj.lora_A.weight`]).toEqual([4, 16]);
    expect(shapes[`${p}.0.self_attn.q_proj.lora_B.weight`]).toEqual([16, 4]);
    expect(shapes[`${p}.1.self_attn.k_proj.lora_A.weight`]).toEqual([4, 16]);
    expect(shapes[`${p}.1.self_attn.k_proj.lora_B.weight`]).toEqual([8, 4]);
    expect(shapes[`${p}.1.self_attn.o_proj.lora_B.weight`]).toEqual([16, 4]);
    expect(shapes['base_model.model.model.embed_tokens.weight']).toEqual([a.config.vocabSize, 16]);
    expect(shapes['base_model.model.model.norm.weight']).toEqual([16]);
    expect(shapes[`${p}.1.post_attention_layernorm.weight`]).toEqual([16]);
    expect(adapter.tensors.length).toBe(2 * 4 * 2 + 2 + 4);

    const trainable = await readSafetensorsHeader(
      bytesSource('trainable_params.safetensors', files['trainable_params.safetensors']!),
    );
    expect(trainable.tensors.map((t) => t.name).sort()).toEqual(
      a.trained.map((t) => t.name).sort(),
    );
    expect(trainable.tensors.find((t) => t.name === 'model.embed_tokens.weight')?.shape).toEqual([
      a.config.vocabSize,
      16,
    ]);

    const readme = text(files['README.md']);
    expect(readme).toMatch(/PeftModel\.from_pretrained\(model, "\.\/adapter"\)/);
    expect(readme).toMatch(/merge_lora_weights_and_save_hf_model\.py --base_model org\/tiny-llama/);
    expect(readme).toMatch(/--model_max_length 256/);
  });

  it('reads back exactly what it wrote, also through a zip', async () => {
    const a = args();
    const zip = zipFiles(buildAdapterFiles(a));
    expect(String.fromCharCode(zip[0]!, zip[1]!)).toBe('PK');
    const back = await readAdapter(unzipFiles(zip));
    expect([back.baseModel, back.r, back.alpha, back.targets, back.ropeFactor]).toEqual([
      'org/tiny-llama',
      4,
      8,
      a.targets,
      4,
    ]);
    expect(back.modulesToSave).toEqual(['embed_tokens', 'norm']);
    const key = (l: { layer: number; module: string }) => `${l.layer}.${l.module}`;
    const got = new Map(back.lora.map((l) => [key(l), l]));
    expect(got.size).toBe(a.lora.length);
    for (const l of a.lora) {
      expect(got.get(key(l))!.A).toEqual(l.A);
      expect(got.get(key(l))!.B).toEqual(l.B);
    }
    const trained = new Map(back.trained.map((t) => [t.name, t]));
    for (const t of a.trained) {
      expect(trained.get(t.name)?.shape).toEqual(t.shape);
      expect(trained.get(t.name)?.data).toEqual(t.data);
    }
  });

  it("a llama3 model's config.json carries its rope_scaling unchanged within range", async () => {
    const a = args(TINY_LLAMA3_ROPE, 64);
    expect(a.ropeFactor).toBe(1);
    const files = buildAdapterFiles(a);
    const model = modelConfigOf(files);
    expect(model.rope_scaling).toEqual(TINY_LLAMA3_ROPE);
    expect(model.max_position_embeddings).toBe(64);
    expect(parseHfConfig(model).ropeScaling).toEqual(a.config.ropeScaling);
    expect(text(files['README.md'])).toMatch(
      /own llama3 RoPE scaling, unchanged \(no position interpolation\)/,
    );
    // Read back, it means "no position interpolation", not llama3's own factor 4.
    expect((await readAdapter(files)).ropeFactor).toBe(1);
    // Beyond max_position_embeddings training is refused before anything is exported.
    expect(() => args(TINY_LLAMA3_ROPE, 128)).toThrow(/exceed this model's max_position/);
  });

  it('a linear model keeps its factor within range and gets ceil(context / 64) beyond', async () => {
    const linear = { type: 'linear', factor: 2.0 };
    const within = args(linear, 64);
    expect(modelConfigOf(buildAdapterFiles(within)).rope_scaling).toEqual(linear);
    expect((await readAdapter(buildAdapterFiles(within))).ropeFactor).toBe(2);
    const beyond = args(linear, 320);
    expect(beyond.ropeFactor).toBe(5);
    const model = modelConfigOf(buildAdapterFiles(beyond));
    expect(model.rope_scaling).toEqual({ type: 'linear', factor: 5 });
    expect(parseHfConfig(model).ropeScaling).toEqual({ type: 'linear', factor: 5 });
    expect((await readAdapter(buildAdapterFiles(beyond))).ropeFactor).toBe(5);
  });

  it('an unscaled model trained within range exports rope_scaling null, read back as ×1', async () => {
    for (const base of [undefined, null]) {
      const a = args(base, 64);
      const files = buildAdapterFiles(a);
      expect(modelConfigOf(files).rope_scaling).toBeNull();
      expect(text(files['README.md'])).toMatch(/plain RoPE \(no position interpolation\)/);
      expect((await readAdapter(files)).ropeFactor).toBe(1);
    }
    // Without a config.json nothing is known about the positions.
    const { 'config.json': _, ...noConfig } = buildAdapterFiles(args());
    expect((await readAdapter(noConfig)).ropeFactor).toBeNull();
  });

  it('checks LoRA shapes against the config', () => {
    const a = args();
    a.lora[0] = { ...a.lora[0]!, A: new Float32Array(3) };
    expect(() => buildAdapterFiles(a)).toThrow(
      /layer 0 q_proj: A must be \[4, 16\] and B \[16, 4\]/,
    );
  });
});
