/**
 * ggml's quantized block formats that the GGUF reader accepts, and their dequantization to f32.
 *
 * The layouts are ggml's (llama.cpp `ggml-common.h`); the arithmetic is gguf-py's `quants.py`
 * (every step an f32 operation: a product of two f32 values, then a sum), which these reproduce bit for
 * bit — `src/io/quant.test.ts` checks them against values gguf-py wrote (fixtures/quant/, made by
 * scripts/make-quant-fixtures.py). JS computes each step in float64 and rounds it with Math.fround:
 * for one product or one sum of two f32 values that is exactly the f32 result.
 *
 * A block whose f16 scale (d, or the min/dmin) is infinite or NaN is reported, not decoded: its
 * values would be non-finite or arbitrary.
 */
import { f16ToF32 } from '../util/half.ts';

/** The quantized ggml types this reader dequantizes, by ggml type id. */
export const QUANT_TYPE_IDS = {
  Q4_0: 2,
  Q4_1: 3,
  Q5_0: 6,
  Q5_1: 7,
  Q8_0: 8,
  Q4_K: 12,
  Q5_K: 13,
  Q6_K: 14,
} as const;
export type QuantType = keyof typeof QUANT_TYPE_IDS;

export const QUANT_TYPES = Object.keys(QUANT_TYPE_IDS) as QuantType[];

/**
 * Dequantizes `nBlocks` blocks starting at `bytes[at]` into `out[o…]`; returns the index (from 0) of
 * the first block with a non-finite scale, or -1 when every block decoded.
 */
type Decoder = (
  bytes: Uint8Array,
  at: number,
  nBlocks: number,
  out: Float32Array,
  o: number,
) => number;

interface QuantFormat {
  id: number;
  /** Values per block. */
  block: number;
  /** Bytes per block. */
  bytes: number;
  decode: Decoder;
}

const fr = Math.fround;

/** An f16 at bytes[p] (little-endian). */
const half = (b: Uint8Array, p: number): number => b[p]! | (b[p + 1]! << 8);
/** Whether f16 bits are infinite or NaN (all exponent bits set). */
const nonFinite = (h: number): boolean => (h & 0x7c00) === 0x7c00;

/** Q8_0: f16 d, 32 × i8 q; x = q·d. */
const q8_0: Decoder = (b, at, n, out, o) => {
  for (let i = 0; i < n; i++, at += 34, o += 32) {
    const h = half(b, at);
    if (nonFinite(h)) return i;
    const d = f16ToF32(h);
    for (let j = 0; j < 32; j++) out[o + j] = fr(((b[at + 2 + j]! << 24) >> 24) * d);
  }
  return -1;
};

/** Q4_0: f16 d, 16 bytes of nibbles (value j low nibble of byte j, value j+16 its high nibble); x = (q−8)·d. */
const q4_0: Decoder = (b, at, n, out, o) => {
  for (let i = 0; i < n; i++, at += 18, o += 32) {
    const h = half(b, at);
    if (nonFinite(h)) return i;
    const d = f16ToF32(h);
    for (let j = 0; j < 16; j++) {
      const q = b[at + 2 + j]!;
      out[o + j] = fr(((q & 15) - 8) * d);
      out[o + j + 16] = fr(((q >> 4) - 8) * d);
    }
  }
  return -1;
};

/** Q4_1: f16 d, f16 m, nibbles as Q4_0; x = q·d + m. */
const q4_1: Decoder = (b, at, n, out, o) => {
  for (let i = 0; i < n; i++, at += 20, o += 32) {
    const hd = half(b, at);
    const hm = half(b, at + 2);
    if (nonFinite(hd) || nonFinite(hm)) return i;
    const d = f16ToF32(hd);
    const m = f16ToF32(hm);
    for (let j = 0; j < 16; j++) {
      const q = b[at + 4 + j]!;
      out[o + j] = fr(fr((q & 15) * d) + m);
      out[o + j + 16] = fr(fr((q >> 4) * d) + m);
    }
  }
  return -1;
};

/** The u32 (little-endian) at bytes[p]. */
const u32 = (b: Uint8Array, p: number): number =>
  (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24)) >>> 0;

