import { describe, expect, it } from 'vitest';
import { ropeBackward, ropeForward, ropeInvFreq, ropeQK } from './rope.ts';
import * as ref from '../../reference/rope.ts';
import { testRuntime } from '../../test/gpu.ts';
import { expectClose } from '../../test/numeric.ts';
import { Rng } from '../../util/rng.ts';

describe('rope rotate-half (f32, in place)', () => {
  const cases: { T: number; nh: number; hd: number; pos: number; invFreq: Float32Array }[] = [
    { T: 5, nh: 3, hd: 10, pos: 7, invFreq: ropeInvFreq(10, 10000, 2) },
    { T: 19, nh: 2, hd: 16, pos: 0, invFreq: ropeInvFreq(16, 10000, 1) },
    // Long-context positions: angles up to ~32k rad must stay accurate after range reduction.
    { T: 6, nh: 1, hd: 64, pos: 32760, invFreq: ropeInvFreq(64, 10000, 1) },
    {
      T: 3,
      nh: 2,
      hd: 128,
      pos: 131000,
      invFreq: ropeInvFreq(128, 500000, 1, {
        factor: 8,
        low_freq_factor: 1,
        high_freq_factor: 4,
        original_max_position_embeddings: 8192,
      }),
    },
  ];
  for (const { T, nh, hd, pos, invFreq } of cases) {
    it(`forward and backward match the float64 reference at T=${T}, nh=${nh}, hd=${hd}, pos=${pos}`, async () => {
      const rt = await testRuntime();
      const rng = new Rng(T * 31 + hd + pos);
      const x = rng.floats(T * nh * hd);
      const g = rng.floats(T * nh * hd);
      const tf = rt.tensor([hd / 2], 'f32', 'weights', 'invFreq', invFreq);
      const tx = rt.tensor([T, nh, hd], 'f32', 'activations', 'x', x);
      const tg = rt.tensor([T, nh, hd], 'f32', 'activations', 'dx', g);
      ropeForward(rt, tx, tf, T, nh, hd, pos);
      ropeBackward(rt, tg, tf, T, nh, hd, pos);
      expectClose('rope(x)', await rt.read(tx), ref.ropeForward(x, invFreq, T, nh, hd, pos));
      expectClose(
        'ropeᵀ(dx)',
        await rt.read(tg),
        ref.ropeBackward(g, invFreq, T, nh, hd, pos),
        1e-4,
      );
      // The backward rotation undoes the forward one.
      ropeBackward(rt, tx, tf, T, nh, hd, pos);
      expectClose('round trip', await rt.read(tx), x, 1e-5);
      for (const t of [tf, tx, tg]) t.destroy();
      expect(rt.liveTensors).toBe(0);
    });
  }

  // q and k in one launch (the decoder layer's): GQA 9 over 3 heads, and 32 over 4 at head_dim 64.
  for (const [T, nq, nk, hd, pos] of [
    [7, 9, 3, 16, 5],
    [3, 32, 4, 64, 8190],
  ] as const) {
    it(`q and k in one launch (ropeQK) match the reference: T=${T}, ${nq} q over ${nk} k heads, hd=${hd}, pos=${pos}`, async () => {
      const rt = await testRuntime();
      const rng = new Rng(T * nq + hd);
      const invFreq = ropeInvFreq(hd, 10000, 4);
      const [q, k] = [rng.floats(T * nq * hd), rng.floats(T * nk * hd)];
      const tf = rt.tensor([hd / 2], 'f32', 'weights', 'invFreq', invFreq);
      const tq = rt.tensor([T, nq, hd], 'f32', 'activations', 'q', q);
      const tk = rt.tensor([T, nk, hd], 'f32', 'activations', 'k', k);
      ropeQK(rt, tq, tk, tf, T, nq, nk, hd, pos, 1);
      expectClose('rope(q)', await rt.read(tq), ref.ropeForward(q, invFreq, T, nq, hd, pos));
      expectClose('rope(k)', await rt.read(tk), ref.ropeForward(k, invFreq, T, nk, hd, pos));
      // The backward on (q, k) as gradients: the transposed rotation, undoing the forward.
      ropeQK(rt, tq, tk, tf, T, nq, nk, hd, pos, -1);
      expectClose('round trip q', await rt.read(tq), q, 1e-5);
      expectClose('round trip k', await rt.read(tk), k, 1e-5);
      rt.write(tk, k);
      ropeQK(rt, tq, tk, tf, T, nq, nk, hd, pos, -1);
      expectClose(
        'ropeᵀ(k)',
        await rt.read(tk),
        ref.ropeBackward(k, invFreq, T, nk, hd, pos),
        1e-4,
      );
      for (const t of [tf, tq, tk]) t.destroy();
      expect(rt.liveTensors).toBe(0);
    });
  }

  it('computes cos/sin of the f32 angle to within 2e-6 at every position up to 40000', async () => {
    // hd = 2 and x = (1, 0) per token make the output (cos a, sin a) with a = f32(t · f).
    const rt = await testRuntime();
    const T = 40000;
    const x = new Float32Array(T * 2);
    for (let t = 0; t < T; t++) x[2 * t] = 1;
    for (const f of [1, 0.3, 0.0178, 1e-3]) {
      const tf = rt.tensor([1], 'f32', 'weights', 'invFreq', Float32Array.of(f));
      const tx = rt.tensor([T, 1, 2], 'f32', 'activations', 'x', x);
      ropeForward(rt, tx, tf, T, 1, 2, 0);
      const got = await rt.read(tx);
      const want = new Float64Array(T * 2);
      for (let t = 0; t < T; t++) {
        const a = ref.ropeAngle(t, f);
        want[2 * t] = Math.cos(a);
        want[2 * t + 1] = Math.sin(a);
      }
      expectClose(`(cos, sin) at invFreq ${f}`, got, want, 2e-6, 0);
      tf.destroy();
      tx.destroy();
    }
  });
});
