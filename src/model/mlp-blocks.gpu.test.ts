/**
 * The MLP of each decoder layer in token blocks: a runtime whose binding cap holds 64 tokens of the
 * [tokens, intermediate] activations (but not 128) runs a 200-token step in 4 blocks (64, 64, 64, 8)
 * with block-sized gate/up/act buffers. Loss and every trainable gradient match the float64
 * reference with checkpointing on and off, tied and untied, f32 and bf16; KV-cache decoding of a
 * 200-token prompt (prefill in blocks) and the steps after it match too; the memory plan equals the
 * allocation, with the MLP buffers at block size and every buffer within the cap.
 */
import { describe, expect, it } from 'vitest';
import { randomRefModel, refLossAndGrads, type RefConfig } from '../reference/llama.ts';
import {
  cappedRuntimes,
  expectedGradients,
  gradientErrors,
  nextTokenLabels,
  refWeightSource,
  setNonZeroLora,
  shapeOfRef,
  type StorageDtype,
  expectDecodeMatchesReference,
} from '../test/parity.ts';
import { Rng } from '../util/rng.ts';
import { mlpBlockTokens } from './activations.ts';
import { KvCache } from './kv-cache.ts';
import { LlamaModel } from './llama.ts';
import { LlamaParams } from './params.ts';
import { planTraining } from './plan.ts';
import { LINEAR_NAMES, type AttentionPattern, type LinearName } from './types.ts';

const ALL: LinearName[] = [...LINEAR_NAMES];
const T = 200;
const HIDDEN = 64;
const F = 256;
// [64, 256] f32 is 64 KiB, [96, 256] 96 KiB: the MLP runs in blocks of 64 tokens. Every [200, 64]
// f32 buffer (50 KiB) and the [256, 64] f32 weights (64 KiB) fit whole.
const CAP = 96 * 1024;
const CAPS = { maxStorageBufferBindingSize: CAP, maxBufferSize: CAP };

interface Case {
  name: string;
  dtype: StorageDtype;
  tied: boolean;
  trainEmbed: boolean;
  checkpointing: boolean;
  pattern: AttentionPattern;
  targets: LinearName[];
}

const cases: Case[] = [
  {
    name: 'f32, tied, trainable embedding, checkpointing, s2, all targets',
    dtype: 'F32',
    tied: true,
    trainEmbed: true,
    checkpointing: true,
    pattern: 's2',
    targets: ALL,
  },
  {
    name: 'bf16, untied, checkpointing off, s2, all targets',
    dtype: 'BF16',
    tied: false,
    trainEmbed: false,
    checkpointing: false,
    pattern: 's2',
    targets: ALL,
  },
  {
    name: 'f32, untied, trainable embedding, checkpointing off, full, MLP targets only',
    dtype: 'F32',
    tied: false,
    trainEmbed: true,
    checkpointing: false,
    pattern: 'full',
    targets: ['gate_proj', 'up_proj', 'down_proj'],
  },
  {
    name: 'bf16, tied, checkpointing, full, q/v only (MLP without LoRA)',
    dtype: 'BF16',
    tied: true,
    trainEmbed: false,
    checkpointing: true,
    pattern: 'full',
    targets: ['q_proj', 'v_proj'],
  },
];

function refConfig(c: {
  tied: boolean;
  pattern: AttentionPattern;
  targets: LinearName[];
}): RefConfig {
  return {
    vocab: 96,
    hidden: HIDDEN,
    intermediate: F,
    layers: 2,
    heads: 4,
    kvHeads: 2,
    headDim: 16,
    rmsEps: 1e-5,
    ropeTheta: 10000,
    ropeFactor: 2,
    tied: c.tied,
    pattern: c.pattern,
    group: 40,
    loraTargets: c.targets,
    rank: 4,
    alpha: 8,
  };
}

