/**
 * A tiny model with Hugging Face's "llama3" rope scaling on the GPU against the float64 reference,
 * whose Llama 3 frequencies (src/reference/rope.ts llama3InvFreq) are computed independently of the
 * engine's ropeInvFreq: loss and every trainable gradient, at the factor training uses within
 * max_position_embeddings (×1, llama3 alone) and at the one evaluation uses beyond it (×2 on top).
 */
import { describe, expect, it } from 'vitest';
import { randomRefModel, refLossAndGrads, type RefConfig } from '../reference/llama.ts';
import { testRuntime } from '../test/gpu.ts';
import { relativeError } from '../test/numeric.ts';
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
import { ropeFactor, type RopeUse } from './longlora.ts';
import { LlamaParams } from './params.ts';
import type { LinearName, LlamaShape } from './types.ts';

const TARGETS: LinearName[] = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'up_proj'];
// Head dim 8, theta 10000: wavelengths 2π·10^(0..3). Over 64 original positions the first
// frequency is kept, the second smoothed and the last two slowed by 8.
const LLAMA3 = { factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 64 };
const MAX_POSITIONS = 256;

const cases: { name: string; context: number; use: RopeUse; factor: number }[] = [
  {
    name: 'training within max_position_embeddings: llama3 alone',
    context: 256,
    use: 'train',
    factor: 1,
  },
  {
    name: 'evaluation at 2 × max_position_embeddings: ×2 on top',
    context: 512,
    use: 'inference',
    factor: 2,
  },
];

describe('llama3 rope scaling on the GPU vs the float64 reference', () => {
  for (const c of cases) {
    it(`loss and every trainable gradient match: ${c.name}`, async () => {
      const rt = await testRuntime();
      const N = 24;
      const G = 12;
      const refCfg: RefConfig = {
        vocab: 37,
        hidden: 32,
        intermediate: 24,
        layers: 2,
        heads: 4,
        kvHeads: 2,
        headDim: 8,
        rmsEps: 1e-5,
        ropeTheta: 10000,
        ropeFactor: 0, // set below from the rule
        llama3: LLAMA3,
        tied: false,
        pattern: 's2',
        group: G,
        loraTargets: TARGETS,
        rank: 3,
        alpha: 6,
      };
      const shape: LlamaShape = {
        ...shapeOfRef(refCfg),
        maxPositions: MAX_POSITIONS,
        ropeScaling: { type: 'llama3', ...LLAMA3 },
      };
      // The factor comes from the rule the trainer and the evaluation use.
      refCfg.ropeFactor = ropeFactor(c.context, shape, c.use);
      expect(refCfg.ropeFactor).toBe(c.factor);

      const w = randomRefModel(refCfg, 11);
      // Larger q/k weights make the attention scores, and so the rotation, matter more.
      for (const l of w.layers) for (const m of [l.q, l.k]) m.forEach((x, e) => (m[e] = 4 * x));
      const src = refWeightSource(shape, w, 'F32');
      const lora = { rank: 3, alpha: 6, targets: TARGETS, trainEmbed: true, trainNorm: true };
      const params = await LlamaParams.load(rt, shape, lora, src, 1);
      setNonZeroLora(params, w, TARGETS);
      const rng = new Rng(5);
      const tokens = Array.from({ length: N }, () => rng.int(refCfg.vocab));
      const labels = tokens.map((t, i) => (i === 7 ? -100 : t));
      const ref = refLossAndGrads(refCfg, w, tokens, labels);
      // Without llama3 the reference differs: the GPU must really apply it to match.
      const plain = refLossAndGrads({ ...refCfg, llama3: undefined }, w, tokens, labels);

      const model = new LlamaModel(rt, params, { checkpointing: true });
      const loss = await model.forwardBackward(
        {
          ids: Uint32Array.from(tokens),
          labels: nextTokenLabels(tokens, labels),
        },
        { pattern: 's2', group: G, ropeFactor: refCfg.ropeFactor },
      );
      expect(Math.abs(loss - ref.loss) / ref.loss).toBeLessThan(1e-4);

      const which = { targets: TARGETS, trainEmbed: true };
      const expected = expectedGradients(ref.grads, which);
      const withoutLlama3 = expectedGradients(plain.grads, which);
      expect(await gradientErrors(rt, params, expected, 1e-3)).toEqual([]);
      // Some gradient is off by more than 1e-2 against the reference without llama3.
      let plainWorst = 0;
      for (const t of params.trainables) {
        const err = relativeError(await rt.read(t.grad), withoutLlama3.get(t.name)!);
        plainWorst = Math.max(plainWorst, err);
      }
      expect(plainWorst).toBeGreaterThan(1e-2);
      model.destroy();
      params.destroy();
      expect(rt.liveTensors).toBe(0);
    });
  }
});
