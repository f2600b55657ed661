import { describe, expect, it } from 'vitest';
import {
  attentionProblem,
  BASE_ONLY,
  DEFAULT_LORA,
  defaultLora,
  defaultTargetContext,
  groupSize,
  nearestS2Context,
  ropeFactor,
} from './longlora.ts';

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

  it('defaults: r 8, alpha 16 on q,k,v,o with embed + norms; 4× the native context', () => {
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
    expect(defaultTargetContext({ maxPositions: 2048 })).toBe(8192);
  });
});