describe('the MLP in token blocks vs the float64 reference', () => {
  const runtimeFor = cappedRuntimes();
  const runtime = () => runtimeFor(CAPS);

  it('picks 64-token blocks under the cap and one block when the tokens fit', () => {
    expect(mlpBlockTokens(T, F, CAP)).toBe(64);
    expect(mlpBlockTokens(T, F, T * F * 4)).toBe(T);
    expect(mlpBlockTokens(8192, 5632, 2 ** 27)).toBeLessThanOrEqual(2048);
    expect(() => mlpBlockTokens(T, F, 63 * F * 4)).toThrow(/mlp activations/);
  });

  for (const c of cases) {
    it(`loss and every trainable gradient match: ${c.name}`, async () => {
      const rt = await runtime();
      const refCfg = refConfig(c);
      const w = randomRefModel(refCfg, 17);
      const shape = shapeOfRef(refCfg);
      const lora = {
        rank: 4,
        alpha: 8,
        targets: c.targets,
        trainEmbed: c.trainEmbed,
        trainNorm: true,
      };
      const params = await LlamaParams.load(rt, shape, lora, refWeightSource(shape, w, c.dtype), 1);
      setNonZeroLora(params, w, c.targets, 1);
      const rng = new Rng(3);
      const tokens = Array.from({ length: T }, () => rng.int(refCfg.vocab));
      const labels = tokens.map((t, i) => (i % 37 === 5 ? -100 : t));
      const ref = refLossAndGrads(refCfg, w, tokens, labels);

      const model = new LlamaModel(rt, params, { checkpointing: c.checkpointing });
      const ids = Uint32Array.from(tokens);
      const shifted = nextTokenLabels(tokens, labels);
      const pass = { pattern: c.pattern, group: refCfg.group, ropeFactor: 2 };
      const loss = await model.forwardBackward({ ids, labels: shifted }, pass);
      expect(Math.abs(loss - ref.loss) / ref.loss).toBeLessThan(1e-3);

      const expected = expectedGradients(ref.grads, c);
      expect(await gradientErrors(rt, params, expected, 1e-3)).toEqual([]);
      model.destroy();
      params.destroy();
      expect(rt.liveTensors).toBe(0);
    });
  }

  for (const tied of [true, false]) {
    it(`KV-cache decoding: a ${T}-token prefill in MLP blocks and the steps after it match the reference (${tied ? 'tied' : 'untied'})`, async () => {
      const rt = await runtime();
      const refCfg = { ...refConfig({ tied, pattern: 'full', targets: ALL }), ropeFactor: 1 };
      const w = randomRefModel(refCfg, 5);
      const shape = shapeOfRef(refCfg);
      const lora = { rank: 4, alpha: 8, targets: ALL, trainEmbed: false, trainNorm: true };
      const params = await LlamaParams.load(rt, shape, lora, refWeightSource(shape, w, 'F32'), 1);
      setNonZeroLora(params, w, ALL, 7);
      const model = new LlamaModel(rt, params);
      const rng = new Rng(9);
      const seq = Array.from({ length: T }, () => rng.int(refCfg.vocab));
      const cache = new KvCache(model, T + 3);
      await expectDecodeMatchesReference({
        ...{ model, cache, cfg: refCfg, w, prompt: seq, steps: 3, ropeFactor: 1 },
        next: (step) => (step * 31 + 7) % refCfg.vocab,
      });
      cache.destroy();
      model.destroy();
      params.destroy();
      expect(rt.liveTensors).toBe(0);
    });
  }

  for (const checkpointing of [true, false]) {
    it(`the memory plan equals the allocation with block-sized MLP buffers (checkpointing ${checkpointing ? 'on' : 'off'})`, async () => {
      const rt = await runtime();
      const before = rt.memory.snapshot().current;
      const refCfg = refConfig({ tied: false, pattern: 's2', targets: ALL });
      const shape = shapeOfRef(refCfg);
      const lora = { rank: 4, alpha: 8, targets: ALL, trainEmbed: true, trainNorm: true };
      const src = refWeightSource(shape, randomRefModel(refCfg, 1), 'BF16');
      const params = await LlamaParams.load(rt, shape, lora, src, 1);
      const model = new LlamaModel(rt, params, { checkpointing });
      const ids = Uint32Array.from({ length: T }, (_, i) => (i * 37) % refCfg.vocab);
      await model.forwardBackward(
        { ids, labels: Int32Array.from(ids) },
        { pattern: 's2', group: refCfg.group, ropeFactor: 2 },
      );
      const used = rt.memory.snapshot().current;
      const plan = planTraining({
        shape,
        weightBytes: 2,
        lora,
        context: T,
        checkpointing,
        limits: rt.info.limits,
      });
      for (const k of ['weights', 'lora', 'gradients', 'optimizer', 'activations'] as const) {
        expect(used[k] - before[k], k).toBe(plan.bytes[k]);
      }
      expect(used.workspace - before.workspace).toBeLessThanOrEqual(plan.bytes.workspace);
      expect(plan.largestBuffer.bytes).toBeLessThanOrEqual(CAP);
      // Whole [200, 256] f32 MLP buffers would be 200 KiB each; the plan without limits says so.
      const whole = planTraining({ shape, weightBytes: 2, lora, context: T, checkpointing });
      expect(whole.largestBuffer).toEqual({ name: 'mlp activations', bytes: T * F * 4 });
      const sets = checkpointing ? 1 : shape.layers;
      expect(whole.bytes.activations - plan.bytes.activations).toBe(sets * 3 * (T - 64) * F * 4);
      model.destroy();
      params.destroy();
      expect(rt.liveTensors).toBe(0);
    });
  }
});
