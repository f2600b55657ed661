import { describe, expect, it } from 'vitest';
import { checkVariant, DTYPES, SHAPES } from '../../test/linear-check.ts';
import { linearForward } from './matmul.ts';
import { testRuntime } from '../../test/gpu.ts';

describe('linear, subgroup kernel (where the adapter has subgroups)', () => {
  for (const op of ['forward', 'backwardInput'] as const) {
    it(`${op}: matches the reference on every shape and dtype, or is refused`, async () => {
      const rt = await testRuntime();
      if (!rt.info.features.subgroups) {
        const x = rt.tensor([2, 4], 'f32', 'activations', 'x');
        const w = rt.tensor([4, 4], 'f32', 'weights', 'w');
        const y = rt.tensor([2, 4], 'f32', 'activations', 'y');
        expect(() => linearForward(rt, x, w, y, 2, 4, 4, { variant: 'subgroup' })).toThrow(
          /subgroup/,
        );
        for (const t of [x, w, y]) t.destroy();
        return;
      }
      expect(await checkVariant(rt, op, 'subgroup')).toBe(DTYPES.length * SHAPES.length);
      expect(rt.liveTensors).toBe(0);
    });
  }
});
