/**
 * The knobs real models turn — head_dim 64 and 128, GQA ratios 3 and 8, a 9-head model, Llama 3's
 * rope scaling, tied and untied heads — each on a runtime whose binding cap is small enough that the
 * embedding, the output layer and the MLP activations are all split (row blocks, token blocks), as
 * TinyLlama or Llama 3.2 are on a 128 MiB adapter. Loss and every trainable gradient match the
 * float64 reference.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Runtime } from '../engine/runtime.ts';
import { randomRefModel, refLossAndGrads, type RefConfig } from '../reference/llama.ts';
import { cappedRuntime } from '../test/gpu.ts';
import {
  expectedGradients,
  gradientErrors,
  nextTokenLabels,
  refWeightSource,
  setNonZeroLora,
  shapeOfRef,
  type StorageDtype,
} from '../test/parity.ts';
import { Rng } from '../util/rng.ts';
import { mlpBlockTokens } from './activations.ts';
import { LlamaModel } from './llama.ts';
import { LlamaParams } from './params.ts';
import type { AttentionPattern, LinearName, LlamaShape } from './types.ts';

const TARGETS: LinearName[] = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj'];
const LLAMA3 = { factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 32 };
const T = 136;
const HIDDEN = 64;
const VOCAB = 4096;

interface Case {
  name: string;
  heads: number;
  kvHeads: number;
  headDim: number;
  intermediate: number;
  tied: boolean;
  dtype: StorageDtype;
  pattern: AttentionPattern;
  llama3: boolean;
}

const cases: Case[] = [
  {
    name: 'head_dim 64, GQA 8 (8/1 heads), tied, llama3 rope, f32, s2',
    ...{ heads: 8, kvHeads: 1, headDim: 64, intermediate: 768 },
    ...{ tied: true, dtype: 'F32', pattern: 's2', llama3: true },
  },
  {
    name: 'head_dim 128, GQA 3 (3/1 heads), untied, bf16, s2roll',
    ...{ heads: 3, kvHeads: 1, headDim: 128, intermediate: 640 },
    ...{ tied: false, dtype: 'BF16', pattern: 's2roll', llama3: false },
  },
  {
    name: '9 query / 3 kv heads (SmolLM2-like), head_dim 16, untied, f32, s2',
    ...{ heads: 9, kvHeads: 3, headDim: 16, intermediate: 512 },
    ...{ tied: false, dtype: 'F32', pattern: 's2', llama3: false },
  },
  {
    name: 'head_dim 64, GQA 8, untied, llama3 rope, bf16, full',
    ...{ heads: 8, kvHeads: 1, headDim: 64, intermediate: 768 },
    ...{ tied: false, dtype: 'BF16', pattern: 'full', llama3: true },
  },
];

/**
 * The smallest cap (a multiple of 256) that still binds every buffer no engine path splits — the
 * per-token [T, width] activations, one layer's weights, a logits row — so that what does split
 * (embedding, output layer, MLP activations) is forced to.
 */
function capFor(c: Case, weightBytes: number): number {
  const widths = [HIDDEN, c.heads * c.headDim, 2 * c.kvHeads * c.headDim];
  const perToken = 4 * T * Math.max(...widths);
  const weights = weightBytes * Math.max(c.intermediate * HIDDEN, c.heads * c.headDim * HIDDEN);
  return Math.ceil(Math.max(perToken, weights, 4 * VOCAB * 8) / 256) * 256;
}

describe('real-model shapes with the embedding, output layer and MLP split', () => {
  let rt: Runtime | null = null;
  afterEach(() => {
    rt?.destroy(true);
    rt = null;
  });

  for (const c of cases) {
    it(`loss and every trainable gradient match: ${c.name}`, async () => {
      const weightBytes = c.dtype === 'F32' ? 4 : 2;
      const cap = capFor(c, weightBytes);
      // What this case must split under the cap.
      expect(VOCAB * HIDDEN * 4).toBeGreaterThan(cap); // trainable f32 embedding (and tied head)
      if (!c.tied) expect(VOCAB * HIDDEN * weightBytes).toBeGreaterThan(cap); // frozen lm_head
      expect(4 * T * c.intermediate).toBeGreaterThan(cap); // MLP activations
      expect(mlpBlockTokens(T, c.intermediate, cap)).toBeLessThan(T);
      rt = await cappedRuntime({ maxStorageBufferBindingSize: cap, maxBufferSize: cap });

      const refCfg: RefConfig = {
        vocab: VOCAB,
        hidden: HIDDEN,
        intermediate: c.intermediate,
        layers: 2,
        heads: c.heads,
        kvHeads: c.kvHeads,
        headDim: c.headDim,
        rmsEps: 1e-5,
        ropeTheta: 10000,
        ropeFactor: 1,
        ...(c.llama3 ? { llama3: LLAMA3 } : {}),
        tied: c.tied,
        pattern: c.pattern,
        group: 34,
        loraTargets: TARGETS,
        rank: 4,
        alpha: 8,
      };
      const shape: LlamaShape = {
        ...shapeOfRef(refCfg),
        ...(c.llama3 ? { maxPositions: 256, ropeScaling: { type: 'llama3', ...LLAMA3 } } : {}),
      };
      const w = randomRefModel(refCfg, 23);
      const lora = { rank: 4, alpha: 8, targets: TARGETS, trainEmbed: true, trainNorm: true };
      const params = await LlamaParams.load(rt, shape, lora, refWeightSource(shape, w, c.dtype), 1);
      setNonZeroLora(params, w, TARGETS, 7);
      const rng = new Rng(9);
      const tokens = Array.from({ length: T }, () => rng.int(VOCAB));
      const labels = tokens.map((t, i) => (i % 29 === 3 ? -100 : t));
      const ref = refLossAndGrads(refCfg, w, tokens, labels);

      const model = new LlamaModel(rt, params, { checkpointing: true });
      const loss = await model.forwardBackward(
        {
          ids: Uint32Array.from(tokens),
          labels: nextTokenLabels(tokens, labels),
        },
        { pattern: c.pattern, group: refCfg.group, ropeFactor: 1 },
      );
      expect(Math.abs(loss - ref.loss) / ref.loss).toBeLessThan(1e-4);

      const expected = expectedGradients(ref.grads, { targets: TARGETS, trainEmbed: true });
      expect(await gradientErrors(rt, params, expected, 1e-3)).toEqual([]);
      model.destroy();
      params.destroy();
    });
  }
});
