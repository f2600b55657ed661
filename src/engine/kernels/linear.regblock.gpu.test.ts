import { describe, expect, it } from 'vitest';
import { checkVariant } from '../../test/linear-check.ts';
import { testRuntime } from '../../test/gpu.ts';

describe('linear, regblock kernel, W f32 / bf16 / f16, against the float64 reference', () => {
  for (const op of ['forward', 'backwardInput'] as const) {
    it(`${op}: every supported shape and dtype, overwrite and accumulate`, async () => {
      const rt = await testRuntime();
      const ran = await checkVariant(rt, op, 'regblock');
      // Aligned shapes only: 6 with f32 W, 5 with each 16-bit dtype (44 is not 8-aligned).
      expect(ran).toBe(16);
      expect(rt.liveTensors).toBe(0);
    });
  }
});
