import { describe, expect, it } from 'vitest';
import {
  attentionProblem,
  BASE_ONLY,
  DEFAULT_LORA,
  defaultLora,
  defaultTargetContext,
  exportedRopeScaling,
  groupSize,
  nearestS2Context,
  ropeFactor,
  ropeProblem,
} from './longlora.ts';
import { parseHfConfig, type RopeScaling } from '../io/config.ts';
import { UnsupportedModelError } from '../io/errors.ts';
import { SettingsError } from '../util/errors.ts';
import { tinyConfigJson, TINY_LLAMA3_ROPE, TINY_MODELS } from '../test/fixtures.ts';

/** Llama 3.2's rope_scaling, parsed. */
const LLAMA32_ROPE: RopeScaling = {
  type: 'llama3',
  factor: 32,
  lowFreqFactor: 1,
  highFreqFactor: 4,
  originalMaxPositions: 8192,
};
const llama32 = { maxPositions: 131072, ropeScaling: LLAMA32_ROPE };

describe('LongLoRA rules', () => {
  it('S²-Attn groups are a quarter of the context; full attention sees the whole context', () => {
    expect(groupSize(2048, 's2')).toBe(512);
    expect(groupSize(2048, 's2roll')).toBe(512);
    expect(groupSize(2048, 'full')).toBe(2048);
  });

  it('position interpolation: ceil(target / max_position_embeddings) beyond the native context', () => {
    const plain = { maxPositions: 512, ropeScaling: null };
    expect(ropeFactor(2048, plain)).toBe(4);
    expect(ropeFactor(1500, plain)).toBe(3);
    expect(ropeFactor(512, plain)).toBe(1);
    expect(ropeFactor(256, plain)).toBe(1);
  });

  it('keeps a linear factor the model already has and never stacks within its range', () => {
    const scaled = { maxPositions: 2048, ropeScaling: { type: 'linear' as const, factor: 2 } };
    // The form once said ×1 here while the trainer used ×2: one rule now answers both.
    expect(ropeFactor(2048, scaled)).toBe(2);
    expect(ropeFactor(4096, scaled)).toBe(2);
    expect(ropeFactor(8192, scaled)).toBe(4);
  });

  it('llama3: its own frequencies and no linear factor within max_position_embeddings', () => {
    expect(ropeFactor(8192, llama32)).toBe(1);
    expect(ropeFactor(131072, llama32)).toBe(1);
    expect(ropeProblem(131072, llama32)).toBeNull();
  });

  it('llama3: training beyond max_position_embeddings is refused, saying why', () => {
    const why = ropeProblem(131080, llama32);
    expect(why).toMatch(/131080 tokens exceed this model's max_position_embeddings \(131072\)/);
    expect(why).toMatch(/rope_scaling\.rope_type "llama3"/);
    expect(why).toMatch(/no Hugging Face rope_scaling equivalent/);
    expect(why).toMatch(/at most 131072 tokens/);
    expect(() => ropeFactor(262144, llama32)).toThrow(SettingsError);
    expect(() => ropeFactor(262144, llama32, 'train')).toThrow(/exceed/);
    // Evaluation and generation may still go beyond: linear PI on top of the llama3 frequencies.
    expect(ropeProblem(262144, llama32, 'inference')).toBeNull();
    expect(ropeFactor(262144, llama32, 'inference')).toBe(2);
    expect(ropeFactor(300000, llama32, 'inference')).toBe(3);
  });

  it('dynamic NTK parses but is refused for training and planning, naming the field', () => {
    const dynamic = { maxPositions: 2048, ropeScaling: { type: 'dynamic' as const, factor: 2 } };
    for (const context of [1024, 2048, 8192]) {
      expect(() => ropeFactor(context, dynamic)).toThrow(UnsupportedModelError);
      expect(ropeProblem(context, dynamic)).toMatch(
        /rope_scaling\.type "dynamic" \(dynamic NTK scaling\) cannot be trained with LongLoRA/,
      );
    }
    // Within max_position_embeddings Hugging Face's dynamic scaling leaves RoPE as it is.
    expect(ropeFactor(2048, dynamic, 'inference')).toBe(1);
    expect(() => ropeFactor(4096, dynamic, 'inference')).toThrow(
      /reproduced only up to max_position_embeddings \(2048 tokens\)/,
    );
  });

  it("exported rope_scaling: the model's own entry unchanged at its own factor, else linear", () => {
    // No scaling: null within range, linear F beyond (the official scripts' form).
    expect(exportedRopeScaling({ ropeScaling: null }, 1)).toBeNull();
    expect(exportedRopeScaling({ ropeScaling: null }, 4)).toEqual({ type: 'linear', factor: 4 });
    // Linear: its factor stays (verbatim from the base config.json when given), a larger one replaces it.
    const linear = { ropeScaling: { type: 'linear' as const, factor: 2 } };
    const base = { rope_scaling: { rope_type: 'linear', type: 'linear', factor: 2.0 } };
    expect(exportedRopeScaling(linear, 2, base)).toBe(base.rope_scaling);
    expect(exportedRopeScaling(linear, 2)).toEqual({ type: 'linear', factor: 2 });
    expect(exportedRopeScaling(linear, 4, base)).toEqual({ type: 'linear', factor: 4 });
    // llama3: carried unchanged; nothing expresses llama3 + linear.
    const llama3Json = {
      factor: 32.0,
      high_freq_factor: 4.0,
      low_freq_factor: 1.0,
      original_max_position_embeddings: 8192,
      rope_type: 'llama3',
    };
    const l3 = { ropeScaling: LLAMA32_ROPE };
    expect(exportedRopeScaling(l3, 1, { rope_scaling: llama3Json })).toBe(llama3Json);
    expect(exportedRopeScaling(l3, 1)).toEqual(llama3Json);
    expect(exportedRopeScaling(l3, null)).toEqual(llama3Json);
    expect(() => exportedRopeScaling(l3, 2)).toThrow(/×2 on top of rope_scaling type "llama3"/);
    // The rule as a whole, for the factor the trainer picks at each context.
    for (const context of [1024, 65536, 131072]) {
      expect(exportedRopeScaling(l3, ropeFactor(context, llama32))).toEqual(llama3Json);
    }
    const plain = { maxPositions: 512, ropeScaling: null };
    expect(exportedRopeScaling(plain, ropeFactor(2048, plain))).toEqual({
      type: 'linear',
      factor: 4,
    });
  });

  it('default target context: 4 × native, within max_position_embeddings for llama3', () => {
    expect(defaultTargetContext({ maxPositions: 2048 })).toBe(8192);
    expect(defaultTargetContext({ maxPositions: 2048, ropeScaling: null })).toBe(8192);
    expect(
      defaultTargetContext({ maxPositions: 4096, ropeScaling: { type: 'linear', factor: 2 } }),
    ).toBe(16384);
    // Llama 3.2: 4 × 8192 (original_max_position_embeddings), not 4 × 131072.
    expect(defaultTargetContext(llama32)).toBe(32768);
    expect(ropeProblem(defaultTargetContext(llama32), llama32)).toBeNull();
    // A llama3 model whose max_position_embeddings is below 4 × original: capped there.
    const tight = { maxPositions: 16384, ropeScaling: { ...LLAMA32_ROPE, factor: 2 } };
    expect(defaultTargetContext(tight)).toBe(16384);
    // The tiny llama3 fixture: original 16, max_position_embeddings 64 → 64, trainable as is.
    const tiny = parseHfConfig(
      tinyConfigJson({ ...TINY_MODELS['tiny-f32-gqa']!, ropeScaling: TINY_LLAMA3_ROPE }),
    );
    expect(defaultTargetContext(tiny)).toBe(64);
    expect(ropeFactor(defaultTargetContext(tiny), tiny)).toBe(1);
  });

  it('says why a pattern cannot run, and accepts any head count', () => {
    expect(attentionProblem(1024, 's2', 256)).toBeNull();
    expect(attentionProblem(1000, 'full', 1000)).toBeNull();
    expect(attentionProblem(1000, 's2', 250)).toBeNull();
    expect(attentionProblem(1000, 's2', 125)).toMatch(/even group size/);
    expect(attentionProblem(1024, 's2roll', 384)).toMatch(/multiple of the group size \(384\)/);
    expect(attentionProblem(1, 'full', 1)).toMatch(/at least 2 tokens/);
    expect(attentionProblem(1001, 's2', 1001 / 4)).toMatch(/context divisible by 8/);
    expect(attentionProblem(1020, 's2', 1020 / 4)).toMatch(/context divisible by 8/);
    expect(nearestS2Context(1000)).toBe(1000);
    expect(nearestS2Context(1003)).toBe(1000);
    expect(nearestS2Context(3)).toBe(8);
    expect(attentionProblem(nearestS2Context(1003), 's2', groupSize(1000, 's2'))).toBeNull();
  });

  it('defaults: r 8, alpha 16 on q,k,v,o with embed + norms', () => {
    const l = defaultLora();
    expect(l).toEqual({
      rank: 8,
      alpha: 16,
      targets: ['q_proj', 'k_proj', 'v_proj', 'o_proj'],
      trainEmbed: true,
      trainNorm: true,
    });
    l.targets.push('up_proj');
    expect(DEFAULT_LORA.targets).toHaveLength(4);
    expect(Object.isFrozen(DEFAULT_LORA)).toBe(true);
    expect(BASE_ONLY.targets).toHaveLength(0);
  });
});
