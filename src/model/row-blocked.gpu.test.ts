/**
 * Models whose embedding and output layer are row-blocked: a runtime with small caps splits them
 * into ≥ 3 blocks. Loss and every trainable gradient match the float64 reference (tied and untied
 * heads, trainable and frozen embeddings, bf16 and f32 weights, head_dim 64 with 8 query heads per
 * kv head); the memory plan equals what a training step allocates, its largest buffer a block.
 */
import { describe, expect, it } from 'vitest';
import type { RuntimeCaps } from '../engine/device.ts';
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
import { KvCache } from './kv-cache.ts';
import { LlamaModel } from './llama.ts';
import { floatBlocks, LlamaParams } from './params.ts';
import { planTraining } from './plan.ts';
import { LINEAR_NAMES, type AttentionPattern, type LinearName } from './types.ts';

interface Case {
  name: string;
  dtype: StorageDtype;
  tied: boolean;
  trainEmbed: boolean;
  vocab: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  N: number;
  G: number;
  pattern: AttentionPattern;
  targets: LinearName[];
  caps: RuntimeCaps;
  /** Fewest blocks expected of the embedding and of the output layer. */
  blocks: number;
}

const QV: LinearName[] = ['q_proj', 'v_proj'];
const ALL: LinearName[] = [...LINEAR_NAMES];
// 5120-byte blocks: a [512, 16] f32 table in 7 blocks of 80 rows (+ 32), bf16 in 4 of 160 (+ 32).
const SMALL = { maxStorageBufferBindingSize: 5120, maxBufferSize: 5120 };
const base = { vocab: 512, heads: 4, kvHeads: 2, headDim: 4, N: 16, G: 8, caps: SMALL };

const cases: Case[] = [
  {
    ...base,
    name: 'f32, tied, trainable embedding (dW over blocks), s2',
    dtype: 'F32',
    tied: true,
    trainEmbed: true,
    pattern: 's2',
    targets: QV,
    blocks: 7,
  },
  {
    ...base,
    name: 'bf16, untied, trainable embedding, s2roll, all targets',
    dtype: 'BF16',
    tied: false,
    trainEmbed: true,
    pattern: 's2roll',
    targets: ALL,
    blocks: 4,
  },
  {
    ...base,
    name: 'bf16, tied, frozen embedding, full',
    dtype: 'BF16',
    tied: true,
    trainEmbed: false,
    pattern: 'full',
    targets: QV,
    blocks: 4,
  },
  {
    ...base,
    name: 'f32, untied, frozen embedding, s2',
    dtype: 'F32',
    tied: false,
    trainEmbed: false,
    pattern: 's2',
    targets: QV,
    blocks: 7,
  },
  {
    name: 'bf16, untied, trainable embedding, head_dim 64, 8 query heads per kv head',
    dtype: 'BF16',
    tied: false,
    trainEmbed: true,
    vocab: 2048,
    heads: 8,
    kvHeads: 1,
    headDim: 64,
    N: 8,
    G: 4,
    pattern: 's2',
    targets: ['q_proj', 'k_proj', 'v_proj', 'o_proj'],
    // q is [8, 512] f32 = 16 KiB; the [2048, 16] f32 embedding makes 8 blocks, the bf16 head 4.
    caps: { maxStorageBufferBindingSize: 16384, maxBufferSize: 16384 },
    blocks: 4,
  },
];

function refConfig(c: Case): RefConfig {
  return {
    vocab: c.vocab,
    hidden: 16,
    intermediate: 24,
    layers: 2,
    heads: c.heads,
    kvHeads: c.kvHeads,
    headDim: c.headDim,
    rmsEps: 1e-5,
    ropeTheta: 10000,
    ropeFactor: 2,
    tied: c.tied,
    pattern: c.pattern,
    group: c.G,
    loraTargets: c.targets,
    rank: 3,
    alpha: 6,
  };
}

