import { describe, it } from 'vitest';
import { add, scale, swigluBackward, swigluForward } from './elementwise.ts';
import { dot, numericGradient, randoms } from './finite_diff.ts';
import { expectClose } from '../test/numeric.ts';
import { Rng } from '../util/rng.ts';

describe('reference elementwise', () => {
  it('swiglu backward matches finite differences of the forward (float64)', () => {
    const rng = new Rng(13);
    const n = 9;
    const gate = randoms(() => rng.next(), n, -4, 4);
    const up = randoms(() => rng.next(), n);
    const dOut = randoms(() => rng.next(), n);
    const loss = () => dot(swigluForward(gate, up, n), dOut);
    const { dGate, dUp } = swigluBackward(gate, up, dOut, n);
    expectClose('dGate', dGate, numericGradient(loss, gate), 1e-8, 1e-6);
    expectClose('dUp', dUp, numericGradient(loss, up), 1e-8, 1e-6);
  });

  it('swiglu, add and scale give hand-computed values', () => {
    expectClose(
      'silu',
      swigluForward([0, 1, -1], [2, 2, 2], 3),
      [0, 2 / (1 + Math.exp(-1)), -2 / (1 + Math.E)],
      1e-12,
      0,
    );
    expectClose('add', add([1, 2], [3, -5], 2), [4, -3], 0, 0);
    expectClose('scale', scale([1, -2], 0.5, 2), [0.5, -1], 0, 0);
  });
});
