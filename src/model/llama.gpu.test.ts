import { describe, expect, it } from 'vitest';
import { randomRefModel, refLossAndGrads, type RefConfig } from '../reference/llama.ts';
import { testRuntime } from '../test/gpu.ts';
import { Rng } from '../util/rng.ts';
import { LlamaModel } from './llama.ts';
import { planTraining } from './plan.ts';
import { actsLayout, layoutBuffers, mlpBlockTokens } from './activations.ts';
import { blockBytesLimit } from '../engine/row-blocks.ts';
import { LlamaParams } from './params.ts';
import {
  expectedGradients,
  gradientErrors,
  nextTokenLabels,
  refWeightSource,
  setNonZeroLora,
  shapeOfRef,
  type StorageDtype,
} from '../test/parity.ts';
import { LINEAR_NAMES, type AttentionPattern, type LinearName } from './types.ts';

interface Case {
  name: string;
  dtype: StorageDtype;
  tied: boolean;
  kvHeads: number;
  pattern: AttentionPattern;
  ropeFactor: number;
  targets: LinearName[];
  checkpointing: boolean;
  /** Layer-input checkpoints in binary16: the reference rounds them alike (checkpointRound). */
  checkpoint16?: boolean;
}

const ALL: LinearName[] = [...LINEAR_NAMES];
const QKVO: LinearName[] = ['q_proj', 'k_proj', 'v_proj', 'o_proj'];

const cases: Case[] = [
  {
    name: 'f32, GQA, tied, s2, rope ×2',
    dtype: 'F32',
    tied: true,
    kvHeads: 2,
    pattern: 's2',
    ropeFactor: 2,
    targets: QKVO,
    checkpointing: true,
  },
  {
    name: 'bf16, GQA, untied, s2roll, all targets',
    dtype: 'BF16',
    tied: false,
    kvHeads: 2,
    pattern: 's2roll',
    ropeFactor: 2,
    targets: ALL,
    checkpointing: true,
  },
  {
    name: 'f16, MHA, tied, full, no checkpointing',
    dtype: 'F16',
    tied: true,
    kvHeads: 4,
    pattern: 'full',
    ropeFactor: 1,
    targets: ALL,
    checkpointing: false,
  },
  {
    name: 'f32, MHA, untied, s2, rope ×4',
    dtype: 'F32',
    tied: false,
    kvHeads: 4,
    pattern: 's2',
    ropeFactor: 4,
    targets: QKVO,
    checkpointing: true,
  },
  {
    name: 'f32, GQA, tied, s2, rope ×2, 16-bit checkpoints',
    dtype: 'F32',
    tied: true,
    kvHeads: 2,
    pattern: 's2',
    ropeFactor: 2,
    targets: QKVO,
    checkpointing: true,
    checkpoint16: true,
  },
  {
    name: 'bf16, GQA, untied, s2roll, all targets, 16-bit checkpoints',
    dtype: 'BF16',
    tied: false,
    kvHeads: 2,
    pattern: 's2roll',
    ropeFactor: 2,
    targets: ALL,
    checkpointing: true,
    checkpoint16: true,
  },
];

describe('LoRA+ Llama on the GPU vs the float64 reference', () => {
  for (const c of cases) {
    it(`loss and every trainable gradient match: ${c.name}`, async () => {
      const rt = await testRuntime();
      const N = 24;
      const G = 12;
      const refCfg: RefConfig = {
        vocab: 37,
        hidden: 16,
        intermediate: 24,
        layers: 2,
        heads: 4,
        kvHeads: c.kvHeads,
        headDim: 4,
        rmsEps: 1e-5,
        ropeTheta: 10000,
        ropeFactor: c.ropeFactor,
        tied: c.tied,
        pattern: c.pattern,
        group: G,
        loraTargets: c.targets,
        rank: 3,
        alpha: 6,
        checkpointRound: c.checkpoint16 ? 'f16' : undefined,
      };
      const w = randomRefModel(refCfg, 7);
      const shape = shapeOfRef(refCfg);
      const src = refWeightSource(shape, w, c.dtype);
      const lora = { rank: 3, alpha: 6, targets: c.targets, trainEmbed: true, trainNorm: true };
      const params = await LlamaParams.load(rt, shape, lora, src, 1);
      setNonZeroLora(params, w, c.targets);
      const rng = new Rng(3);
      const tokens = Array.from({ length: N }, () => rng.int(refCfg.vocab));
      const labels = tokens.map((t, i) => (i === 5 ? -100 : t));
      const ref = refLossAndGrads(refCfg, w, tokens, labels);
      // Against exact checkpoints the rounding costs ≲ 7e-4 norm-wise (the forward is untouched).
      const exact = c.checkpoint16
        ? refLossAndGrads({ ...refCfg, checkpointRound: undefined }, w, tokens, labels)
        : ref;
      expect(exact.loss).toBe(ref.loss);

      const model = new LlamaModel(rt, params, {
        checkpointing: c.checkpointing,
        checkpoint16: c.checkpoint16 ?? false,
      });
      expect(model.checkpoint16).toBe(c.checkpoint16 ?? false);
      const ids = Uint32Array.from(tokens);
      const shifted = nextTokenLabels(tokens, labels);
      const loss = await model.forwardBackward(
        { ids, labels: shifted },
        { pattern: c.pattern, group: G, ropeFactor: c.ropeFactor },
      );
      expect(Math.abs(loss - ref.loss) / ref.loss).toBeLessThan(1e-3);

      const which = { targets: c.targets, trainEmbed: true };
      const expected = expectedGradients(ref.grads, which);
      const expectedExact = expectedGradients(exact.grads, which);
      // With 16-bit checkpoints the GPU rounds where the reference does: on SwiftShader to ~5e-7.
      // A GPU's kernels (other variants, fused multiply-adds, atomics in other orders) give f32
      // values that differ in their last bits, so the few near an f16 rounding boundary round the
      // other way, one f16 ulp (4.9e-4) each: up to 1.4e-4 norm-wise on an H200, still well under
      // what skipping the rounding costs (the ' vs exact' check, ≤ 6.4e-4).
      const tol = c.checkpoint16 ? (rt.info.isSoftware ? 2e-5 : 3e-4) : 1e-3;
      const worst = await gradientErrors(rt, params, expected, tol);
      // The cost of 16-bit checkpoints against exact ones (measured ≤ 6.4e-4 in float64).
      worst.push(...(await gradientErrors(rt, params, expectedExact, 1.5e-3, ' vs exact')));
      // Freed before the checks: a failure must not leave tensors behind for the next case.
      model.destroy();
      params.destroy();
      expect(worst).toEqual([]);
      expect(rt.liveTensors).toBe(0);
    });
  }
});

