/**
 * An odd query-head count (9 query heads over 3 key/value heads, GQA ratio 3, as SmolLM2 has) under
 * every attention pattern: S2-Attn keeps the groups of heads [0, floor(H/2)) = [0, 4) and shifts
 * heads [4, 9) (Python's `H // 2`). Loss and every trainable gradient against the float64 reference.
 */
import { describe, expect, it } from 'vitest';
import {
  attentionAllowed,
  randomRefModel,
  refLossAndGrads,
  type RefConfig,
} from '../reference/llama.ts';
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
import { attentionProblem } from './longlora.ts';
import { LlamaParams } from './params.ts';
import type { AttentionPattern, LinearName } from './types.ts';

const TARGETS: LinearName[] = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'down_proj'];
const N = 32;
const G = 8;

function config(pattern: AttentionPattern): RefConfig {
  return {
    vocab: 37,
    hidden: 36, // = heads × head_dim, as in SmolLM2
    intermediate: 40,
    layers: 2,
    heads: 9,
    kvHeads: 3,
    headDim: 4,
    rmsEps: 1e-5,
    ropeTheta: 10000,
    ropeFactor: 2,
    tied: true,
    pattern,
    group: G,
    loraTargets: TARGETS,
    rank: 2,
    alpha: 4,
  };
}

/** GPU loss and gradients by trainable name, next to the reference's. */
async function lossAndGrads(pattern: AttentionPattern) {
  const rt = await testRuntime();
  const refCfg = config(pattern);
  const w = randomRefModel(refCfg, 19);
  const shape = shapeOfRef(refCfg);
  const lora = { rank: 2, alpha: 4, targets: TARGETS, trainEmbed: true, trainNorm: true };
  // A forward and backward needs no optimizer state (what `longlora grad` loads).
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
  const rng = new Rng(8);
  const tokens = Array.from({ length: N }, () => rng.int(refCfg.vocab));
  const labels = tokens.map((t, i) => (i === 9 ? -100 : t));
  const ref = refLossAndGrads(refCfg, w, tokens, labels);

  const model = new LlamaModel(rt, params, { checkpointing: true });
  const ids = Uint32Array.from(tokens);
  const shifted = nextTokenLabels(tokens, labels);
  const loss = await model.forwardBackward(
    { ids, labels: shifted },
    { pattern, group: pattern === 'full' ? N : G, ropeFactor: refCfg.ropeFactor },
  );
  const expected = expectedGradients(ref.grads, { targets: TARGETS, trainEmbed: true });
  const errors = await gradientErrors(rt, params, expected, 1e-3);
  model.destroy();
  params.destroy();
  expect(rt.liveTensors).toBe(0);
  return { loss, refLoss: ref.loss, errors };
}

describe('9 query heads over 3 kv heads (odd H, GQA 3) vs the float64 reference', () => {
  it('the shared rule accepts it and the reference keeps heads 0-3, shifts heads 4-8', () => {
    for (const p of ['s2', 's2roll'] as const) expect(attentionProblem(N, p, G)).toBeNull();
    // Query 5, key 3: both in the plain group [0, 8); s2's shifted groups [0, 4) and [4, 12)
    // separate them.
    for (let h = 0; h < 9; h++) {
      const plain = attentionAllowed('s2', N, G, 9, h, 5, 3);
      expect(plain, `head ${h}`).toBe(h < 4);
    }
    // Query 9, key 7: plain groups [0, 8) and [8, 16) separate them; the shifted [4, 12) joins them.
    for (let h = 0; h < 9; h++) {
      expect(attentionAllowed('s2', N, G, 9, h, 9, 7), `head ${h}`).toBe(h >= 4);
      expect(attentionAllowed('s2roll', N, G, 9, h, 9, 7), `head ${h}`).toBe(h >= 4);
    }
  });

  const losses = new Map<AttentionPattern, number>();
  for (const pattern of ['full', 's2', 's2roll'] as const) {
    it(`loss and every trainable gradient match: ${pattern}`, async () => {
      const r = await lossAndGrads(pattern);
      expect(Math.abs(r.loss - r.refLoss) / r.refLoss).toBeLessThan(1e-4);
      expect(r.errors).toEqual([]);
      losses.set(pattern, r.loss);
    });
  }

  it('the patterns differ (the shifted heads really see other tokens)', () => {
    const [full, s2, roll] = (['full', 's2', 's2roll'] as const).map((p) => losses.get(p));
    expect(full).toBeDefined();
    expect(s2).not.toBe(full);
    expect(roll).not.toBe(s2);
  });
});

describe('parameters without optimizer state', () => {
  it('allocate no AdamW moments, and asking for them says why', async () => {
    const rt = await testRuntime();
    const refCfg = config('s2');
    const shape = shapeOfRef(refCfg);
    const lora = { rank: 2, alpha: 4, targets: TARGETS, trainEmbed: true, trainNorm: true };
    const before = rt.memory.snapshot().current.optimizer;
    const src = refWeightSource(shape, randomRefModel(refCfg, 1), 'BF16');
    const params = await LlamaParams.load(rt, shape, lora, src, 1, undefined, {
      optimizerState: false,
    });
    expect(params.hasOptimizerState).toBe(false);
    expect(rt.memory.snapshot().current.optimizer).toBe(before);
    expect(() => params.trainables[0]!.m).toThrow(/no optimizer state/);
    await rt.sync(); // the gradients' clears are queued: submit them before their buffers go
    params.destroy();
    const trained = await LlamaParams.load(rt, shape, lora, src, 1);
    expect(trained.hasOptimizerState).toBe(true);
    expect(rt.memory.snapshot().current.optimizer - before).toBe(8 * trained.trainableCount);
    await rt.sync();
    trained.destroy();
    expect(rt.liveTensors).toBe(0);
  });
});
