/**
 * The GPU layout of quantized frozen weights (issue 26 item 2): ggml's Q8_0 and Q4_K blocks repacked
 * at upload into whole u32 words, which WGSL reads as `array<u32>` (ggml's 34- and 144-byte blocks
 * are not 4-byte aligned). The values are the same: every scale, min and quant is kept as stored
 * (the f16 scales widened to f32, which is exact), so the kernels' dequantized weights equal
 * io/quant.ts's bit for bit.
 *
 * A weight W [rows, cols] is quantized by rows: row r is cols / block consecutive blocks, block b of
 * row r at words (r·(cols / block) + b)·words.
 *
 * Q8_0, 9 words (36 bytes) per 32 values:
 *   word 0       d as f32 bits
 *   words 1–8    ggml's 32 int8 quants verbatim: value 4i + j is byte j (little-endian) of word 1 + i
 *   x = q·d
 *
 * Q4_K, 38 words (152 bytes) per 256 values (8 sub-blocks of 32):
 *   word 0       d as f32 bits
 *   word 1       dmin as f32 bits
 *   words 2–3    the 8 unpacked 6-bit scales, one per byte: sub-block j's in byte j & 3 of word 2 + (j >> 2)
 *   words 4–5    the 8 unpacked 6-bit mins, the same way
 *   words 6–37   ggml's 128 nibble bytes verbatim: value l of sub-block j is nibble j & 1 (low first)
 *                of byte l & 3 of word 6 + 8·(j >> 1) + (l >> 2)
 *   x = (d·sc_j)·q − dmin·m_j   (each product one f32 rounding, as ggml and gguf-py)
 *
 * Engine code cannot import io/, so this module reads ggml's block bytes itself; the unit test checks
 * the repacked values against io/quant.ts's dequantizer and the inverse (repackedToGgml) byte for byte.
 */
import { f16ToF32, f32ToF16 } from '../../util/half.ts';

/** The quantized types the GPU kernels read (ggml's names, as io/quant.ts's QuantType). */
export type GpuQuantType = 'Q8_0' | 'Q4_K';

export interface GpuQuantLayout {
  /** Values per block. */
  block: number;
  /** ggml's bytes per block. */
  ggmlBytes: number;
  /** u32 words per block on the GPU. */
  words: number;
}

export const GPU_QUANT_LAYOUTS: Readonly<Record<GpuQuantType, GpuQuantLayout>> = {
  Q8_0: { block: 32, ggmlBytes: 34, words: 9 },
  Q4_K: { block: 256, ggmlBytes: 144, words: 38 },
};

export const GPU_QUANT_TYPES = Object.keys(GPU_QUANT_LAYOUTS) as GpuQuantType[];

/** Bytes a [rows, cols] weight of `type` takes on the GPU (cols a whole number of blocks). */
export function quantWeightBytes(type: GpuQuantType, rows: number, cols: number): number {
  const l = GPU_QUANT_LAYOUTS[type];
  return (rows * cols * l.words * 4) / l.block;
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
const f32Bits = (x: number): number => ((f32[0] = x), u32[0]!);
const bitsF32 = (w: number): number => ((u32[0] = w), f32[0]!);

const half = (b: Uint8Array, p: number): number => b[p]! | (b[p + 1]! << 8);
const nonFinite = (h: number): boolean => (h & 0x7c00) === 0x7c00;
const word = (b: Uint8Array, p: number): number =>
  (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24)) >>> 0;

/** Q4_K's 6-bit scale and min of sub-block j from the 12 scale bytes at b[s] (ggml's get_scale_min_k4). */
function scaleMin(b: Uint8Array, s: number, j: number): [number, number] {
  if (j < 4) return [b[s + j]! & 63, b[s + j + 4]! & 63];
  const x = b[s + j + 4]!;
  return [(x & 15) | ((b[s + j - 4]! >> 6) << 4), (x >> 4) | ((b[s + j]! >> 6) << 4)];
}

/**
 * Repacks whole ggml blocks of `type` (bytes.length a multiple of its block bytes) into the GPU
 * layout. badBlock is the index of the first block whose f16 scale (d, or dmin) is infinite or NaN
 * (-1 when none): such a weight must be refused, as io/quant.ts's dequantize reports it.
 */
