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
import type { Runtime } from '../engine/runtime.ts';
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
/** Relative loss tolerance against the float64 reference. */
const PARITY = 1e-4;

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

/** The batch every test here runs: N random tokens, one position masked from the loss. */
function batch(): { tokens: number[]; labels: number[] } {
  const rng = new Rng(8);
  const tokens = Array.from({ length: N }, () => rng.int(config('full').vocab));
  return { tokens, labels: tokens.map((t, i) => (i === 9 ? -100 : t)) };
}

/** The model's parameters on the GPU (no optimizer state, as `longlora grad` loads), LoRA B ≠ 0. */
async function loadParams(rt: Runtime, pattern: AttentionPattern) {
  const refCfg = config(pattern);
  const w = randomRefModel(refCfg, 19);
  const shape = shapeOfRef(refCfg);
  const lora = { rank: 2, alpha: 4, targets: TARGETS, trainEmbed: true, trainNorm: true };
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
  return { refCfg, w, params };
}

/** GPU loss and gradients by trainable name, next to the reference's. */
async function lossAndGrads(pattern: AttentionPattern) {
  const rt = await testRuntime();
  const { refCfg, w, params } = await loadParams(rt, pattern);
  const { tokens, labels } = batch();
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

  for (const pattern of ['full', 's2', 's2roll'] as const) {
    it(`loss and every trainable gradient match: ${pattern}`, async () => {
      const r = await lossAndGrads(pattern);
      expect(Math.abs(r.loss - r.refLoss) / r.refLoss).toBeLessThan(PARITY);
      expect(r.errors).toEqual([]);
    });
  }

  it('the patterns differ (the shifted heads really see other tokens)', async () => {
    // One set of weights, the same batch, three attention patterns: the GPU's losses differ from
    // one another by far more than the parity tolerance, as the reference's do.
    const rt = await testRuntime();
    const { refCfg, w, params } = await loadParams(rt, 'full');
    const { tokens, labels } = batch();
    const model = new LlamaModel(rt, params, { checkpointing: true });
    const input = { ids: Uint32Array.from(tokens), labels: nextTokenLabels(tokens, labels) };
    const gpu = new Map<AttentionPattern, number>();
    const ref = new Map<AttentionPattern, number>();
    for (const pattern of ['full', 's2', 's2roll'] as const) {
      const pass = { pattern, group: pattern === 'full' ? N : G, ropeFactor: refCfg.ropeFactor };
      gpu.set(pattern, (await model.loss(input, pass)).loss);
      ref.set(pattern, refLossAndGrads({ ...refCfg, pattern }, w, tokens, labels).loss);
    }
    model.destroy();
    params.destroy();
    expect(rt.liveTensors).toBe(0);
    const apart = (m: Map<AttentionPattern, number>, a: AttentionPattern, b: AttentionPattern) =>
      Math.abs(m.get(a)! - m.get(b)!) / m.get(a)!;
    for (const [a, b] of [
      ['full', 's2'],
      ['full', 's2roll'],
      ['s2', 's2roll'],
    ] as const) {
      expect(apart(ref, a, b), `reference ${a} vs ${b}`).toBeGreaterThan(100 * PARITY);
      expect(apart(gpu, a, b), `GPU ${a} vs ${b}`).toBeGreaterThan(100 * PARITY);
    }
    for (const [p, loss] of gpu)
      expect(Math.abs(loss - ref.get(p)!) / ref.get(p)!, p).toBeLessThan(PARITY);
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
