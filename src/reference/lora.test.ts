import { describe, it } from 'vitest';
import { loraBackward, loraForward } from './lora.ts';
import { expectClose } from '../test/numeric.ts';
import { Rng } from '../util/rng.ts';

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

/** Central differences of f at every coordinate of v. */
function numericGrad(v: Float64Array, f: (v: Float64Array) => number, h = 1e-6): Float64Array {
  const g = new Float64Array(v.length);
  for (let i = 0; i < v.length; i++) {
    const p = v.slice();
    const m = v.slice();
    p[i]! += h;
    m[i]! -= h;
    g[i] = (f(p) - f(m)) / (2 * h);
  }
  return g;
}

describe('reference LoRA', () => {
  const [T, inF, outF, r, scaling] = [4, 6, 5, 3, 16 / 3];
  const rng = new Rng(11);
  const x = Float64Array.from(rng.floats(T * inF));
  const A = Float64Array.from(rng.floats(r * inF));
  const B = Float64Array.from(rng.floats(outF * r));
  const G = Float64Array.from(rng.floats(T * outF));
  const loss = (xx: Float64Array, AA: Float64Array, BB: Float64Array) =>
    dot(loraForward(xx, AA, BB, T, inF, outF, r, scaling).y, G);
  const { xa } = loraForward(x, A, B, T, inF, outF, r, scaling);
  const grads = loraBackward(x, A, B, xa, G, T, inF, outF, r, scaling);

  it('forward equals scaling·(x·Aᵀ)·Bᵀ on a hand-checked element', () => {
    let want = 0;
    for (let j = 0; j < r; j++) {
      let xaj = 0;
      for (let i = 0; i < inF; i++) xaj += x[1 * inF + i]! * A[j * inF + i]!;
      want += xaj * B[2 * r + j]!;
    }
    const { y } = loraForward(x, A, B, T, inF, outF, r, scaling);
    expectClose('y[1,2]', [y[1 * outF + 2]!], [scaling * want], 1e-12, 1e-12);
  });

  it('dA matches finite differences', () => {
    expectClose(
      'dA',
      grads.dA,
      numericGrad(A, (a) => loss(x, a, B)),
      1e-7,
      1e-6,
    );
  });

  it('dB matches finite differences', () => {
    expectClose(
      'dB',
      grads.dB,
      numericGrad(B, (b) => loss(x, A, b)),
      1e-7,
      1e-6,
    );
  });

  it('dx matches finite differences', () => {
    expectClose(
      'dx',
      grads.dx,
      numericGrad(x, (v) => loss(v, A, B)),
      1e-7,
      1e-6,
    );
  });
});
