import { describe, expect, it } from 'vitest';
import {
  rmsnormAddForward,
  rmsnormBackward,
  rmsnormBackwardWorkspaceSize,
  rmsnormForward,
} from './rmsnorm.ts';
import * as ref from '../../reference/rmsnorm.ts';
import { testRuntime } from '../../test/gpu.ts';
import { expectClose } from '../../test/numeric.ts';
import { Rng } from '../../util/rng.ts';

describe('rmsnorm forward/backward (f32)', () => {
  // T = 70 spans three 32-row partial sums of dw; D = 300 exceeds the 256 lanes of a row.
  const shapes: [number, number][] = [
    [1, 1],
    [5, 37],
    [3, 300],
    [70, 64],
  ];
  for (const variant of ['workgroup', 'rows'] as const)
    for (const [T, D] of shapes) {
      it(`${variant} variant matches the float64 reference at T=${T}, D=${D}`, async () => {
        const rt = await testRuntime();
        const rng = new Rng(T * 1000 + D);
        const eps = 1e-5;
        const x = rng.floats(T * D, -2, 2);
        const w = rng.floats(D, 0.5, 1.5);
        const dy = rng.floats(T * D);
        const dx0 = rng.floats(T * D);
        const dw0 = rng.floats(D);
        const tx = rt.tensor([T, D], 'f32', 'activations', 'x', x);
        const tw = rt.tensor([D], 'f32', 'weights', 'w', w);
        const ty = rt.tensor([T, D], 'f32', 'activations', 'y');
        const tr = rt.tensor([T], 'f32', 'activations', 'rstd');
        const tdy = rt.tensor([T, D], 'f32', 'activations', 'dy', dy);
        const tdx = rt.tensor([T, D], 'f32', 'activations', 'dx', dx0);
        const tdw = rt.tensor([D], 'f32', 'gradients', 'dw', dw0);
        rmsnormForward(rt, tx, tw, ty, tr, T, D, eps, variant);
        const f = ref.rmsnormForward(x, w, T, D, eps);
        expectClose('y', await rt.read(ty), f.y);
        expectClose('rstd', await rt.read(tr), f.rstd);

        const b = ref.rmsnormBackward(x, w, f.rstd, dy, T, D);
        rmsnormBackward(rt, tx, tw, tr, tdy, tdx, tdw, T, D, { accumulateDx: true, variant });
        expectClose(
          'dx (accumulated)',
          await rt.read(tdx),
          b.dx.map((v, i) => v + dx0[i]!),
          1e-4,
        );
        expectClose(
          'dw (accumulated)',
          await rt.read(tdw),
          b.dw.map((v, i) => v + dw0[i]!),
          1e-4,
        );

        // Overwrite mode, with a caller-owned workspace; dw keeps accumulating.
        const ws = rt.tensor([rmsnormBackwardWorkspaceSize(T, D)], 'f32', 'workspace', 'ws');
        rmsnormBackward(rt, tx, tw, tr, tdy, tdx, tdw, T, D, { workspace: ws, variant });
        expectClose('dx (overwritten)', await rt.read(tdx), b.dx, 1e-4);
        expectClose(
          'dw (twice)',
          await rt.read(tdw),
          b.dw.map((v, i) => 2 * v + dw0[i]!),
          1e-4,
        );
        for (const t of [tx, tw, ty, tr, tdy, tdx, tdw, ws]) t.destroy();
        expect(rt.liveTensors).toBe(0);
        expect(rt.memory.snapshot().current.workspace).toBe(0);
      });
    }
});

describe('residual add + rmsnorm in one launch (rmsnormAddForward)', () => {
  for (const variant of ['workgroup', 'rows'] as const)
    for (const [T, D] of [
      [5, 37],
      [3, 300],
    ] as const) {
      it(`${variant}: h += res, then the norm of h, as the float64 reference at T=${T}, D=${D}`, async () => {
        const rt = await testRuntime();
        const rng = new Rng(T * 7 + D);
        const [h, res] = [rng.floats(T * D, -2, 2), rng.floats(T * D, -2, 2)];
        const w = rng.floats(D, 0.5, 1.5);
        const th = rt.tensor([T, D], 'f32', 'activations', 'h', h);
        const tres = rt.tensor([T, D], 'f32', 'activations', 'res', res);
        const tw = rt.tensor([D], 'f32', 'weights', 'w', w);
        const ty = rt.tensor([T, D], 'f32', 'activations', 'y');
        const tr = rt.tensor([T], 'f32', 'activations', 'rstd');
        rmsnormAddForward(rt, th, tres, tw, ty, tr, T, D, 1e-5, variant);
        const sum = h.map((v, i) => Math.fround(v + res[i]!));
        expect(await rt.read(th)).toEqual(Float32Array.from(sum));
        const f = ref.rmsnormForward(sum, w, T, D, 1e-5);
        expectClose('y', await rt.read(ty), f.y);
        expectClose('rstd', await rt.read(tr), f.rstd);
        for (const t of [th, tres, tw, ty, tr]) t.destroy();
        expect(rt.liveTensors).toBe(0);
      });
    }
});
