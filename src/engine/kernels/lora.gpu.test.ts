import { describe, expect, it } from 'vitest';
import { loraBackward, loraForward } from './lora.ts';
import type { MatmulVariant } from './matmul.ts';
import { loraBackward as refBackward, loraForward as refForward } from '../../reference/lora.ts';
import type { Runtime, Tensor } from '../runtime.ts';
import { testRuntime } from '../../test/gpu.ts';
import { expectClose } from '../../test/numeric.ts';
import { Rng } from '../../util/rng.ts';

// [T, in, out, r]: odd sizes (partial 16-tiles in every dimension) and PEFT's default r = 8.
const SHAPES: [number, number, number, number][] = [
  [1, 3, 2, 1],
  [19, 33, 17, 8],
  [40, 24, 48, 5],
  [36, 32, 40, 8],
];
// Each shape with the adapter's default matmuls, plus the tiled ones (the GPU default when unaligned).
const CASES: [[number, number, number, number], MatmulVariant | undefined][] = SHAPES.flatMap(
  (s) => [
    [s, undefined],
    [s, 'tiled'],
  ],
);

function setup(rt: Runtime, [T, inF, outF, r]: [number, number, number, number], seed: number) {
  const rng = new Rng(seed);
  const v = {
    x: rng.floats(T * inF),
    A: rng.floats(r * inF, -0.5, 0.5),
    B: rng.floats(outF * r, -0.5, 0.5),
    y0: rng.floats(T * outF),
    dy: rng.floats(T * outF),
    dA0: rng.floats(r * inF),
    dB0: rng.floats(outF * r),
    dx0: rng.floats(T * inF),
  };
  const t = {
    x: rt.tensor([T, inF], 'f32', 'activations', 'x', v.x),
    A: rt.tensor([r, inF], 'f32', 'lora', 'A', v.A),
    B: rt.tensor([outF, r], 'f32', 'lora', 'B', v.B),
    xa: rt.tensor([T, r], 'f32', 'activations', 'xa'),
    y: rt.tensor([T, outF], 'f32', 'activations', 'y', v.y0),
    dy: rt.tensor([T, outF], 'f32', 'activations', 'dy', v.dy),
    dA: rt.tensor([r, inF], 'f32', 'gradients', 'dA', v.dA0),
    dB: rt.tensor([outF, r], 'f32', 'gradients', 'dB', v.dB0),
    dx: rt.tensor([T, inF], 'f32', 'activations', 'dx', v.dx0),
    ws: rt.tensor([T, r], 'f32', 'workspace', 'g'),
  };
  const destroy = () => Object.values(t).forEach((x: Tensor) => x.destroy());
  return { v, t, destroy };
}

const plus = (a: ArrayLike<number>, b: ArrayLike<number>) =>
  Float64Array.from(a, (x, i) => x + b[i]!);

describe('LoRA kernels against the float64 reference', () => {
  for (const [shape, variant] of CASES) {
    const [T, inF, outF, r] = shape;
    const scaling = 16 / r;
    it(`forward and backward at T=${T} in=${inF} out=${outF} r=${r}, ${variant ?? 'default'} matmuls`, async () => {
      const rt = await testRuntime();
      const { v, t, destroy } = setup(rt, shape, T * 100 + inF + r);
      loraForward(rt, t.x, t.A, t.B, t.xa, t.y, T, inF, outF, r, scaling, { variant });
      const fwd = refForward(v.x, v.A, v.B, T, inF, outF, r, scaling);
      expectClose('xa', await rt.read(t.xa), fwd.xa, 1e-5, 1e-3);
      expectClose('y (+= onto x·Wᵀ)', await rt.read(t.y), plus(fwd.y, v.y0), 1e-5, 1e-3);

      // Backward uses the GPU's xa, as training does.
      const xa = await rt.read(t.xa);
      loraBackward(
        rt,
        t.x,
        t.A,
        t.B,
        t.xa,
        t.dy,
        t.dA,
        t.dB,
        t.dx,
        t.ws,
        T,
        inF,
        outF,
        r,
        scaling,
        {
          variant,
        },
      );
      const bwd = refBackward(v.x, v.A, v.B, xa, v.dy, T, inF, outF, r, scaling);
      expectClose('g (workspace)', await rt.read(t.ws), bwd.g, 1e-4, 1e-3);
      expectClose('dB (+=)', await rt.read(t.dB), plus(bwd.dB, v.dB0), 1e-4, 1e-3);
      expectClose('dA (+=)', await rt.read(t.dA), plus(bwd.dA, v.dA0), 1e-4, 1e-3);
      expectClose('dx (+=)', await rt.read(t.dx), plus(bwd.dx, v.dx0), 1e-4, 1e-3);
      destroy();
      expect(rt.liveTensors).toBe(0);
    });
  }

  it('accumulates dA and dB over micro-steps, bit-identically on every run', async () => {
    const rt = await testRuntime();
    const shape: [number, number, number, number] = [37, 20, 24, 8];
    const [T, inF, outF, r] = shape;
    const { v, t, destroy } = setup(rt, shape, 99);
    loraForward(rt, t.x, t.A, t.B, t.xa, t.y, T, inF, outF, r, 2);
    const xa = await rt.read(t.xa);
    const results: Float32Array[][] = [];
    for (let run = 0; run < 2; run++) {
      rt.zero(t.dA);
      rt.zero(t.dB);
      for (let step = 0; step < 3; step++) {
        loraBackward(rt, t.x, t.A, t.B, t.xa, t.dy, t.dA, t.dB, t.dx, t.ws, T, inF, outF, r, 2);
      }
      results.push([await rt.read(t.dA), await rt.read(t.dB)]);
    }
    const bwd = refBackward(v.x, v.A, v.B, xa, v.dy, T, inF, outF, r, 2);
    expectClose(
      'dA after 3 steps',
      results[0]![0]!,
      bwd.dA.map((g) => 3 * g),
      1e-4,
      1e-3,
    );
    expectClose(
      'dB after 3 steps',
      results[0]![1]!,
      bwd.dB.map((g) => 3 * g),
      1e-4,
      1e-3,
    );
    expect(results[1]![0]).toEqual(results[0]![0]);
    expect(results[1]![1]).toEqual(results[0]![1]);
    destroy();
  });
});
