import { describe, expect, it } from 'vitest';
import { checkVariant, QUAD_SHAPES, SHAPES } from '../../test/linear-check.ts';
import { linearForward } from './matmul.ts';
import { testRuntime } from '../../test/gpu.ts';

describe('linear, quad8 kernel (A shared across each quad of lanes), W f32 / bf16 / f16, against the float64 reference', () => {
  for (const op of ['forward', 'backwardInput'] as const) {
    it(`${op}: every supported shape and dtype, overwrite and accumulate, or refused without subgroups`, async () => {
      const rt = await testRuntime();
      if (!rt.info.features.subgroups) {
        const x = rt.tensor([8, 16], 'f32', 'activations', 'x');
        const w = rt.tensor([4, 16], 'f32', 'weights', 'w');
        const y = rt.tensor([8, 4], 'f32', 'activations', 'y');
        expect(() => linearForward(rt, x, w, y, 8, 16, 4, { variant: 'quad8' })).toThrow(/quad8/);
        for (const t of [x, w, y]) t.destroy();
        return;
      }
      // K % 16 == 0 with W's contiguous dimension aligned: forward 6 shapes, the input gradient 3,
      // with each dtype; where the subgroup is one quad (SwiftShader) both with subgroupBroadcast
      // and with quadBroadcast, else with quadBroadcast.
      const want = op === 'forward' ? 18 : 9;
      const shapes = [...SHAPES, ...QUAD_SHAPES];
      expect(await checkVariant(rt, op, 'quad8', shapes, { quadBroadcast: true })).toBe(want);
      if (rt.info.features.subgroupSize === 4)
        expect(await checkVariant(rt, op, 'quad8', shapes)).toBe(want);
      expect(rt.liveTensors).toBe(0);
    });
  }
});
