import { readFileSync } from 'node:fs';
import { InternalError } from '../util/errors.ts';
import { describe, expect, it } from 'vitest';
import { quantFixturePath } from '../test/quant-fixtures.ts';
import { dequantize, QUANT_FORMATS, QUANT_TYPES, type QuantType } from './quant.ts';
import { quantize } from './quantize.ts';

// fixtures/quant/quantize-*: seeded f32 rows and the blocks llama.cpp's own quantize_row_*_ref made
// from them (scripts/make-quantize-fixtures.sh compiles scripts/quantize-harness.c against its
// ggml-quants.c). Rows of 512: unit normal, 0.02·normal, 100·normal, outliers, zeros, 1e-7·normal,
// per-block scales with zero/constant/one-signed blocks, exact halves, all positive, all negative,
// sparse spikes, 1e4·normal.
const ROWS = 12;
const COLS = 512;
const bytes = (name: string) => new Uint8Array(readFileSync(quantFixturePath(name)));
const input = (() => {
  const b = bytes('quantize-input.f32');
  return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
})();

/** Each row's largest |x| and largest dequantization error |x − dequantize(quantize(x))|. */
function rowErrors(type: QuantType): { amax: number; err: number }[] {
  const back = dequantize(type, quantize(type, input)).values;
  const out: { amax: number; err: number }[] = [];
  for (let r = 0; r < ROWS; r++) {
    let amax = 0;
    let err = 0;
    for (let i = r * COLS; i < (r + 1) * COLS; i++) {
      amax = Math.max(amax, Math.abs(input[i]!));
      err = Math.max(err, Math.abs(input[i]! - back[i]!));
    }
    out.push({ amax, err });
  }
  return out;
}

describe("quantizers (fixtures/quant/quantize-*, llama.cpp's reference blocks)", () => {
  it('the fixture rows are what the harness documents', () => {
    expect(input.length).toBe(ROWS * COLS);
    expect(input.every(Number.isFinite)).toBe(true);
    expect(input.subarray(4 * COLS, 5 * COLS).every((v) => v === 0)).toBe(true);
  });

  for (const type of QUANT_TYPES) {
    it(`${type}: the same bytes as quantize_row_${type.toLowerCase()}_ref, block for block`, () => {
      const want = bytes(`quantize-${type.toLowerCase()}.blocks`);
      const f = QUANT_FORMATS[type];
      expect(want.length).toBe((ROWS * COLS * f.bytes) / f.block);
      const got = quantize(type, input);
      expect(got.length).toBe(want.length);
      const bad: string[] = [];
      for (let b = 0; b < want.length / f.bytes; b++) {
        const at = b * f.bytes;
        for (let j = 0; j < f.bytes; j++) {
          if (got[at + j] !== want[at + j]) {
            bad.push(`row ${Math.floor((b * f.block) / COLS)} block ${b} byte ${j}`);
            break;
          }
        }
      }
      expect(bad.slice(0, 8), `${bad.length} blocks differ`).toEqual([]);
    });
  }

  // The worst error relative to the row's largest |x|: half a step (the legacy types' step is
  // amax/8, /16 or /127 for the symmetric ones, up to 2·amax/15 or /31 for the affine ones; a whole
  // step where the symmetric ones clamp the far end), plus the f16 rounding of the scales; for the
  // K types (whose sub-block scales are themselves 6- or 8-bit), bounds a little above what the
  // fixture rows reach (Q4_K 0.071, Q5_K 0.053, Q6_K 0.016).
  const BOUNDS: Record<QuantType, number> = {
    Q8_0: 0.5 / 127 + 1e-3,
    Q4_0: 1 / 8 + 5e-3,
    Q4_1: 1 / 15 + 5e-3,
    Q5_0: 1 / 16 + 5e-3,
    Q5_1: 1 / 31 + 5e-3,
    Q4_K: 0.08,
    Q5_K: 0.06,
    Q6_K: 0.02,
  };
  for (const type of QUANT_TYPES) {
    it(`${type}: dequantize(quantize(x)) is within the type's step of x`, () => {
      rowErrors(type).forEach(({ amax, err }, r) => {
        if (r === 4) expect(err, 'zeros stay zero').toBe(0);
        // 1e-7·normal: the f16 scales underflow (to zero or a subnormal), so only the values' spread
        // (|x|, or max − min ≤ 2·amax around the affine types' min) and the f16 quantum bound it.
        else if (r === 5) {
          const spread = type === 'Q4_1' || type === 'Q5_1' ? 2 * amax : amax;
          expect(err, 'underflowing scales').toBeLessThanOrEqual(spread + 2 ** -24);
        } else expect(err / amax, `row ${r}`).toBeLessThanOrEqual(BOUNDS[type]);
      });
    });
  }

  it('quantizes whole blocks only, each block on its own', () => {
    expect(() => quantize('Q8_0', new Float32Array(33))).toThrow(InternalError);
    expect(() => quantize('Q4_K', new Float32Array(32))).toThrow(/256/);
    const whole = quantize('Q4_K', input);
    const row = quantize('Q4_K', input.subarray(COLS, 2 * COLS));
    expect(row).toEqual(whole.subarray((COLS / 256) * 144, ((2 * COLS) / 256) * 144));
  });
});