export function repackQuant(
  type: GpuQuantType,
  bytes: Uint8Array,
): { words: Uint32Array<ArrayBuffer>; badBlock: number } {
  const l = GPU_QUANT_LAYOUTS[type];
  const n = Math.floor(bytes.length / l.ggmlBytes);
  const out = new Uint32Array(n * l.words);
  let badBlock = -1;
  for (let i = 0; i < n; i++) {
    const at = i * l.ggmlBytes;
    const o = i * l.words;
    if (type === 'Q8_0') {
      const h = half(bytes, at);
      if (nonFinite(h) && badBlock < 0) badBlock = i;
      out[o] = f32Bits(f16ToF32(h));
      for (let k = 0; k < 8; k++) out[o + 1 + k] = word(bytes, at + 2 + 4 * k);
    } else {
      const hd = half(bytes, at);
      const hm = half(bytes, at + 2);
      if ((nonFinite(hd) || nonFinite(hm)) && badBlock < 0) badBlock = i;
      out[o] = f32Bits(f16ToF32(hd));
      out[o + 1] = f32Bits(f16ToF32(hm));
      for (let j = 0; j < 8; j++) {
        const [sc, m] = scaleMin(bytes, at + 4, j);
        const shift = 8 * (j & 3);
        out[o + 2 + (j >> 2)] = (out[o + 2 + (j >> 2)]! | (sc << shift)) >>> 0;
        out[o + 4 + (j >> 2)] = (out[o + 4 + (j >> 2)]! | (m << shift)) >>> 0;
      }
      for (let k = 0; k < 32; k++) out[o + 6 + k] = word(bytes, at + 16 + 4 * k);
    }
  }
  return { words: out, badBlock };
}

/**
 * The inverse of repackQuant: the ggml blocks back from the GPU layout (the scales re-packed into
 * ggml's 12 bytes). For the unit test, and for reading a quantized weight back off the GPU.
 */
export function repackedToGgml(type: GpuQuantType, words: Uint32Array): Uint8Array {
  const l = GPU_QUANT_LAYOUTS[type];
  const n = Math.floor(words.length / l.words);
  const out = new Uint8Array(n * l.ggmlBytes);
  const putHalf = (p: number, x: number) => {
    const h = f32ToF16(x);
    out[p] = h & 0xff;
    out[p + 1] = h >> 8;
  };
  const putWord = (p: number, w: number) => {
    for (let j = 0; j < 4; j++) out[p + j] = (w >>> (8 * j)) & 0xff;
  };
  for (let i = 0; i < n; i++) {
    const at = i * l.ggmlBytes;
    const o = i * l.words;
    if (type === 'Q8_0') {
      putHalf(at, bitsF32(words[o]!));
      for (let k = 0; k < 8; k++) putWord(at + 2 + 4 * k, words[o + 1 + k]!);
      continue;
    }
    putHalf(at, bitsF32(words[o]!));
    putHalf(at + 2, bitsF32(words[o + 1]!));
    const sc = (j: number) => (words[o + 2 + (j >> 2)]! >>> (8 * (j & 3))) & 0xff;
    const mn = (j: number) => (words[o + 4 + (j >> 2)]! >>> (8 * (j & 3))) & 0xff;
    const s = at + 4;
    for (let j = 0; j < 4; j++) {
      // ggml: bytes 0–3 scales 0–3 (low 6 bits) and the top 2 bits of scales 4–7; bytes 4–7 the
      // same for the mins; bytes 8–11 the low nibbles of scales 4–7 and mins 4–7 (high nibble).
      out[s + j] = sc(j) | ((sc(j + 4) >> 4) << 6);
      out[s + j + 4] = mn(j) | ((mn(j + 4) >> 4) << 6);
      out[s + j + 8] = (sc(j + 4) & 15) | ((mn(j + 4) & 15) << 4);
    }
    for (let k = 0; k < 32; k++) putWord(at + 16 + 4 * k, words[o + 6 + k]!);
  }
  return out;
}

/**
 * Dequantizes the GPU layout in TypeScript with the kernels' arithmetic (f32 products, rounded as
 * ggml): what the unit test compares with io/quant.ts's dequantizer.
 */
export function dequantizeRepacked(type: GpuQuantType, words: Uint32Array): Float32Array {
  const l = GPU_QUANT_LAYOUTS[type];
  const n = Math.floor(words.length / l.words);
  const out = new Float32Array(n * l.block);
  const fr = Math.fround;
  for (let i = 0; i < n; i++) {
    const o = i * l.words;
    const v = i * l.block;
    const d = bitsF32(words[o]!);
    if (type === 'Q8_0') {
      for (let e = 0; e < 32; e++) {
        const q = ((words[o + 1 + (e >> 2)]! << (24 - 8 * (e & 3))) >> 24) | 0;
        out[v + e] = fr(q * d);
      }
      continue;
    }
    const dmin = bitsF32(words[o + 1]!);
    for (let j = 0; j < 8; j++) {
      const ds = fr(d * ((words[o + 2 + (j >> 2)]! >>> (8 * (j & 3))) & 0xff));
      const dm = fr(dmin * ((words[o + 4 + (j >> 2)]! >>> (8 * (j & 3))) & 0xff));
      for (let e = 0; e < 32; e++) {
        const w = words[o + 6 + 8 * (j >> 1) + (e >> 2)]!;
        const q = (w >>> (8 * (e & 3) + 4 * (j & 1))) & 15;
        out[v + 32 * j + e] = fr(fr(ds * q) - dm);
      }
    }
  }
  return out;
}
