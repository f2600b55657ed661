import { describe, it } from 'vitest';
import { embeddingBackward, embeddingForward } from './embedding.ts';
import { dot, numericGradient, randoms } from './finite_diff.ts';
import { expectClose } from '../test/numeric.ts';
import { Rng } from '../util/rng.ts';

describe('reference embedding', () => {
  it('backward matches finite differences of the forward, repeated ids summed (float64)', () => {
    const rng = new Rng(14);
    const [V, T, D] = [5, 6, 3];
    const ids = [4, 1, 4, 0, 9, 4]; // 9 is out of range: a zero row, no gradient
    const table = randoms(() => rng.next(), V * D);
    const dOut = randoms(() => rng.next(), T * D);
    const loss = () => dot(embeddingForward(ids, table, T, D), dOut);
    expectClose(
      'dTable',
      embeddingBackward(ids, dOut, V, T, D),
      numericGradient(loss, table),
      1e-8,
      1e-6,
    );
    expectClose('zero row', embeddingForward(ids, table, T, D).subarray(12, 15), [0, 0, 0], 0, 0);
  });
});