describe('memory plan', () => {
  // With optimizer state: a training step. Without: `longlora grad` (a forward and backward only).
  it.each([
    [true, false],
    [false, false],
    [true, true],
  ])(
    'predicts the bytes a step allocates (optimizer: %s, 16-bit checkpoints: %s)',
    async (adam, ck16) => {
      const optimizerState = adam;
      const rt = await testRuntime();
      const base = rt.memory.snapshot().current;
      const refCfg: RefConfig = {
        vocab: 41,
        hidden: 16,
        intermediate: 24,
        layers: 2,
        heads: 4,
        kvHeads: 2,
        headDim: 4,
        rmsEps: 1e-5,
        ropeTheta: 10000,
        ropeFactor: 2,
        tied: false,
        pattern: 's2',
        group: 8,
        loraTargets: QKVO,
        rank: 4,
        alpha: 8,
      };
      const shape = shapeOfRef(refCfg);
      const lora = { rank: 4, alpha: 8, targets: QKVO, trainEmbed: true, trainNorm: true };
      const params = await LlamaParams.load(
        rt,
        shape,
        lora,
        refWeightSource(shape, randomRefModel(refCfg, 1), 'BF16'),
        1,
        undefined,
        { optimizerState },
      );
      const model = new LlamaModel(rt, params, { checkpointing: true, checkpoint16: ck16 });
      const T = 32;
      const ids = Uint32Array.from({ length: T }, (_, i) => i % 41);
      await model.forwardBackward(
        { ids, labels: Int32Array.from(ids) },
        { pattern: 's2', group: 8, ropeFactor: 2 },
      );
      const used = rt.memory.snapshot().current;
      const input = {
        shape,
        weightBytes: 2,
        lora,
        context: T,
        checkpointing: true,
        checkpoint16: ck16,
        optimizerState,
      };
      const plan = planTraining(input);
      if (ck16) {
        // One f32 residual buffer (updated in place) and L binary16 inputs instead of L + 1 f32 ones.
        const full = planTraining({ ...input, checkpoint16: false });
        expect(full.bytes.activations - plan.bytes.activations).toBe(
          4 * T * 16 * 3 - (4 + 2 * 2) * T * 16,
        );
      }
      for (const c of ['weights', 'lora', 'gradients', 'optimizer', 'activations'] as const) {
        expect(used[c] - base[c], c).toBe(plan.bytes[c]);
      }
      expect(plan.bytes.optimizer).toBe(optimizerState ? 8 * params.trainableCount : 0);
      // Workspace holds what persists between steps; kernels' transient buffers are freed at once.
      expect(used.workspace - base.workspace).toBeLessThanOrEqual(plan.bytes.workspace);
      // What persists is exactly the layout's backward buffers and one rope factor's inv_freq.
      const layout = actsLayout(shape, lora, T, {
        withGrad: true,
        checkpointing: true,
        checkpoint16: ck16,
        mlpTokens: mlpBlockTokens(T, shape.intermediate, blockBytesLimit(rt.info.limits)),
      });
      const persistent = layoutBuffers(layout)
        .filter((b) => b.category === 'workspace')
        .reduce((sum, b) => sum + b.bytes, 0);
      expect(used.workspace - base.workspace).toBe(persistent + (shape.headDim / 2) * 4);
      model.destroy();
      params.destroy();
    },
  );
});
