import { describe, expect, it } from 'vitest';
import { shaderParams, uniformLayout } from './uniforms.ts';

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

  it('emits its struct and named u32 constants as WGSL', () => {
    const L = uniformLayout({ mode: 'u32', x: 'f32' }, { consts: { MODE_A: 0, MODE_B: 7 } });
    expect(L.wgsl('P')).toBe(
      'struct P {\n  mode: u32,\n  x: f32,\n}\nconst MODE_A: u32 = 0u;\nconst MODE_B: u32 = 7u;',
    );
    expect(() => uniformLayout({ m: 'u32' }, { consts: { 'no good': 1 } })).toThrow(/not a u32/);
    expect(() => uniformLayout({ m: 'u32' }, { consts: { NEG: -1 } })).toThrow(/not a u32/);
  });

  it('is the layout of the shaders it lists; one shader cannot have two different layouts', () => {
    const L = uniformLayout({ n: 'u32' }, { shaders: ['uniforms_test.a', 'uniforms_test.b'] });
    expect(shaderParams('uniforms_test.a')).toBe(L);
    expect(shaderParams('uniforms_test.b')).toBe(L);
    expect(shaderParams('uniforms_test.none')).toBeUndefined();
    // The same declaration again (a module evaluated twice) is accepted.
    expect(() => uniformLayout({ n: 'u32' }, { shaders: ['uniforms_test.a'] })).not.toThrow();
    expect(() => uniformLayout({ n: 'f32' }, { shaders: ['uniforms_test.b'] })).toThrow(
      'shader uniforms_test.b is listed by two different uniform layouts',
    );
  });
});
