import { describe, expect, it } from 'vitest';
import { matmulNT } from './matmul.ts';
import { matmulNT as refMatmulNT } from '../../reference/matmul.ts';
import { testRuntime } from '../../test/gpu.ts';
import { expectClose } from '../../test/numeric.ts';
import { Rng } from '../../util/rng.ts';

describe('matmul.tiled (C = A·Bᵀ, f32)', () => {
  const shapes: [number, number, number][] = [
    [1, 1, 1],
    [17, 33, 9],
    [64, 48, 80],
    [37, 5, 129],
  ];
  for (const [M, N, K] of shapes) {
    it(`matches the float64 reference at ${M}×${N}×${K}`, async () => {
      const rt = await testRuntime();
      const rng = new Rng(M * 1000 + N * 10 + K);
      const a = rng.floats(M * K);
      const b = rng.floats(N * K);
      const ta = rt.tensor([M, K], 'f32', 'activations', 'A', a);
      const tb = rt.tensor([N, K], 'f32', 'weights', 'B', b);
      const tc = rt.tensor([M, N], 'f32', 'activations', 'C');
      matmulNT(rt, ta, tb, tc, M, N, K);
      const got = await rt.read(tc);
      expectClose('C', got, refMatmulNT(a, b, M, N, K), 1e-5, 1e-4);
      for (const t of [ta, tb, tc]) t.destroy();
      expect(rt.liveTensors).toBe(0);
    });
  }
});
