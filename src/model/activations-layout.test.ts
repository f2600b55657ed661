/**
 * The activation layout (activations.ts): the one description allocateActs / allocateDecode allocate
 * and planTraining sums. GPU tests check plan = allocation to the byte (llama.gpu.test.ts,
 * mlp-blocks, row-local-blocks, row-blocked); these check the description itself.
 */
import { describe, expect, it } from 'vitest';
import { realModelConfig } from '../test/real-shapes.ts';
import { actsLayout, decodeLayout, layoutBuffers } from './activations.ts';
import { defaultLora } from './longlora.ts';
import { planTraining } from './plan.ts';

const s = realModelConfig('tinyllama-1.1b', 'small');
const lora = defaultLora();
const T = 96;
const opts = { withGrad: true, checkpointing: true, checkpoint16: false, mlpTokens: 64 };
const sum = (layout: object, category: string) =>
  layoutBuffers(layout)
    .filter((b) => b.category === category)
    .reduce((a, b) => a + b.bytes, 0);

describe('actsLayout', () => {
  it("marks each layer input kept for the backward as that layer's checkpoint", () => {
    const f32 = actsLayout(s, lora, T, opts);
    expect(f32.h.map((b) => b.checkpointOf)).toEqual([
      ...Array.from({ length: s.layers }, (_, l) => l),
      undefined,
    ]);
    const half = actsLayout(s, lora, T, { ...opts, checkpoint16: true });
    expect(half.h.map((b) => b.checkpointOf)).toEqual([undefined, undefined]);
    expect(half.ckpt16!.map((b) => [b.checkpointOf, b.dtype, b.bytes])).toEqual(
      Array.from({ length: s.layers }, (_, l) => [l, 'f16', T * s.hidden * 2]),
    );
    // Evaluation keeps nothing for a backward; without checkpointing every layer set is kept.
    const evaluation = actsLayout(s, lora, T, { ...opts, withGrad: false, checkpoint16: true });
    expect(evaluation.grad).toBeNull();
    expect(evaluation.ckpt16).toBeNull();
    expect(layoutBuffers(evaluation).filter((b) => b.checkpointOf !== undefined)).toEqual([]);
    expect(actsLayout(s, lora, T, { ...opts, checkpointing: false }).layers).toHaveLength(s.layers);
  });

  it('is what the plan sums: activations to the byte', () => {
    for (const checkpoint16 of [false, true]) {
      const layout = actsLayout(s, lora, T, { ...opts, checkpoint16, mlpTokens: T });
      const plan = planTraining({
        shape: s,
        weightBytes: 2,
        lora,
        context: T,
        checkpointing: true,
        checkpoint16,
      });
      expect(plan.bytes.activations).toBe(sum(layout, 'activations'));
      expect(plan.bytes.workspace).toBeGreaterThan(sum(layout, 'workspace'));
    }
  });
});

describe('decodeLayout', () => {
  it('shares the norms output, rstd and x·Aᵀ, and keeps everything in workspace', () => {
    const d = decodeLayout(s, lora, T, 64);
    const la = d.layers[0]!;
    expect(la.xn1).toBe(la.xn2);
    expect(d.hn).toBe(la.xn1);
    expect(d.rstdF).toBe(la.rstd1);
    expect(new Set(Object.values(la.xa)).size).toBe(1);
    const all = layoutBuffers(d);
    expect(all.every((b) => b.category === 'workspace')).toBe(true);
    // xn, rstd, x·Aᵀ, q, k, v, attn, lse, hMid, gate, up, act, ids, h, last, logits.
    expect(all).toHaveLength(16);
  });
});
