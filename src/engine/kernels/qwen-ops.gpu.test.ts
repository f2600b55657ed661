/**
 * The two kernels the Qwen architectures add (src/io/arch.ts): a projection's bias (Qwen2's q/k/v)
 * and the per-head RMSNorm of q and k (Qwen3), forward and backward with the weight gradient,
 * against their float64 references.
 */
import { describe, it } from 'vitest';
import { biasAdd } from './elementwise.ts';
import {
  headRmsnormBackward,
  headRmsnormBackwardWorkspaceSize,
  headRmsnormForward,
} from './rmsnorm.ts';
import * as refEl from '../../reference/elementwise.ts';
import * as refNorm from '../../reference/rmsnorm.ts';
import { testRuntime } from '../../test/gpu.ts';
import { expectClose } from '../../test/numeric.ts';
import { Rng } from '../../util/rng.ts';

describe('bias add (forward; a frozen bias passes dy through)', () => {
  // 70 × 300 spans more than one 256-lane workgroup and rows that straddle workgroups.
  for (const [T, N] of [
    [1, 3],
    [12, 40],
    [70, 300],
  ] as const) {
    it(`y += b per row matches the float64 reference at T=${T}, N=${N}`, async () => {
      const rt = await testRuntime();
      const rng = new Rng(T * 31 + N);
      const y0 = rng.floats(T * N, -2, 2);
      const b = rng.floats(N, -1, 1);
      const ty = rt.tensor([T, N], 'f32', 'activations', 'y', y0);
      const tb = rt.tensor([N], 'f32', 'weights', 'b', b);
      biasAdd(rt, ty, tb, T, N);
      expectClose('y + b', await rt.read(ty), refEl.biasAdd(y0, b, T, N), 1e-6);
      // Rows v… of a row view only (v: the first row at a 256-byte offset): the rows before it
      // keep their values.
      const gcd = (a: number, c: number): number => (c ? gcd(c, a % c) : a);
      const v = 64 / gcd(N, 64);
      if (T > v) {
        biasAdd(rt, ty.rows(v, T - v), tb, T - v, N);
        const once = refEl.biasAdd(y0, b, T, N);
        const twice = Float64Array.from(once, (x, i) => (i >= v * N ? x + b[i % N]! : x));
        expectClose('row view', await rt.read(ty), twice, 1e-6);
      }
      ty.destroy();
      tb.destroy();
    });
  }
});

describe('per-head RMSNorm (Qwen3 q_norm / k_norm) forward and backward', () => {
  // 16 heads × 9 tokens = 144 rows spans several 32-row partial sums of dw; hd 128 as in Qwen3.
  const shapes: [number, number, number][] = [
    [1, 1, 2],
    [5, 3, 8],
    [9, 16, 128],
  ];
  for (const variant of ['workgroup', 'rows'] as const)
    for (const [T, H, hd] of shapes) {
      it(`${variant}: T=${T}, H=${H}, hd=${hd} matches the float64 reference`, async () => {
        const rt = await testRuntime();
        const rng = new Rng(T * 100 + H * 10 + hd);
        const eps = 1e-6;
        const n = T * H * hd;
        const x = rng.floats(n, -3, 3);
        const w = rng.floats(hd, 0.5, 1.5);
        const dy = rng.floats(n);
        const dw0 = rng.floats(hd);
        const tx = rt.tensor([T, H * hd], 'f32', 'activations', 'x', x);
        const tw = rt.tensor([hd], 'f32', 'lora', 'w', w);
        const ty = rt.tensor([T, H * hd], 'f32', 'activations', 'y');
        const tr = rt.tensor([T, H], 'f32', 'activations', 'rstd');
        const tdy = rt.tensor([T, H * hd], 'f32', 'activations', 'dy', dy);
        const tdx = rt.tensor([T, H * hd], 'f32', 'activations', 'dx');
        const tdw = rt.tensor([hd], 'f32', 'gradients', 'dw', dw0);
        const ws = rt.tensor(
          [headRmsnormBackwardWorkspaceSize(T, H, hd)],
          'f32',
          'workspace',
          'ws',
        );
        headRmsnormForward(rt, tx, tw, ty, tr, T, H, hd, eps, variant);
        const f = refNorm.headRmsnormForward(x, w, T, H, hd, eps);
        expectClose('y', await rt.read(ty), f.y);
        expectClose('rstd', await rt.read(tr), f.rstd);
        headRmsnormBackward(rt, tx, tw, tr, tdy, tdx, tdw, T, H, hd, { workspace: ws, variant });
        const b = refNorm.headRmsnormBackward(x, w, f.rstd, dy, T, H, hd);
        expectClose('dx', await rt.read(tdx), b.dx, 1e-4);
        expectClose(
          'dw (accumulated)',
          await rt.read(tdw),
          b.dw.map((v, i) => v + dw0[i]!),
          1e-4,
        );
        for (const t of [tx, tw, ty, tr, tdy, tdx, tdw, ws]) t.destroy();
      });
    }
});
