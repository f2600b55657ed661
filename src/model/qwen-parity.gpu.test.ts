/**
 * Qwen2 (q/k/v biases, GQA, untied output) and Qwen3 (per-head q/k RMSNorm before RoPE, head_dim ≠
 * hidden / heads, tied) against the float64 reference: the loss and every LoRA+ gradient (LoRA A/B,
 * the embedding, every norm including q_norm / k_norm) under full, s2 and s2roll attention with
 * position interpolation (factor 2). The biases are frozen, as PEFT leaves them.
 */
import { describe, expect, it } from 'vitest';
import { randomRefModel, refLossAndGrads, type RefConfig } from '../reference/llama.ts';
import { testRuntime } from '../test/gpu.ts';
import {
  expectedGradients,
  gradientErrors,
  nextTokenLabels,
  refWeightSource,
  setNonZeroLora,
  shapeOfRef,
} from '../test/parity.ts';
import { Rng } from '../util/rng.ts';
import { LlamaModel } from './llama.ts';
import { LlamaParams } from './params.ts';
import type { AttentionPattern, LinearName } from './types.ts';

const TARGETS: LinearName[] = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'down_proj'];
const N = 32;
const G = 8;
/** Relative loss tolerance against the float64 reference. */
const PARITY = 1e-4;

const BASE = {
  vocab: 41,
  intermediate: 40,
  layers: 2,
  rmsEps: 1e-6,
  ropeTheta: 1000000,
  ropeFactor: 2,
  group: G,
  loraTargets: TARGETS,
  rank: 2,
  alpha: 4,
} as const;

/** Qwen2-style: biases on q, k, v; 4 query heads over 2 kv heads; untied lm_head. */
function qwen2(pattern: AttentionPattern): RefConfig {
  return {
    ...BASE,
    loraTargets: [...TARGETS],
    hidden: 24,
    heads: 4,
    kvHeads: 2,
    headDim: 6,
    tied: false,
    pattern,
    biases: ['q_proj', 'k_proj', 'v_proj'],
  };
}

/** Qwen3-style: q/k head norms; head_dim 8 with hidden 16 and 4 heads (q_proj out 32 ≠ 16); tied. */
function qwen3(pattern: AttentionPattern): RefConfig {
  return {
    ...BASE,
    loraTargets: [...TARGETS],
    hidden: 16,
    heads: 4,
    kvHeads: 2,
    headDim: 8,
    tied: true,
    pattern,
    qkNorm: true,
  };
}

async function lossAndGrads(refCfg: RefConfig, trainNorm = true) {
  const rt = await testRuntime();
  const w = randomRefModel(refCfg, 23);
  const shape = shapeOfRef(refCfg);
  const lora = { rank: 2, alpha: 4, targets: TARGETS, trainEmbed: true, trainNorm };
  const params = await LlamaParams.load(
    rt,
    shape,
    lora,
    refWeightSource(shape, w, 'F32'),
    1,
    undefined,
    { optimizerState: false },
  );
  setNonZeroLora(params, w, TARGETS);
  const rng = new Rng(4);
  const tokens = Array.from({ length: N }, () => rng.int(refCfg.vocab));
  const labels = tokens.map((t, i) => (i === 5 ? -100 : t));
  const ref = refLossAndGrads(refCfg, w, tokens, labels);
  const model = new LlamaModel(rt, params, { checkpointing: true });
  const pattern = refCfg.pattern;
  const loss = await model.forwardBackward(
    { ids: Uint32Array.from(tokens), labels: nextTokenLabels(tokens, labels) },
    { pattern, group: pattern === 'full' ? N : G, ropeFactor: refCfg.ropeFactor },
  );
  const all = expectedGradients(ref.grads, { targets: TARGETS, trainEmbed: true });
  const expected = trainNorm
    ? all
    : new Map([...all].filter(([name]) => !name.endsWith('norm.weight')));
  const errors = await gradientErrors(rt, params, expected, 1e-3);
  const names = params.trainables.map((t) => t.name);
  model.destroy();
  params.destroy();
  expect(rt.liveTensors).toBe(0);
  return { loss, refLoss: ref.loss, errors, names };
}

describe('Qwen2 (q/k/v biases, GQA, untied) vs the float64 reference', () => {
  for (const pattern of ['full', 's2', 's2roll'] as const) {
    it(`loss and every LoRA+ gradient match: ${pattern}`, async () => {
      const r = await lossAndGrads(qwen2(pattern));
      expect(Math.abs(r.loss - r.refLoss) / r.refLoss).toBeLessThan(PARITY);
      expect(r.errors).toEqual([]);
    }, 600_000); // the first test of a process compiles every pipeline (minutes on a loaded CPU)
  }
  it('the biases matter: the same model without them has another loss', () => {
    // At least ten times the parity tolerance, so a GPU graph that dropped the biases fails the tests
    // above.
    const cfg = qwen2('full');
    const w = randomRefModel(cfg, 23);
    const rng = new Rng(4);
    const tokens = Array.from({ length: N }, () => rng.int(cfg.vocab));
    const withBias = refLossAndGrads(cfg, w, tokens).loss;
    const without = refLossAndGrads({ ...cfg, biases: [] }, w, tokens).loss;
    expect(Math.abs(withBias - without) / withBias).toBeGreaterThan(10 * PARITY);
  });
});

describe('Qwen3 (per-head q/k norms, head_dim ≠ hidden / heads, tied) vs the float64 reference', () => {
  for (const pattern of ['full', 's2', 's2roll'] as const) {
    it(`loss and every LoRA+ gradient (q_norm / k_norm included) match: ${pattern}`, async () => {
      const r = await lossAndGrads(qwen3(pattern));
      expect(Math.abs(r.loss - r.refLoss) / r.refLoss).toBeLessThan(PARITY);
      expect(r.errors).toEqual([]);
      expect(r.names).toContain('model.layers.1.self_attn.q_norm.weight');
      expect(r.names).toContain('model.layers.1.self_attn.k_norm.weight');
    }, 600_000);
  }
  it('with the norms frozen (LoRA only) the LoRA gradients still match: s2', async () => {
    const r = await lossAndGrads(qwen3('s2'), false);
    expect(Math.abs(r.loss - r.refLoss) / r.refLoss).toBeLessThan(PARITY);
    expect(r.errors).toEqual([]);
    expect(r.names.some((n) => n.endsWith('norm.weight'))).toBe(false);
  });
});
