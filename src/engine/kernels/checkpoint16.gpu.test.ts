import { describe, expect, it } from 'vitest';
import { packCheckpoint16, unpackCheckpoint16 } from './checkpoint16.ts';
import * as ref from '../../reference/checkpoint16.ts';
import { testRuntime } from '../../test/gpu.ts';
import { Rng } from '../../util/rng.ts';

const bitsOf = (values: number[]) => new Uint32Array(Float32Array.from(values).buffer);
const hex = (a: ArrayLike<number>) => Array.from(a, (v) => (v >>> 0).toString(16));

// f32 bit patterns at the edges of binary16: rounding ties, overflow, subnormals, NaN, ±0, ±inf.
const EDGE_BITS: number[] = [
  ...bitsOf([0, -0, 1, -1, 1.5, 65504, -65504, 65519.99, 65520, -65520, 1e6, Infinity, -Infinity]),
  ...bitsOf([
    2 ** -14,
    2 ** -24,
    -(2 ** -24),
    2 ** -25,
    3 * 2 ** -25,
    3 * 2 ** -26,
    2 ** -25 * 1.0001,
    2 ** -26,
  ]),
  ...bitsOf([2 ** -14 - 2 ** -25, 1e-30, 0.1, 1 + 2 ** -11, 1 + 3 * 2 ** -11, 2049, 2051]),
  0x7fc00000, // quiet NaN
  0xffc00001, // negative NaN with payload
  0x7f800001, // signalling NaN
  0x00000001, // smallest f32 subnormal
  0x807fffff, // largest negative f32 subnormal
];

describe('16-bit checkpoint kernels (f32 ⇄ binary16 packed two per u32)', () => {
  it('the reference rounds to nearest even and handles the edges as documented', () => {
    const h = (v: number) => ref.halfOfF32Bits(bitsOf([v])[0]!);
    expect(h(1 + 2 ** -11)).toBe(0x3c00); // tie → even (down)
    expect(h(1 + 3 * 2 ** -11)).toBe(0x3c02); // tie → even (up)
    expect(h(65504)).toBe(0x7bff);
    expect(h(65519.99)).toBe(0x7bff);
    expect(h(65520)).toBe(0x7c00); // overflow → inf
    expect(h(-1e6)).toBe(0xfc00);
    expect(h(2 ** -24)).toBe(0x0001); // smallest subnormal
    expect(h(2 ** -25)).toBe(0x0000); // tie → even (zero)
    expect(h(3 * 2 ** -25)).toBe(0x0002); // 1.5 · 2^-24 ties up to 2
    expect(h(2 ** -14 - 2 ** -25)).toBe(0x0400); // rounds up into the normals
    expect(h(-0)).toBe(0x8000);
    expect(ref.halfOfF32Bits(0xffc00001)).toBe(0xfe00);
    expect(ref.halfOfF32Bits(0x00000001)).toBe(0);
    expect(ref.f32BitsOfHalf(0x0001)).toBe(bitsOf([2 ** -24])[0]);
    expect(ref.f32BitsOfHalf(0xfc00)).toBe(bitsOf([-Infinity])[0]);
  });

  for (const n of [1, 2, 7, 1025, EDGE_BITS.length]) {
    it(`pack then unpack match the reference bit for bit at n=${n}`, async () => {
      const rt = await testRuntime();
      const rng = new Rng(n);
      const bits = new Uint32Array(n);
      // Random values over many magnitudes (and both signs), then the edge patterns.
      const vals = Float32Array.from(
        { length: n },
        () => rng.uniform(-1, 1) * 2 ** rng.int(40 - 26),
      );
      bits.set(new Uint32Array(vals.buffer));
      if (n === EDGE_BITS.length) bits.set(EDGE_BITS);
      const x = rt.tensor([n], 'f32', 'activations', 'x', bits);
      const packed = rt.tensor([n], 'f16', 'activations', 'packed');
      const back = rt.tensor([n], 'f32', 'activations', 'back');
      // Poison the outputs so a word or element left unwritten shows.
      rt.write(packed, new Uint32Array(Math.ceil(n / 2)).fill(0xdeadbeef));
      rt.write(back, new Uint32Array(n).fill(0xdeadbeef));
      packCheckpoint16(rt, x, packed, n);
      unpackCheckpoint16(rt, packed, back, n);
      const gotPacked = new Uint32Array(await rt.readBytes(packed), 0, Math.ceil(n / 2));
      const wantPacked = ref.packCheckpoint16(bits);
      expect(hex(gotPacked)).toEqual(hex(wantPacked));
      const gotBack = new Uint32Array(await rt.readBytes(back), 0, n);
      expect(hex(gotBack)).toEqual(hex(ref.unpackCheckpoint16(wantPacked, n)));
      for (const t of [x, packed, back]) t.destroy();
      expect(rt.liveTensors).toBe(0);
    });
  }

  it('unpack is exact for every one of the 65536 halves', async () => {
    const rt = await testRuntime();
    const n = 65536;
    const words = new Uint32Array(n / 2);
    for (let w = 0; w < n / 2; w++) words[w] = ((2 * w) | ((2 * w + 1) << 16)) >>> 0;
    const packed = rt.tensor([n], 'f16', 'activations', 'packed', words);
    const out = rt.tensor([n], 'f32', 'activations', 'out');
    unpackCheckpoint16(rt, packed, out, n);
    const got = new Uint32Array(await rt.readBytes(out), 0, n);
    const want = ref.unpackCheckpoint16(words, n);
    expect(hex(got)).toEqual(hex(want));
    // And packing those f32 values gives the halves back (NaNs quieted: 0x7e00 | sign).
    const again = rt.tensor([n], 'f16', 'activations', 'again');
    packCheckpoint16(rt, out, again, n);
    const round = new Uint16Array(await rt.readBytes(again), 0, n);
    for (let h = 0; h < n; h++) {
      const isNaN = (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0;
      // A NaN keeps its sign and quiet bit only.
      if (round[h] !== (isNaN ? (h & 0x8000) | 0x7e00 : h))
        throw new Error(`half ${h.toString(16)}`);
    }
    for (const t of [packed, out, again]) t.destroy();
    expect(rt.liveTensors).toBe(0);
  });
});
