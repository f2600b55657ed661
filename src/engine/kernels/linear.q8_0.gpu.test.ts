import { describe, expect, it } from 'vitest';
import { checkQuantVariant } from '../../test/linear-quant-check.ts';
import { testRuntime } from '../../test/gpu.ts';

describe('linear, q8_0 kernels (W in Q8_0 blocks, dequantized inside), against the float64 reference on the dequantized weights', () => {
  for (const op of ['forward', 'backwardInput'] as const) {
    it(`${op}: every shape, overwrite and accumulate`, async () => {
      const rt = await testRuntime();
      const worst = await checkQuantVariant(rt, op, 'Q8_0');
      expect(worst).toBeLessThan(1e-3);
      expect(rt.liveTensors).toBe(0);
    });
  }
});
