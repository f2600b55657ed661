import { describe, expect, it } from 'vitest';
import { add, addInto, grid2d, scale, swigluBackward, swigluForward } from './elementwise.ts';
import * as ref from '../../reference/elementwise.ts';
import { testRuntime } from '../../test/gpu.ts';
import { expectClose } from '../../test/numeric.ts';
import { Rng } from '../../util/rng.ts';

describe('elementwise kernels (f32)', () => {
  for (const n of [1, 257, 1003]) {
    it(`swiglu forward/backward match the float64 reference at n=${n}`, async () => {
      const rt = await testRuntime();
      const rng = new Rng(n);
      // Wide gate range: the sigmoid must not overflow for large |g|.
      const gate = rng.floats(n, -30, 30);
      const up = rng.floats(n);
      const dOut = rng.floats(n);
      const tg = rt.tensor([n], 'f32', 'activations', 'gate', gate);
      const tu = rt.tensor([n], 'f32', 'activations', 'up', up);
      const to = rt.tensor([n], 'f32', 'activations', 'out');
      const td = rt.tensor([n], 'f32', 'activations', 'dOut', dOut);
      const tdg = rt.tensor([n], 'f32', 'activations', 'dGate', rng.floats(n));
      const tdu = rt.tensor([n], 'f32', 'activations', 'dUp', rng.floats(n));
      swigluForward(rt, tg, tu, to, n);
      swigluBackward(rt, tg, tu, td, tdg, tdu, n);
      expectClose('out', await rt.read(to), ref.swigluForward(gate, up, n));
      const b = ref.swigluBackward(gate, up, dOut, n);
      expectClose('dGate', await rt.read(tdg), b.dGate, 1e-4);
      expectClose('dUp', await rt.read(tdu), b.dUp, 1e-4);
      for (const t of [tg, tu, to, td, tdg, tdu]) t.destroy();
      expect(rt.liveTensors).toBe(0);
    });
  }

  it('add, addInto and scale match the reference at an odd size', async () => {
    const rt = await testRuntime();
    const n = 1001;
    const rng = new Rng(7);
    const a = rng.floats(n);
    const b = rng.floats(n);
    const ta = rt.tensor([n], 'f32', 'activations', 'a', a);
    const tb = rt.tensor([n], 'f32', 'activations', 'b', b);
    const to = rt.tensor([n], 'f32', 'activations', 'out');
    add(rt, ta, tb, to, n);
    expectClose('a + b', await rt.read(to), ref.add(a, b, n));
    addInto(rt, ta, tb, n);
    expectClose('a += b', await rt.read(ta), ref.addInto(a, b, n));
    scale(rt, tb, -0.75, n - 1); // the last element stays as it was
    const want = ref.scale(b, -0.75, n);
    want[n - 1] = b[n - 1]!;
    expectClose('b *= s', await rt.read(tb), want);
    for (const t of [ta, tb, to]) t.destroy();
  });

  it('covers n beyond 65535 workgroups of 256 lanes with a 2D grid', async () => {
    const rt = await testRuntime();
    const n = 65535 * 256 + 300;
    const [x, y] = grid2d(Math.ceil(n / 256), rt.device.limits.maxComputeWorkgroupsPerDimension);
    expect(y).toBeGreaterThan(1);
    expect(x * y * 256).toBeGreaterThanOrEqual(n);
    const src = new Float32Array(n);
    for (let i = 0; i < n; i++) src[i] = (i % 1000) - 500;
    const tdst = rt.tensor([n], 'f32', 'activations', 'dst', new Float32Array(n).fill(1));
    const tsrc = rt.tensor([n], 'f32', 'activations', 'src', src);
    addInto(rt, tdst, tsrc, n);
    const got = await rt.read(tdst);
    let bad = -1;
    for (let i = 0; i < n; i++) {
      if (got[i] !== src[i]! + 1) {
        bad = i;
        break;
      }
    }
    expect(bad).toBe(-1);
    tdst.destroy();
    tsrc.destroy();
  });
});

describe('grid2d', () => {
  it('keeps small counts 1D and splits large ones so x·y ≥ count with x ≤ the limit', () => {
    expect(grid2d(5)).toEqual([5, 1]);
    expect(grid2d(65535)).toEqual([65535, 1]);
    const [x, y] = grid2d(200000);
    expect(x).toBeLessThanOrEqual(65535);
    expect(x * y).toBeGreaterThanOrEqual(200000);
  });
});
