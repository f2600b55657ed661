import { describe, expect, it } from 'vitest';
import { crossEntropyForward } from './cross_entropy.ts';
import { numericGradient, randoms } from './finite_diff.ts';
import { expectClose } from '../test/numeric.ts';
import { Rng } from '../util/rng.ts';

describe('reference cross-entropy', () => {
  it('dHidden and dW match finite differences of the summed loss (float64)', () => {
    const rng = new Rng(15);
    const [T, D, V] = [4, 3, 7];
    const hidden = randoms(() => rng.next(), T * D, -2, 2);
    const W = randoms(() => rng.next(), V * D, -2, 2);
    const labels = [3, -100, 0, 6];
    const scale = 0.25;
    const loss = () => crossEntropyForward(hidden, W, labels, T, D, V).loss * scale;
    const { dHidden, dW } = crossEntropyForward(hidden, W, labels, T, D, V, scale);
    expectClose('dHidden', dHidden, numericGradient(loss, hidden), 1e-8, 1e-6);
    expectClose('dW', dW, numericGradient(loss, W), 1e-8, 1e-6);
  });

  it('gives log V for zero logits and ignores −100 labels', () => {
    const { loss, dHidden } = crossEntropyForward(
      [0, 0, 1, 1],
      [0, 0, 0, 0, 0, 0],
      [2, -100],
      2,
      2,
      3,
    );
    expect(loss).toBeCloseTo(Math.log(3), 12);
    expectClose('ignored row', dHidden.subarray(2), [0, 0], 0, 0);
  });
});
