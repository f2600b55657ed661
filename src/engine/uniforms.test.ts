import { describe, expect, it } from 'vitest';
import { uniformLayout } from './uniforms.ts';

describe('uniformLayout', () => {
  it('packs fields in declaration order, 4 bytes each, padded to 16', () => {
    const L = uniformLayout({ M: 'u32', scale: 'f32', off: 'i32', K: 'u32', extra: 'u32' });
    expect(L.byteSize).toBe(32);
    const dv = new DataView(L.pack({ M: 7, scale: 0.5, off: -3, K: 9, extra: 1 }));
    expect(dv.getUint32(0, true)).toBe(7);
    expect(dv.getFloat32(4, true)).toBe(0.5);
    expect(dv.getInt32(8, true)).toBe(-3);
    expect(dv.getUint32(12, true)).toBe(9);
    expect(L.wgsl()).toContain('scale: f32,');
  });

  it('rejects a missing field', () => {
    const L = uniformLayout({ M: 'u32', N: 'u32' });
    expect(() => L.pack({ M: 1 } as { M: number; N: number })).toThrow(/N is missing/);
  });
});