describe('row-blocked embedding and output layer vs the float64 reference', () => {
  const runtimeFor = cappedRuntimes();

  for (const c of cases) {
    it(`loss and every trainable gradient match: ${c.name}`, async () => {
      const rt = await runtimeFor(c.caps);
      const refCfg = refConfig(c);
      const w = randomRefModel(refCfg, 7);
      const shape = shapeOfRef(refCfg);
      const src = refWeightSource(shape, w, c.dtype);
      const lora = {
        rank: 3,
        alpha: 6,
        targets: c.targets,
        trainEmbed: c.trainEmbed,
        trainNorm: true,
      };
      const params = await LlamaParams.load(rt, shape, lora, src, 1);
      expect(floatBlocks(params.embed).blocks.length).toBeGreaterThanOrEqual(c.blocks);
      expect(floatBlocks(params.lmHead).blocks.length).toBeGreaterThanOrEqual(c.blocks);
      expect(params.lmHead === params.embed).toBe(c.tied);
      setNonZeroLora(params, w, c.targets, 1);
      const rng = new Rng(3);
      const tokens = Array.from({ length: c.N }, () => rng.int(refCfg.vocab));
      tokens[1] = refCfg.vocab - 1; // a row of the last block
      const labels = tokens.map((t, i) => (i === 5 ? -100 : t));
      const ref = refLossAndGrads(refCfg, w, tokens, labels);

      const model = new LlamaModel(rt, params);
      const ids = Uint32Array.from(tokens);
      const shifted = nextTokenLabels(tokens, labels);
      const loss = await model.forwardBackward(
        { ids, labels: shifted },
        { pattern: c.pattern, group: c.G, ropeFactor: 2 },
      );
      expect(Math.abs(loss - ref.loss) / ref.loss).toBeLessThan(1e-3);

      const expected = expectedGradients(ref.grads, c);
      expect(await gradientErrors(rt, params, expected, 1e-3)).toEqual([]);
      model.destroy();
      params.destroy();
      expect(rt.liveTensors).toBe(0);
    });
  }

  for (const c of [cases[0]!, cases[1]!]) {
    it(`KV-cache decoding: each step's logits over the blocks match the reference (${c.dtype}, ${c.tied ? 'tied' : 'untied'})`, async () => {
      const rt = await runtimeFor(c.caps);
      const refCfg = { ...refConfig(c), pattern: 'full' as const, ropeFactor: 1 };
      const w = randomRefModel(refCfg, 5);
      const shape = shapeOfRef(refCfg);
      const lora = {
        rank: 3,
        alpha: 6,
        targets: c.targets,
        trainEmbed: c.trainEmbed,
        trainNorm: true,
      };
      const params = await LlamaParams.load(rt, shape, lora, refWeightSource(shape, w, c.dtype), 1);
      expect(floatBlocks(params.lmHead).blocks.length).toBeGreaterThanOrEqual(c.blocks);
      setNonZeroLora(params, w, c.targets);
      const model = new LlamaModel(rt, params);
      const rng = new Rng(9);
      const seq = Array.from({ length: 5 }, () => rng.int(refCfg.vocab));
      const cache = new KvCache(model, seq.length + 3);
      await expectDecodeMatchesReference({
        ...{ model, cache, cfg: refCfg, w, prompt: seq, steps: 3, ropeFactor: 1 },
        next: (step) => (step * 131 + 7) % refCfg.vocab,
      });
      cache.destroy();
      model.destroy();
      params.destroy();
      expect(rt.liveTensors).toBe(0);
    });
  }

  it('the memory plan equals what a training step allocates; its largest buffer is one block', async () => {
    const rt = await runtimeFor(SMALL);
    const before = rt.memory.snapshot().current;
    const c = cases[1]!; // untied bf16 head, trainable f32 embedding
    const refCfg = refConfig(c);
    const shape = shapeOfRef(refCfg);
    const lora = { rank: 3, alpha: 6, targets: QV, trainEmbed: true, trainNorm: true };
    const src = refWeightSource(shape, randomRefModel(refCfg, 1), 'BF16');
    const params = await LlamaParams.load(rt, shape, lora, src, 1);
    const model = new LlamaModel(rt, params);
    const T = c.N;
    const ids = Uint32Array.from({ length: T }, (_, i) => (i * 37) % c.vocab);
    await model.forwardBackward(
      { ids, labels: Int32Array.from(ids) },
      { pattern: 's2', group: c.G, ropeFactor: 2 },
    );
    const used = rt.memory.snapshot().current;
    const plan = planTraining({
      shape,
      weightBytes: 2,
      lora,
      context: T,
      checkpointing: true,
      limits: rt.info.limits,
    });
    for (const k of ['weights', 'lora', 'gradients', 'optimizer', 'activations'] as const) {
      expect(used[k] - before[k], k).toBe(plan.bytes[k]);
    }
    expect(used.workspace - before.workspace).toBeLessThanOrEqual(plan.bytes.workspace);
    const blockBytes = [
      ...floatBlocks(params.embed).blocks,
      ...floatBlocks(params.lmHead).blocks,
    ].map((b) => b.bytes);
    expect(plan.largestBuffer.bytes).toBe(Math.max(...blockBytes));
    expect(plan.largestBuffer.bytes).toBeLessThanOrEqual(SMALL.maxStorageBufferBindingSize);
    expect(plan.largestBuffer.name).toMatch(/^embed_tokens \(one of 7 blocks\)$/);
    // Unsplit, the same plan needs one 32 KiB buffer.
    const whole = planTraining({ shape, weightBytes: 2, lora, context: T, checkpointing: true });
    expect(whole.largestBuffer.bytes).toBe(c.vocab * 16 * 4);
    expect(whole.bytes.lora).toBe(plan.bytes.lora);
    model.destroy();
    params.destroy();
    expect(rt.liveTensors).toBe(0);
  });
});
