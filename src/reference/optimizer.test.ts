import { describe, expect, it } from 'vitest';
import { adamwStep, gradNormSquared, type AdamWHyper } from './optimizer.ts';
import { expectClose } from '../test/numeric.ts';

describe('reference AdamW', () => {
  it('follows a hand-derived two-step trajectory (bias correction, no decay)', () => {
    const h: AdamWHyper = {
      lr: 1,
      beta1: 0.5,
      beta2: 0.75,
      eps: 0,
      weightDecay: 0,
      step: 1,
      gradScale: 1,
    };
    const p = Float64Array.of(3);
    const m = new Float64Array(1);
    const v = new Float64Array(1);
    adamwStep(p, [1], m, v, 1, h);
    // m = 0.5, v = 0.25, m̂ = 1, v̂ = 1 → p = 3 − 1.
    expectClose('p1', p, [2], 1e-15, 0);
    expectClose('m1', m, [0.5], 0, 0);
    expectClose('v1', v, [0.25], 0, 0);
    adamwStep(p, [-2], m, v, 1, { ...h, step: 2 });
    // m = 0.25 − 1 = −0.75, v = 0.1875 + 1 = 1.1875, m̂ = −0.75/0.75 = −1, v̂ = 1.1875/0.4375 = 19/7.
    expectClose('p2', p, [2 + 1 / Math.sqrt(19 / 7)], 1e-15, 0);
    expectClose('m2', m, [-0.75], 0, 0);
    expectClose('v2', v, [1.1875], 0, 0);
  });

  it('applies decoupled weight decay and the gradient scale (constant gradient closed form)', () => {
    // With a constant gradient, m̂ = g and v̂ = g² every step: p ← p·(1 − lr·wd) − lr·g/(|g| + eps).
    const h: AdamWHyper = {
      lr: 0.1,
      beta1: 0.9,
      beta2: 0.95,
      eps: 1e-8,
      weightDecay: 0.1,
      step: 1,
      gradScale: 0.5,
    };
    const p = Float64Array.of(1, -2);
    const m = new Float64Array(2);
    const v = new Float64Array(2);
    const want = [1, -2];
    const g = [1, -3]; // scaled: 0.5, −1.5
    for (let step = 1; step <= 3; step++) {
      adamwStep(p, g, m, v, 2, { ...h, step });
      for (let i = 0; i < 2; i++) {
        const gs = g[i]! * 0.5;
        want[i] = want[i]! * (1 - 0.1 * 0.1) - (0.1 * gs) / (Math.abs(gs) + 1e-8);
      }
      expectClose(`p after step ${step}`, p, want, 1e-14, 1e-12);
    }
  });
});

describe('reference gradNormSquared', () => {
  it('sums squares over all listed buffers, only their first n elements', () => {
    expect(
      gradNormSquared([
        { data: [1, 2, 99], n: 2 },
        { data: [3], n: 1 },
      ]),
    ).toBe(14);
  });
});
