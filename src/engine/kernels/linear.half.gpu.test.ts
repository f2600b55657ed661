import { describe, expect, it } from 'vitest';
import { checkF16Linear, F16_SHAPES } from '../../test/linear-f16-check.ts';
import { supports } from '../../test/linear-check.ts';
import { testRuntime } from '../../test/gpu.ts';
import type { Runtime } from '../runtime.ts';
import type { LinearOp, MatmulVariant } from './matmul.ts';

/** Every 16-bit shape, overwrite and accumulate; returns how many shapes ran and the worst ratios. */
async function checkAll(rt: Runtime, op: LinearOp, variant: MatmulVariant) {
  let ran = 0;
  let worst = 0;
  let modelError = 0;
  for (const dtype of ['bf16', 'f16'] as const) {
    for (const shape of F16_SHAPES) {
      if (!supports(rt, variant, op, dtype, shape)) continue;
      for (const accumulate of [false, true]) {
        const r = await checkF16Linear(rt, op, variant, dtype, shape, { accumulate, alpha: 0.5 });
        worst = Math.max(worst, r.worst);
        modelError = Math.max(modelError, r.modelError || 0);
      }
      ran++;
    }
  }
  return { ran, worst, modelError };
}

describe('linear, half kernel (f16 products, f16 partial sums of 16, f32 across K)', () => {
  for (const op of ['forward', 'backwardInput'] as const) {
    it(`${op}: the emulated build (f16 rounding in f32) against float64 and the f16 model`, async () => {
      const rt = await testRuntime();
      const r = await checkAll(rt, op, 'half_emu');
      expect(r.ran).toBe(2 * F16_SHAPES.length);
      // Within f16's tolerance, and the same values as the TypeScript model of its roundings.
      expect(r.worst).toBeLessThanOrEqual(1);
      expect(r.modelError).toBeLessThan(1e-5);
      expect(rt.liveTensors).toBe(0);
    });
  }

  it('rows far outside f16’s range (1e-7 gradients, 300× activations, zeros) keep f16’s relative error', async () => {
    // Unscaled, a 1e-7 row's products would be below f16's smallest value (6e-8) and flush to 0.
    const rt = await testRuntime();
    for (const op of ['forward', 'backwardInput'] as const) {
      const r = await checkF16Linear(rt, op, 'half_emu', 'bf16', [8, 136, 40], {
        rowScales: [1e-7, 300, 1, 2e-3, 0],
      });
      expect(r.worst, op).toBeLessThanOrEqual(1);
    }
    expect(rt.liveTensors).toBe(0);
  });

  it('the f16 build itself where the adapter has shader-f16 (none here: never offered)', async () => {
    const rt = await testRuntime();
    if (!rt.info.features.shaderF16) {
      // Checked in detail by hardware-paths.gpu.test.ts; here: no shape runs it.
      for (const shape of F16_SHAPES)
        expect(supports(rt, 'half', 'forward', 'bf16', shape)).toBe(false);
      return;
    }
    for (const op of ['forward', 'backwardInput'] as const) {
      const r = await checkAll(rt, op, 'half');
      expect(r.ran).toBe(2 * F16_SHAPES.length);
      expect(r.worst).toBeLessThanOrEqual(1);
    }
  });
});
