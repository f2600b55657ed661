import { describe, expect, it } from 'vitest';
import { linearBackwardInput, linearForward, matmulNT } from './matmul.ts';
import { expectClose } from '../test/numeric.ts';
import { Rng } from '../util/rng.ts';

/** Σ y·G: a scalar loss whose gradient with respect to y is G. */
function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

describe('reference matmul', () => {
  it('matmulNT matches a hand-computed 2×2', () => {
    // [[1,2],[3,4]] · [[5,6],[7,8]]ᵀ = [[17,23],[39,53]]
    expect([...matmulNT([1, 2, 3, 4], [5, 6, 7, 8], 2, 2, 2)]).toEqual([17, 23, 39, 53]);
  });

  it('linearBackwardInput is the gradient of linearForward (finite differences)', () => {
    const [T, inF, outF] = [3, 5, 4];
    const rng = new Rng(7);
    const x = Float64Array.from(rng.floats(T * inF));
    const w = Float64Array.from(rng.floats(outF * inF));
    const G = Float64Array.from(rng.floats(T * outF));
    const loss = (xx: Float64Array) => dot(linearForward(xx, w, T, inF, outF), G);
    const h = 1e-6;
    const fd = new Float64Array(T * inF);
    for (let i = 0; i < fd.length; i++) {
      const p = x.slice();
      const m = x.slice();
      p[i]! += h;
      m[i]! -= h;
      fd[i] = (loss(p) - loss(m)) / (2 * h);
    }
    expectClose('dx', linearBackwardInput(G, w, T, inF, outF), fd, 1e-8, 1e-6);
  });
});
