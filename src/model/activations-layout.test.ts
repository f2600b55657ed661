/**
 * The activation layout (activations.ts): the one description allocateActs / allocateDecode allocate
 * and planTraining sums. GPU tests check plan = allocation to the byte (llama.gpu.test.ts,
 * mlp-blocks, row-local-blocks, row-blocked); these check the description itself.
 */
import { describe, expect, it } from 'vitest';
import { realModelConfig } from '../test/real-shapes.ts';
import {
  actsLayout,
  decodeLayout,
  layoutBuffers,
  layoutHostBuffers,
  OFFLOAD_STAGING_BUFFERS,
} from './activations.ts';
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
    // 16-bit checkpoints: one f32 residual buffer, updated in place by every layer.
    expect(half.h.map((b) => b.checkpointOf)).toEqual([undefined]);
    expect(half.ckpt16!.map((b) => [b.checkpointOf, b.dtype, b.bytes])).toEqual(
      Array.from({ length: s.layers }, (_, l) => [l, 'f16', T * s.hidden * 2]),
    );
    // Evaluation keeps nothing for a backward; without checkpointing every layer set is kept.
    const evaluation = actsLayout(s, lora, T, { ...opts, withGrad: false, checkpoint16: true });
    expect(evaluation.grad).toBeNull();
    expect(evaluation.ckpt16).toBeNull();
    expect(layoutBuffers(evaluation).filter((b) => b.checkpointOf !== undefined)).toEqual([]);
    expect(actsLayout(s, lora, T, { ...opts, checkpointing: false }).layers).toHaveLength(s.layers);
    expect(evaluation.h).toHaveLength(1);
  });

  it('offloaded: every layer input in host memory, one packed (or two f32) buffers on the GPU', () => {
    const ckpt = { f32: T * s.hidden * 4, f16: T * s.hidden * 2 };
    for (const checkpoint16 of [false, true]) {
      const l = actsLayout(s, lora, T, { ...opts, checkpoint16, offload: true });
      const bytes = checkpoint16 ? ckpt.f16 : ckpt.f32;
      expect(l.offload!.host.map((b) => [b.checkpointOf, b.bytes])).toEqual(
        Array.from({ length: s.layers }, (_, i) => [i, bytes]),
      );
      expect(l.offload!.staging.map((b) => [b.staging, b.bytes, b.category])).toEqual(
        Array.from({ length: OFFLOAD_STAGING_BUFFERS }, () => [true, bytes, 'workspace']),
      );
      expect(l.h).toHaveLength(checkpoint16 ? 1 : 2);
      expect(l.ckpt16?.length ?? 0).toBe(checkpoint16 ? 1 : 0);
      expect(layoutBuffers(l).filter((b) => b.checkpointOf !== undefined)).toEqual([]);
      expect(layoutHostBuffers(l)).toEqual(l.offload!.host);
    }
    // Nothing to offload without a backward or without checkpointing.
    expect(actsLayout(s, lora, T, { ...opts, withGrad: false, offload: true }).offload).toBeNull();
    const all = actsLayout(s, lora, T, { ...opts, checkpointing: false, offload: true });
    expect(all.offload).toBeNull();
  });

  it('shares buffers whose lifetimes do not meet (one layer set)', () => {
    const l = actsLayout(s, lora, T, opts);
    const la = l.layers[0]!;
    expect(l.hn).toBe(la.xn1);
    expect(l.dHn).toBe(l.grad!.dXn);
    // d(attention output) and dq share [T, D] buffers only when heads · head_dim is the hidden size.
    const wide = { ...s, heads: s.hidden / s.headDim };
    const w = actsLayout(wide, lora, T, opts);
    expect(w.grad!.dAttn).toBe(w.layers[0]!.xn2);
    expect(w.grad!.dq).toBe(w.layers[0]!.hMid);
    if (s.heads * s.headDim !== s.hidden) expect(l.grad!.dq).not.toBe(la.hMid);
    // Kept per layer without checkpointing: nothing shared with them.
    const kept = actsLayout(s, lora, T, { ...opts, checkpointing: false });
    const buffers = new Set(kept.layers.flatMap((x) => [x.xn1, x.xn2, x.hMid]));
    expect(buffers.has(kept.hn)).toBe(false);
    expect(buffers.has(kept.grad!.dAttn)).toBe(false);
    expect(buffers.has(kept.grad!.dq)).toBe(false);
  });

  it('is what the plan sums: activations to the byte', () => {
    for (const checkpoint16 of [false, true]) {
      for (const offload of [false, true]) {
        const layout = actsLayout(s, lora, T, { ...opts, checkpoint16, offload, mlpTokens: T });
        const plan = planTraining({
          shape: s,
          weightBytes: 2,
          lora,
          context: T,
          checkpointing: true,
          checkpoint16,
          offload,
        });
        expect(plan.bytes.activations).toBe(sum(layout, 'activations'));
        expect(plan.bytes.workspace).toBeGreaterThan(sum(layout, 'workspace'));
        const host = layoutHostBuffers(layout).reduce((a, b) => a + b.bytes, 0);
        expect(plan.host.checkpoints).toBe(host);
        expect(plan.hostBytes).toBe(plan.host.optimizer + host);
      }
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
