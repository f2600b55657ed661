import { describe, expect, it } from 'vitest';
import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from './half.ts';

describe('16-bit conversions', () => {
  it('round-trips exactly representable values', () => {
    for (const x of [0, 1, -2, 0.5, 65504, -0.25, 6.103515625e-5]) {
      expect(f16ToF32(f32ToF16(x))).toBe(x);
    }
    for (const x of [0, 1, -2, 0.5, 3.140625, -1024]) expect(bf16ToF32(f32ToBf16(x))).toBe(x);
  });

  it('rounds to nearest even and handles subnormals, overflow and NaN', () => {
    expect(f32ToF16(1 + 2 ** -11)).toBe(0x3c00); // tie → even
    expect(f32ToF16(1 + 3 * 2 ** -11)).toBe(0x3c02);
    expect(f16ToF32(f32ToF16(2 ** -24))).toBe(2 ** -24); // smallest subnormal
    expect(f32ToF16(1e6)).toBe(0x7c00);
    expect(Number.isNaN(f16ToF32(f32ToF16(NaN)))).toBe(true);
    expect(f32ToBf16(1 + 2 ** -8)).toBe(0x3f80); // tie → even
    expect(f32ToBf16(1 + 3 * 2 ** -8)).toBe(0x3f82);
    expect(Number.isNaN(bf16ToF32(f32ToBf16(NaN)))).toBe(true);
  });
});
