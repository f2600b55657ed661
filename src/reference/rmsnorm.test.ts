import { describe, it } from 'vitest';
import { dot, numericGradient, randoms } from './finite_diff.ts';
import { rmsnormBackward, rmsnormForward } from './rmsnorm.ts';
import { expectClose } from '../test/numeric.ts';
import { Rng } from '../util/rng.ts';

describe('reference rmsnorm', () => {
  it('backward matches finite differences of the forward (float64)', () => {
    const rng = new Rng(11);
    const [T, D, eps] = [3, 5, 1e-5];
    const x = randoms(() => rng.next(), T * D);
    const w = randoms(() => rng.next(), D, 0.5, 1.5);
    const dy = randoms(() => rng.next(), T * D);
    const loss = () => dot(rmsnormForward(x, w, T, D, eps).y, dy);
    const { rstd } = rmsnormForward(x, w, T, D, eps);
    const { dx, dw } = rmsnormBackward(x, w, rstd, dy, T, D);
    expectClose('dx', dx, numericGradient(loss, x), 1e-8, 1e-6);
    expectClose('dw', dw, numericGradient(loss, w), 1e-8, 1e-6);
  });

  it('normalises each row to unit root-mean-square when w = 1', () => {
    const x = Float64Array.from([3, 4, 0, 0, 1, 1, 1, 1]);
    const { y, rstd } = rmsnormForward(x, [1, 1, 1, 1], 2, 4, 0);
    expectClose('rstd', rstd, [1 / Math.sqrt(25 / 4), 1], 1e-12, 1e-12);
    expectClose('y', y, [1.2, 1.6, 0, 0, 1, 1, 1, 1], 1e-12, 1e-12);
  });
});