/** Q5_0: f16 d, u32 of fifth bits (bit j for value j), nibbles as Q4_0; x = (q−16)·d. */
const q5_0: Decoder = (b, at, n, out, o) => {
  for (let i = 0; i < n; i++, at += 22, o += 32) {
    const h = half(b, at);
    if (nonFinite(h)) return i;
    const d = f16ToF32(h);
    const qh = u32(b, at + 2);
    for (let j = 0; j < 16; j++) {
      const q = b[at + 6 + j]!;
      const lo = (q & 15) | (((qh >>> j) & 1) << 4);
      const hi = (q >> 4) | (((qh >>> (j + 16)) & 1) << 4);
      out[o + j] = fr((lo - 16) * d);
      out[o + j + 16] = fr((hi - 16) * d);
    }
  }
  return -1;
};

/** Q5_1: f16 d, f16 m, u32 of fifth bits, nibbles; x = q·d + m. */
const q5_1: Decoder = (b, at, n, out, o) => {
  for (let i = 0; i < n; i++, at += 24, o += 32) {
    const hd = half(b, at);
    const hm = half(b, at + 2);
    if (nonFinite(hd) || nonFinite(hm)) return i;
    const d = f16ToF32(hd);
    const m = f16ToF32(hm);
    const qh = u32(b, at + 4);
    for (let j = 0; j < 16; j++) {
      const q = b[at + 8 + j]!;
      const lo = (q & 15) | (((qh >>> j) & 1) << 4);
      const hi = (q >> 4) | (((qh >>> (j + 16)) & 1) << 4);
      out[o + j] = fr(fr(lo * d) + m);
      out[o + j + 16] = fr(fr(hi * d) + m);
    }
  }
  return -1;
};

/**
 * The 6-bit scale and min of sub-block `j` (0–7) of a Q4_K/Q5_K block from its 12 scale bytes at
 * bytes[s]: sub-blocks 0–3 keep theirs in the low 6 bits of bytes 0–3 (scales) and 4–7 (mins);
 * 4–7 split theirs between a nibble of bytes 8–11 and the top 2 bits of bytes 0–7.
 */
function scaleMin(b: Uint8Array, s: number, j: number): [number, number] {
  if (j < 4) return [b[s + j]! & 63, b[s + j + 4]! & 63];
  const x = b[s + j + 4]!;
  return [(x & 15) | ((b[s + j - 4]! >> 6) << 4), (x >> 4) | ((b[s + j]! >> 6) << 4)];
}

/**
 * Q4_K: f16 d, f16 dmin, 12 scale bytes, 128 bytes of nibbles: 8 sub-blocks of 32, sub-blocks 2c
 * and 2c+1 in the low and high nibbles of bytes 32c…32c+31; x = (d·sc)·q − dmin·m.
 */
const q4_k: Decoder = (b, at, n, out, o) => {
  for (let i = 0; i < n; i++, at += 144, o += 256) {
    const hd = half(b, at);
    const hm = half(b, at + 2);
    if (nonFinite(hd) || nonFinite(hm)) return i;
    const d = f16ToF32(hd);
    const dmin = f16ToF32(hm);
    for (let j = 0; j < 8; j++) {
      const [sc, m] = scaleMin(b, at + 4, j);
      const ds = fr(d * sc);
      const dm = fr(dmin * m);
      const qs = at + 16 + 32 * (j >> 1);
      const shift = 4 * (j & 1);
      const oj = o + 32 * j;
      for (let l = 0; l < 32; l++) out[oj + l] = fr(fr(ds * ((b[qs + l]! >> shift) & 15)) - dm);
    }
  }
  return -1;
};

/** Q5_K: Q4_K's header, then 32 bytes of fifth bits (bit j of byte l for sub-block j), then nibbles. */
const q5_k: Decoder = (b, at, n, out, o) => {
  for (let i = 0; i < n; i++, at += 176, o += 256) {
    const hd = half(b, at);
    const hm = half(b, at + 2);
    if (nonFinite(hd) || nonFinite(hm)) return i;
    const d = f16ToF32(hd);
    const dmin = f16ToF32(hm);
    for (let j = 0; j < 8; j++) {
      const [sc, m] = scaleMin(b, at + 4, j);
      const ds = fr(d * sc);
      const dm = fr(dmin * m);
      const qh = at + 16;
      const qs = at + 48 + 32 * (j >> 1);
      const shift = 4 * (j & 1);
      const oj = o + 32 * j;
      for (let l = 0; l < 32; l++) {
        const q = ((b[qs + l]! >> shift) & 15) | (((b[qh + l]! >> j) & 1) << 4);
        out[oj + l] = fr(fr(ds * q) - dm);
      }
    }
  }
  return -1;
};

