import { describe, expect, it } from 'vitest';
import { Rng } from '../util/rng.ts';
import { LORA_MODULES, randomRefModel, refLossAndGrads, type RefConfig } from './llama.ts';
import {
  refLearningRate,
  refTrain,
  refTrainables,
  type RefBlock,
  type RefTrainSettings,
} from './trainer.ts';

const cfg: RefConfig = {
  vocab: 13,
  hidden: 8,
  intermediate: 12,
  layers: 2,
  heads: 4,
  kvHeads: 2,
  headDim: 2,
  rmsEps: 1e-5,
  ropeTheta: 10000,
  ropeFactor: 2,
  tied: true,
  pattern: 's2',
  group: 4,
  loraTargets: [...LORA_MODULES].slice(0, 4),
  rank: 2,
  alpha: 4,
};

const settings: RefTrainSettings = {
  lr: 1e-2,
  warmup: 0,
  schedule: 'constant',
  steps: 1,
  gradAccum: 1,
  clip: 0,
  beta1: 0.9,
  beta2: 0.95,
  eps: 1e-8,
  weightDecay: 0,
  trainEmbed: true,
  trainNorm: true,
  order: 'sequential',
  seed: 3,
};

/** Blocks of 8 random tokens cut as src/train cuts them (labels = next token, last −100). */
function blocks(n: number, seed: number): RefBlock[] {
  const rng = new Rng(seed);
  const ids = Array.from({ length: 8 * n + 1 }, () => rng.int(cfg.vocab));
  return Array.from({ length: n }, (_, b) => ({
    ids: ids.slice(8 * b, 8 * b + 8),
    labels: Array.from({ length: 8 }, (_, t) => (t === 7 ? -100 : ids[8 * b + t + 1]!)),
  }));
}

const hfLabels = (b: RefBlock) =>
  Array.from({ length: b.ids.length }, (_, t) => (t === 0 ? -100 : b.labels[t - 1]!));

describe('reference trainer', () => {
  it('learning rate: linear warmup, then constant or cosine down to 0 at the last step', () => {
    const s = { ...settings, lr: 0.4, warmup: 4, steps: 12 };
    expect([1, 2, 4, 5, 12].map((k) => refLearningRate(s, k))).toEqual([0.1, 0.2, 0.4, 0.4, 0.4]);
    const c = { ...s, schedule: 'cosine' as const };
    expect(refLearningRate(c, 4)).toBeCloseTo(0.4, 15);
    expect(refLearningRate(c, 8)).toBeCloseTo(0.2, 15); // half-way through the 8 decay steps
    expect(refLearningRate(c, 12)).toBeCloseTo(0, 15);
  });

  it('first step: every trained tensor moves by lr·g/(|g| + eps), the bias-corrected AdamW step', () => {
    const w = randomRefModel(cfg, 1);
    const [b] = blocks(1, 2);
    const before = refTrainables(cfg, w, settings).map((t) => t.param.slice());
    const { loss, grads } = refLossAndGrads(cfg, w, Array.from(b!.ids), hfLabels(b!));
    const [rec] = refTrain(cfg, w, [b!], settings);
    expect(rec!.loss).toBe(loss);
    const trained = refTrainables(cfg, w, settings);
    expect(trained).toHaveLength(1 + 2 * 2 + 2 * 4 * 2 + 1);
    trained.forEach((t, i) => {
      const g = t.grad(grads);
      t.param.forEach((p, e) => {
        const want = before[i]![e]! - (1e-2 * g[e]!) / (Math.abs(g[e]!) + 1e-8);
        expect(Math.abs(p - want), `${t.name}[${e}]`).toBeLessThan(1e-15);
      });
    });
  });

  it('accumulating a block twice is one step on it; the norm is of the mean gradient, before clipping', () => {
    const b = blocks(1, 4);
    const clip = 1e-3;
    const w1 = randomRefModel(cfg, 5);
    const w2 = structuredClone(w1);
    const one = refTrain(cfg, w1, b, { ...settings, steps: 3, clip });
    const two = refTrain(cfg, w2, [b[0]!, b[0]!], { ...settings, steps: 3, clip, gradAccum: 2 });
    one.forEach((r, i) => {
      expect(Math.abs(two[i]!.loss - r.loss)).toBeLessThan(1e-13);
      expect(Math.abs(two[i]!.gradNorm - r.gradNorm)).toBeLessThan(1e-12);
      expect(r.gradNorm).toBeGreaterThan(clip); // reported unclipped
    });
    const p1 = refTrainables(cfg, w1, settings);
    const p2 = refTrainables(cfg, w2, settings);
    p1.forEach((t, i) =>
      t.param.forEach((x, e) => expect(Math.abs(x - p2[i]!.param[e]!)).toBeLessThan(1e-13)),
    );
  });

  it('takes blocks in file order across epochs, or shuffled by the seed; decays only LoRA; lowers the loss', () => {
    const bs = blocks(3, 6);
    const w0 = randomRefModel(cfg, 7);
    const at = (b: RefBlock) => refLossAndGrads(cfg, w0, Array.from(b.ids), hfLabels(b)).loss;
    // Step 1 of accumulation 2 sees blocks 0 and 1 at the initial weights.
    const seq = refTrain(cfg, structuredClone(w0), bs, { ...settings, gradAccum: 2 });
    expect(Math.abs(seq[0]!.loss - (at(bs[0]!) + at(bs[1]!)) / 2)).toBeLessThan(1e-14);
    // Shuffled: the first epoch is Fisher–Yates over 0..2 from new Rng(seed).
    const rng = new Rng(settings.seed);
    const order = [0, 1, 2];
    for (let i = 2; i > 0; i--) {
      const j = rng.int(i + 1);
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    const shuf = refTrain(cfg, structuredClone(w0), bs, { ...settings, order: 'shuffled' });
    expect(shuf[0]!.loss).toBe(at(bs[order[0]!]!));
    // Weight decay moves only the LoRA matrices: norms and the embedding end as without it.
    const wd = structuredClone(w0);
    const plain = structuredClone(w0);
    refTrain(cfg, wd, bs, { ...settings, weightDecay: 0.5 });
    refTrain(cfg, plain, bs, { ...settings });
    const d = refTrainables(cfg, wd, settings);
    const p = refTrainables(cfg, plain, settings);
    d.forEach((t, i) => {
      const same = t.param.every((x, e) => x === p[i]!.param[e]);
      expect(same, t.name).toBe(!t.decay);
    });
    // Ten steps on one block fit it.
    const fit = refTrain(cfg, structuredClone(w0), [bs[0]!], { ...settings, steps: 10 });
    expect(fit[9]!.loss).toBeLessThan(fit[0]!.loss - 0.1);
  });
});
