/**
 * Float64 reference of the 16-bit layer-input checkpoints (shaders/checkpoint16.{pack,unpack}.wgsl):
 * f32 → IEEE binary16 by arithmetic rather than bit tricks (round to nearest, ties to even; |x| ≥ 65520
 * and ±inf → ±inf; NaN → quiet NaN 0x7e00 with its sign; below 2^-14 subnormals, below 2^-25 and at
 * it ±0; f32 subnormals ±0; the sign of zero kept), packed two per u32 (element e in word e >> 1, the
 * low half when e is even), and binary16 → f32 exactly (a NaN's payload shifted to the top).
 */

/** Rounds a non-negative float to the nearest integer, ties to even. */
function roundEven(q: number): number {
  const f = Math.floor(q);
  const d = q - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/** The binary16 bits of the f32 whose bits are `bits`. */
export function halfOfF32Bits(bits: number): number {
  const b = bits >>> 0;
  const sign = b & 0x80000000 ? 0x8000 : 0;
  const expField = (b >>> 23) & 0xff;
  const mant = b & 0x7fffff;
  if (expField === 0xff) return sign | (mant ? 0x7e00 : 0x7c00);
  if (expField === 0) return sign; // zero or an f32 subnormal (< 2^-126)
  const a = (1 + mant / 2 ** 23) * 2 ** (expField - 127);
  if (a >= 65520) return sign | 0x7c00;
  if (a < 2 ** -14) return sign | roundEven(a / 2 ** -24); // may round up to 0x400, the smallest normal
  const e = expField - 127;
  const q = roundEven(a / 2 ** (e - 10)); // in [1024, 2048]
  if (q === 2048) return sign | ((e + 16) << 10);
  return sign | ((e + 15) << 10) | (q - 1024);
}

/** The f32 bits of a binary16 (exact). */
export function f32BitsOfHalf(h: number): number {
  const sign = h & 0x8000 ? 0x80000000 : 0;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0x1f) return (sign | 0x7f800000 | (mant << 13)) >>> 0;
  const v = exp === 0 ? mant * 2 ** -24 : (1 + mant / 1024) * 2 ** (exp - 15);
  const f = new Float32Array([v]);
  return (new Uint32Array(f.buffer)[0]! | sign) >>> 0;
}

/** n f32 values (as bits) packed as halves, two per word. */
export function packCheckpoint16(bits: Uint32Array): Uint32Array {
  const out = new Uint32Array(Math.ceil(bits.length / 2));
  for (let e = 0; e < bits.length; e++) {
    out[e >> 1] = (out[e >> 1]! | (halfOfF32Bits(bits[e]!) << (e & 1 ? 16 : 0))) >>> 0;
  }
  return out;
}

/** n f32 values (as bits) from halves packed two per word. */
export function unpackCheckpoint16(packed: Uint32Array, n: number): Uint32Array {
  const out = new Uint32Array(n);
  for (let e = 0; e < n; e++) {
    const word = packed[e >> 1]!;
    out[e] = f32BitsOfHalf(e & 1 ? word >>> 16 : word & 0xffff);
  }
  return out;
}

/** Each value rounded to f32, then to binary16, and back: what a 16-bit checkpoint holds. */
export function roundThroughHalf(x: Float64Array): Float64Array {
  const f = Float32Array.from(x);
  const round = unpackCheckpoint16(packCheckpoint16(new Uint32Array(f.buffer)), x.length);
  return Float64Array.from(new Float32Array(round.buffer));
}