/**
 * Q6_K: 128 bytes of low nibbles, 64 of high 2-bit pairs, 16 i8 scales (one per 16 values), f16 d.
 * Value 128h + 32k + l (h 0–1, k 0–3, l 0–31) takes nibble k>>1 of low byte 64h + 32(k&1) + l and
 * bits 2k of high byte 32h + l; x = (d·scale)·(q − 32).
 */
const q6_k: Decoder = (b, at, n, out, o) => {
  for (let i = 0; i < n; i++, at += 210, o += 256) {
    const h = half(b, at + 208);
    if (nonFinite(h)) return i;
    const d = f16ToF32(h);
    for (let hh = 0; hh < 2; hh++) {
      for (let k = 0; k < 4; k++) {
        const lo = at + 64 * hh + 32 * (k & 1);
        const hi = at + 128 + 32 * hh;
        const shift = 4 * (k >> 1);
        const v0 = 128 * hh + 32 * k;
        for (let l = 0; l < 32; l++) {
          const v = v0 + l;
          const ds = fr(d * ((b[at + 192 + (v >> 4)]! << 24) >> 24));
          const q = ((b[lo + l]! >> shift) & 15) | (((b[hi + l]! >> (2 * k)) & 3) << 4);
          out[o + v] = fr(ds * (q - 32));
        }
      }
    }
  }
  return -1;
};

export const QUANT_FORMATS: Readonly<Record<QuantType, QuantFormat>> = {
  Q4_0: { id: 2, block: 32, bytes: 18, decode: q4_0 },
  Q4_1: { id: 3, block: 32, bytes: 20, decode: q4_1 },
  Q5_0: { id: 6, block: 32, bytes: 22, decode: q5_0 },
  Q5_1: { id: 7, block: 32, bytes: 24, decode: q5_1 },
  Q8_0: { id: 8, block: 32, bytes: 34, decode: q8_0 },
  Q4_K: { id: 12, block: 256, bytes: 144, decode: q4_k },
  Q5_K: { id: 13, block: 256, bytes: 176, decode: q5_k },
  Q6_K: { id: 14, block: 256, bytes: 210, decode: q6_k },
};

/**
 * Where each block of a type keeps its f16 scales (d, and dmin or m): byte offsets in the block.
 * firstBadScale reads only these, so checking a file's blocks costs no dequantizing.
 */
const SCALE_OFFSETS: Readonly<Record<QuantType, readonly number[]>> = {
  Q4_0: [0],
  Q4_1: [0, 2],
  Q5_0: [0],
  Q5_1: [0, 2],
  Q8_0: [0],
  Q4_K: [0, 2],
  Q5_K: [0, 2],
  Q6_K: [208],
};

/**
 * The index of the first whole block of `type` in `bytes` with an infinite or NaN f16 scale (the
 * blocks dequantize reports as bad), or -1 when every scale is finite.
 */
export function firstBadScale(type: QuantType, bytes: Uint8Array): number {
  const f = QUANT_FORMATS[type];
  const offsets = SCALE_OFFSETS[type];
  const n = Math.floor(bytes.length / f.bytes);
  for (let i = 0, at = 0; i < n; i++, at += f.bytes) {
    for (const o of offsets) if (nonFinite(half(bytes, at + o))) return i;
  }
  return -1;
}

/** The quantized type of a ggml type id, or undefined when it is not one this reader dequantizes. */
export function quantTypeOf(id: number): QuantType | undefined {
  return QUANT_TYPES.find((t) => QUANT_TYPE_IDS[t] === id);
}

/**
 * Dequantizes whole blocks of `type` to f32 (bytes.length must be a whole number of blocks). Returns
 * the values, or the index of the first block whose scale is not finite.
 */
export function dequantize(
  type: QuantType,
  bytes: Uint8Array,
): { values: Float32Array<ArrayBuffer>; badBlock: number } {
  const f = QUANT_FORMATS[type];
  const nBlocks = Math.floor(bytes.length / f.bytes);
  const values = new Float32Array(nBlocks * f.block);
  const badBlock = f.decode(bytes, 0, nBlocks, values, 0);
  return { values, badBlock };
}
