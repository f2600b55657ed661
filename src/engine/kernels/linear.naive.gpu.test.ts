import { describe, expect, it } from 'vitest';
import { checkVariant, DTYPES, SHAPES } from '../../test/linear-check.ts';
import { testRuntime } from '../../test/gpu.ts';

describe('linear, naive kernel, W f32 / bf16 / f16, against the float64 reference', () => {
  for (const op of ['forward', 'backwardInput'] as const) {
    it(`${op}: every supported shape and dtype, overwrite and accumulate`, async () => {
      const rt = await testRuntime();
      const ran = await checkVariant(rt, op, 'naive');
      expect(ran).toBe(DTYPES.length * SHAPES.length);
      expect(rt.liveTensors).toBe(0);
    });
  }
});
