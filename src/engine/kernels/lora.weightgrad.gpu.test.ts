import { describe, expect, it } from 'vitest';
import { weightGradAccumulate, type WeightGradVariant } from './lora.ts';
import { testRuntime } from '../../test/gpu.ts';
import { expectClose } from '../../test/numeric.ts';
import { Rng } from '../../util/rng.ts';

/** C0 + alpha · Pᵀ·Q in float64. */
function reference(
  P: Float32Array,
  Q: Float32Array,
  C0: Float32Array,
  T: number,
  M: number,
  N: number,
  alpha: number,
): Float64Array {
  const out = Float64Array.from(C0);
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      let s = 0;
      for (let t = 0; t < T; t++) s += P[t * M + m]! * Q[t * N + n]!;
      out[m * N + n]! += alpha * s;
    }
  }
  return out;
}

// [T, M, N]: LoRA's dB (M = out, N = r) and dA (M = r, N = in) shapes, edges off every block size.
const SHAPES: [number, number, number][] = [
  [1, 1, 1],
  [19, 17, 8],
  [37, 8, 33],
  [64, 5, 48],
  [130, 35, 3],
];

describe.each(['tiled', 'direct'] as const)(
  'weightGradAccumulate (%s kernel)',
  (variant: WeightGradVariant) => {
    for (const [T, M, N] of SHAPES) {
      it(`C += alpha · Pᵀ·Q matches float64 at T=${T}, M=${M}, N=${N}`, async () => {
        const rt = await testRuntime();
        const rng = new Rng(T * 1000 + M * 10 + N);
        const P = rng.floats(T * M);
        const Q = rng.floats(T * N);
        const C0 = rng.floats(M * N);
        const alpha = 1.75;
        const tp = rt.tensor([T, M], 'f32', 'activations', 'P', P);
        const tq = rt.tensor([T, N], 'f32', 'activations', 'Q', Q);
        const tc = rt.tensor([M, N], 'f32', 'gradients', 'C', C0);
        weightGradAccumulate(rt, tp, tq, tc, T, M, N, alpha, variant);
        expectClose('C', await rt.read(tc), reference(P, Q, C0, T, M, N, alpha), 1e-4, 1e-4);
        for (const t of [tp, tq, tc]) t.destroy();
        expect(rt.liveTensors).toBe(0);
      });
    }

    it('gives the same bits on every run', async () => {
      const rt = await testRuntime();
      const [T, M, N] = [75, 24, 8];
      const rng = new Rng(7);
      const tp = rt.tensor([T, M], 'f32', 'activations', 'P', rng.floats(T * M));
      const tq = rt.tensor([T, N], 'f32', 'activations', 'Q', rng.floats(T * N));
      const tc = rt.tensor([M, N], 'f32', 'gradients', 'C');
      const runs: Uint32Array[] = [];
      for (let run = 0; run < 2; run++) {
        rt.zero(tc);
        for (let step = 0; step < 2; step++)
          weightGradAccumulate(rt, tp, tq, tc, T, M, N, 0.5, variant);
        runs.push(new Uint32Array((await rt.read(tc)).buffer.slice(0)));
      }
      expect(runs[1]).toEqual(runs[0]);
      for (const t of [tp, tq, tc]) t.destroy();
    });
  },
);
