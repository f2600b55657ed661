/**
 * Training trajectories against the float64 reference trainer (src/reference/trainer.ts): 10 optimizer
 * steps of the GPU trainer and of the reference from the same weights on the same blocks in file
 * order; every step's loss within 1e-4 relative and every trained tensor after the last step within
 * 1e-3 (norm-wise relative). On a tiny GQA model (untied, random weights and tokens) and on
 * stories260K (public/demo, real text) at a short context; s2 and full; plain steps, and with
 * gradient accumulation, clipping that acts, weight decay and a cosine schedule.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { randomRefModel, type RefConfig, type RefWeights } from '../reference/llama.ts';
import { demoAsset, hostName } from '../test/gpu.ts';
import {
  addRefLora,
  gpuVsReference,
  loadStoriesRef,
  loadStoriesTokenizer,
} from '../test/trajectory.ts';
import { Rng } from '../util/rng.ts';
import { cliDefaults, type RunSettings } from './settings.ts';
import type { LinearName } from '../io/config.ts';

const STEPS = 10;
const TARGETS: LinearName[] = ['q_proj', 'k_proj', 'v_proj', 'o_proj'];

type Variant = 'plain' | 'accumulate+clip';

/** Settings of one case; `clip` is set where it acts on most steps (checked below). */
function settingsFor(
  context: number,
  pattern: 's2' | 'full',
  variant: Variant,
  o: { lr: number; clip: number; rank: number },
): RunSettings {
  return {
    ...cliDefaults(context),
    attention: pattern,
    groupSize: pattern === 's2' ? context / 4 : context,
    ropeFactor: 2,
    rank: o.rank,
    alpha: 2 * o.rank,
    targets: TARGETS,
    trainable: ['embed', 'norm'],
    lr: o.lr,
    steps: STEPS,
    ...(variant === 'plain'
      ? { warmup: 2, schedule: 'constant', gradAccum: 1, clip: 0, weightDecay: 0 }
      : { warmup: 3, schedule: 'cosine', gradAccum: 2, clip: o.clip, weightDecay: 0.1 }),
  } as RunSettings;
}

const worst = { loss: 0, tensor: 0 };

async function check(
  label: string,
  cfg: RefConfig,
  w: RefWeights,
  ids: readonly number[],
  s: RunSettings,
): Promise<void> {
  const r = await gpuVsReference(cfg, w, ids, s);
  expect(r.gpu).toHaveLength(STEPS);
  const lossWorst = Math.max(...r.lossErrors);
  const [tName, tWorst] = [...r.tensorErrors].reduce((a, b) => (b[1] > a[1] ? b : a));
  console.log(
    `${hostName()} ${label}: worst step loss ${lossWorst.toExponential(2)} (rel), worst tensor ` +
      `${tWorst.toExponential(2)} (${tName}); loss ${r.ref[0]!.loss.toFixed(4)} → ${r.ref.at(-1)!.loss.toFixed(4)}`,
  );
  worst.loss = Math.max(worst.loss, lossWorst);
  worst.tensor = Math.max(worst.tensor, tWorst);
  r.lossErrors.forEach((e, i) => expect(e, `${label} step ${i + 1} loss`).toBeLessThan(1e-4));
  for (const [name, e] of r.tensorErrors) expect(e, `${label} ${name}`).toBeLessThan(1e-3);
  // The runs learn (the loss moves) and the learning rates are the same.
  expect(r.ref.at(-1)!.loss).not.toBe(r.ref[0]!.loss);
  r.gpu.forEach((g, i) => expect(Math.abs(g.lr - r.ref[i]!.lr)).toBeLessThan(1e-12));
  if (s.clip > 0) {
    // Clipping acted on most steps (the norm is reported before clipping), and the norms agree.
    expect(r.ref.filter((x) => x.gradNorm > s.clip).length).toBeGreaterThanOrEqual(STEPS / 2);
    r.gpu.forEach((g, i) =>
      expect(Math.abs(g.gradNorm - r.ref[i]!.gradNorm) / r.ref[i]!.gradNorm).toBeLessThan(1e-3),
    );
  }
}

describe('training trajectory vs the float64 reference trainer', () => {
  describe('tiny GQA model (4 query heads over 2 kv heads, untied), 16 tokens', () => {
    const cfg: RefConfig = {
      vocab: 48,
      hidden: 32,
      intermediate: 40,
      layers: 2,
      heads: 4,
      kvHeads: 2,
      headDim: 8,
      rmsEps: 1e-5,
      ropeTheta: 10000,
      ropeFactor: 2,
      tied: false,
      pattern: 's2',
      group: 4,
      loraTargets: TARGETS,
      rank: 4,
      alpha: 8,
    };
    const w = randomRefModel(cfg, 11);
    const rng = new Rng(12);
    // 5 blocks of 16: 10 steps (20 micro-batches with accumulation) go round them several times.
    const ids = Array.from({ length: 5 * 16 + 1 }, () => rng.int(cfg.vocab));
    for (const pattern of ['s2', 'full'] as const) {
      for (const variant of ['plain', 'accumulate+clip'] as const) {
        it(`${pattern}, ${variant}`, async () => {
          const s = settingsFor(16, pattern, variant, { lr: 1e-2, clip: 0.25, rank: 4 });
          await check(`tiny ${pattern} ${variant}`, cfg, w, ids, s);
        });
      }
    }
  });

  describe('stories260K (public/demo), 32 tokens, RoPE ×2', () => {
    let cfg: RefConfig;
    let w: RefWeights;
    let ids: number[];
    beforeAll(async () => {
      ({ cfg, w } = await loadStoriesRef());
      cfg = { ...cfg, loraTargets: TARGETS, rank: 4, alpha: 8 };
      addRefLora(cfg, w, 21);
      const tok = await loadStoriesTokenizer();
      const text = new TextDecoder().decode(
        (await demoAsset('tinystories-197k.txt')).slice(0, 4000),
      );
      ids = tok.encode(text).slice(0, 4 * 32 + 1);
      expect(ids).toHaveLength(4 * 32 + 1);
    });
    for (const pattern of ['s2', 'full'] as const) {
      for (const variant of ['plain', 'accumulate+clip'] as const) {
        it(`${pattern}, ${variant}`, async () => {
          const s = settingsFor(32, pattern, variant, { lr: 5e-3, clip: 0.5, rank: 4 });
          await check(`stories260K ${pattern} ${variant}`, cfg, w, ids, s);
        });
      }
    }
    it('reports the worst differences of all cases', () => {
      console.log(
        `${hostName()} trajectory worst: step loss ${worst.loss.toExponential(2)}, tensor ${worst.tensor.toExponential(2)}`,
      );
      expect(worst.loss).toBeGreaterThan(0);
    });
  });
});
