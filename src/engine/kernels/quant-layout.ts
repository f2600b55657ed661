/**
 * The GPU layout of quantized frozen weights (issue 26 item 2): ggml's blocks repacked at upload
 * into whole u32 words, which WGSL reads as `array<u32>` (ggml's 18- to 210-byte blocks are not
 * 4-byte aligned), with the quants in value order. The values are the same: every scale, min and
 * quant is kept (the f16 scales widened to f32, which is exact; Q4_K/Q5_K's packed 6-bit scales
 * unpacked a byte each; each quant's bits moved, not changed), so the kernels' dequantized weights
 * equal io/quant.ts's bit for bit.
 *
 * A weight W [rows, cols] is quantized by rows: row r is cols / block consecutive blocks, block b of
 * row r at words (r·(cols / block) + b)·words. A block is its header (scales) and then its quants'
 * fields, each holding one part (`bits` bits) of every value's unsigned quant q, in value order
 * by byte lanes: a word of a b-bit field holds 32/b consecutive values, value 4s + c of them (c
 * 0–3) in byte c at bits b·s. So in a 4-bit field word u holds values 8u…8u + 3 in its bytes' low
 * nibbles and 8u + 4…8u + 7 in their high nibbles; a 1-bit field word 32 values, bit s of byte c
 * for value 4s + c; a 2-bit field 16, bits 2s of byte c; an 8-bit field 4, one a byte. Masking a
 * shifted word gives 4 consecutive quants one a byte, which WGSL's unpack4x8unorm turns into 4
 * floats in one step, and every 8 consecutive values (an "oct", the kernels' unit) lie in one
 * sub-block.
 *
 *   type  values words bits/value  header; fields (q = low | high << 4; unsigned)
 *   Q8_0  32     9     9           0 d; 1–8 q (8 bits: ggml's int8 bytes as they are)
 *                                  x = d·q, q read as int8
 *   Q4_0  32     5     5           0 d; 1–4 q (4 bits)                  x = d·(q − 8)
 *   Q4_1  32     6     6           0 d; 1 m; 2–5 q (4 bits)             x = d·q + m
 *   Q5_0  32     6     6           0 d; 1 high (1 bit); 2–5 low (4 bits)
 *                                  x = d·(q − 16)
 *   Q5_1  32     7     7           0 d; 1 m; 2 high (1 bit); 3–6 low   x = d·q + m
 *   Q4_K  256    38    4.75        0 d; 1 dmin; 2–5 the 8 unpacked 6-bit scales and mins, one per
 *                                  byte (sub-block j of 32: scale in byte 2j, min in 2j + 1, bytes
 *                                  counted from word 2); 6–37 q (4 bits)
 *                                  x = (d·sc_j)·q − dmin·m_j
 *   Q5_K  256    46    5.75        0–5 as Q4_K; 6–37 low (4 bits); 38–45 high (1 bit)
 *                                  x = (d·sc_j)·q − dmin·m_j
 *   Q6_K  256    53    6.625       0 d; 1–4 the 16 int8 scales, one per 16 values (ggml's bytes
 *                                  192–207); 5–36 low (4 bits); 37–52 high (2 bits)
 *                                  x = (d·sc_j)·(q − 32)
 *
 * (Q4_1 and Q5_1 decode as scale d, min −m: d·q − (−m) is d·q + m, the same rounding.) The byte
 * lanes cost the upload a bit shuffle per value (ggml interleaves sub-blocks in the bytes of Q4/Q5/Q6
 * blocks), and buy kernels that decode 4 quants with a shift, a mask and one unpack4x8unorm, from
 * one word per 8 values of every type (on SwiftShader the forward then runs as fast as with bf16
 * weights; docs/design.md). Engine code cannot import io/, so this module reads ggml's bytes itself
 * (each field's `ggml` map); the unit test checks the repacked values against io/quant.ts's
 * dequantizer, that header and fields cover every bit of a ggml block once, and the inverse
 * (repackedToGgml) byte for byte. shaders/quant_<type>.wgsl decode the same words on the GPU.
 */
import { f16ToF32, f32ToF16 } from '../../util/half.ts';
import type { Rng } from '../../util/rng.ts';

/** The quantized types the GPU kernels read (ggml's names, as io/quant.ts's QuantType). */
export type GpuQuantType = 'Q8_0' | 'Q4_0' | 'Q4_1' | 'Q5_0' | 'Q5_1' | 'Q4_K' | 'Q5_K' | 'Q6_K';

/**
 * A run of header words from a ggml block: an f16 scale widened to one f32 word ('f16'), `words`
 * words of bytes copied verbatim ('bytes'), or the 12 packed 6-bit scale and min bytes of
 * Q4_K/Q5_K unpacked into 4 words, sub-block j's scale in byte 2j and min in byte 2j + 1
 * ('scales6': one load gives a kernel both).
 */
export interface QuantSegment {
  kind: 'f16' | 'bytes' | 'scales6';
  /** Byte offset in the ggml block. */
  from: number;
  /** GPU words it fills. */
  words: number;
}

/**
 * One field of the quants: `bits` of every value's q (at bit `shift` of q), by byte lanes on the
 * GPU (fieldBit); in the ggml block value v's bits are at bit ggml(v)[1] of byte ggml(v)[0].
 */
export interface QuantField {
  bits: 1 | 2 | 4 | 8;
  shift: number;
  ggml: (v: number) => readonly [number, number];
}

export interface GpuQuantLayout {
  /** Values per block. */
  block: number;
  /** ggml's bytes per block. */
  ggmlBytes: number;
  /** u32 words per block on the GPU. */
  words: number;
  /** Values per scale (sub-block). */
  sub: number;
  /** The header words in order, each run from its ggml bytes. */
  header: readonly QuantSegment[];
  /** The quants' fields in order after the header. */
  fields: readonly QuantField[];
}

const f16 = (from: number): QuantSegment => ({ kind: 'f16', from, words: 1 });
const scales6: QuantSegment = { kind: 'scales6', from: 4, words: 4 };
/** 32-value blocks' nibbles: value l < 16 the low nibble of byte `at` + l, l + 16 its high one. */
const nib32 = (at: number): QuantField => ({
  bits: 4,
  shift: 0,
  ggml: (v) => [at + (v & 15), 4 * (v >> 4)],
});
/** Q4_K/Q5_K's nibbles: value l of sub-block j is nibble j & 1 of byte `at` + 32·(j >> 1) + l. */
const nibK = (at: number): QuantField => ({
  bits: 4,
  shift: 0,
  ggml: (v) => [at + 32 * (v >> 6) + (v & 31), 4 * ((v >> 5) & 1)],
});
/** Q5_0/Q5_1's fifth bits: bit v of the u32 at byte `at`. */
const qh32 = (at: number): QuantField => ({
  bits: 1,
  shift: 4,
  ggml: (v) => [at + (v >> 3), v & 7],
});

export const GPU_QUANT_LAYOUTS: Readonly<Record<GpuQuantType, GpuQuantLayout>> = {
  Q8_0: {
    block: 32,
    ggmlBytes: 34,
    words: 9,
    sub: 32,
    header: [f16(0)],
    fields: [{ bits: 8, shift: 0, ggml: (v) => [2 + v, 0] }],
  },
  Q4_0: { block: 32, ggmlBytes: 18, words: 5, sub: 32, header: [f16(0)], fields: [nib32(2)] },
  Q4_1: {
    block: 32,
    ggmlBytes: 20,
    words: 6,
    sub: 32,
    header: [f16(0), f16(2)],
    fields: [nib32(4)],
  },
  Q5_0: {
    block: 32,
    ggmlBytes: 22,
    words: 6,
    sub: 32,
    header: [f16(0)],
    fields: [qh32(2), nib32(6)],
  },
  Q5_1: {
    block: 32,
    ggmlBytes: 24,
    words: 7,
    sub: 32,
    header: [f16(0), f16(2)],
    fields: [qh32(4), nib32(8)],
  },
  Q4_K: {
    block: 256,
    ggmlBytes: 144,
    words: 38,
    sub: 32,
    header: [f16(0), f16(2), scales6],
    fields: [nibK(16)],
  },
  Q5_K: {
    block: 256,
    ggmlBytes: 176,
    words: 46,
    sub: 32,
    header: [f16(0), f16(2), scales6],
    // The fifth bit of value l of sub-block j: bit j of byte 16 + l.
    fields: [nibK(48), { bits: 1, shift: 4, ggml: (v) => [16 + (v & 31), v >> 5] }],
  },
  Q6_K: {
    block: 256,
    ggmlBytes: 210,
    words: 53,
    sub: 16,
    header: [f16(208), { kind: 'bytes', from: 192, words: 4 }],
    // Value 128h + 32k + l: nibble k >> 1 of byte 64h + 32(k & 1) + l, bits 2k of byte 128 + 32h + l.
    fields: [
      {
        bits: 4,
        shift: 0,
        ggml: (v) => [64 * (v >> 7) + 32 * ((v >> 5) & 1) + (v & 31), 4 * ((v >> 6) & 1)],
      },
      { bits: 2, shift: 4, ggml: (v) => [128 + 32 * (v >> 7) + (v & 31), 2 * ((v >> 5) & 3)] },
    ],
  },
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

/** Where value v's bits of a `bits`-bit field lie on the GPU: [word in the field, bit in it]. */
export function fieldBit(v: number, bits: number): [number, number] {
  return [(v * bits) >> 5, 8 * (v & 3) + bits * ((v >> 2) % (8 / bits))];
}

/** A field's tables: its first word after the block's start and each value's ggml byte and bit. */
interface FieldTable {
  field: QuantField;
  word: number;
  byte: Uint16Array;
  bit: Uint8Array;
}

const tables = new Map<GpuQuantType, FieldTable[]>();

/** The field tables of a type (built once). */
function fieldTables(type: GpuQuantType): FieldTable[] {
  let t = tables.get(type);
  if (t) return t;
  const l = GPU_QUANT_LAYOUTS[type];
  let word = l.header.reduce((n, s) => n + s.words, 0);
  t = l.fields.map((field) => {
    const byte = new Uint16Array(l.block);
    const bit = new Uint8Array(l.block);
    for (let v = 0; v < l.block; v++) [byte[v], bit[v]] = field.ggml(v);
    const f = { field, word, byte, bit };
    word += (l.block * field.bits) / 32;
    return f;
  });
  tables.set(type, t);
  return t;
}

/**
 * Repacks whole ggml blocks of `type` (bytes.length a multiple of its block bytes) into the GPU
 * layout. badBlock is the index of the first block whose f16 scale (d, or the min) is infinite or
 * NaN (-1 when none): such a weight must be refused, as io/quant.ts's dequantize reports it.
 */
export function repackQuant(
  type: GpuQuantType,
  ggml: Uint8Array,
): { words: Uint32Array<ArrayBuffer>; badBlock: number } {
  const l = GPU_QUANT_LAYOUTS[type];
  const fields = fieldTables(type);
  const n = Math.floor(ggml.length / l.ggmlBytes);
  const out = new Uint32Array(n * l.words);
  let badBlock = -1;
  for (let i = 0; i < n; i++) {
    const at = i * l.ggmlBytes;
    let o = i * l.words;
    for (const s of l.header) {
      if (s.kind === 'f16') {
        const h = half(ggml, at + s.from);
        if (nonFinite(h) && badBlock < 0) badBlock = i;
        out[o] = f32Bits(f16ToF32(h));
      } else if (s.kind === 'bytes') {
        for (let k = 0; k < s.words; k++) out[o + k] = word(ggml, at + s.from + 4 * k);
      } else {
        // Sub-block j's scale in byte 2j, its min in byte 2j + 1.
        for (let j = 0; j < 8; j++) {
          const [sc, m] = scaleMin(ggml, at + s.from, j);
          const shift = 16 * (j & 1);
          out[o + (j >> 1)] = (out[o + (j >> 1)]! | (sc << shift) | (m << (shift + 8))) >>> 0;
        }
      }
      o += s.words;
    }
    o = i * l.words;
    for (const { field, word: w0, byte, bit } of fields) {
      const bits = field.bits;
      const mask = (1 << bits) - 1;
      for (let v = 0; v < l.block; v++) {
        const x = (ggml[at + byte[v]!]! >> bit[v]!) & mask;
        const [w, b] = fieldBit(v, bits);
        out[o + w0 + w] = (out[o + w0 + w]! | (x << b)) >>> 0;
      }
    }
  }
  return { words: out, badBlock };
}

/**
 * The inverse of repackQuant: the ggml blocks back from the GPU layout (the scales re-packed into
 * ggml's 12 bytes, the quants' bits back in ggml's places). For the unit test, and for reading a
 * quantized weight back off the GPU.
 */
export function repackedToGgml(type: GpuQuantType, words: Uint32Array): Uint8Array {
  const l = GPU_QUANT_LAYOUTS[type];
  const fields = fieldTables(type);
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
    let o = i * l.words;
    for (const s of l.header) {
      if (s.kind === 'f16') putHalf(at + s.from, bitsF32(words[o]!));
      else if (s.kind === 'bytes') {
        for (let k = 0; k < s.words; k++) putWord(at + s.from + 4 * k, words[o + k]!);
      } else {
        const sc = (j: number) => (words[o + (j >> 1)]! >>> (16 * (j & 1))) & 0xff;
        const mn = (j: number) => (words[o + (j >> 1)]! >>> (16 * (j & 1) + 8)) & 0xff;
        const p = at + s.from;
        for (let j = 0; j < 4; j++) {
          // ggml: bytes 0–3 scales 0–3 (low 6 bits) and the top 2 bits of scales 4–7; bytes 4–7
          // the same for the mins; bytes 8–11 the low nibbles of scales 4–7 and mins 4–7 (high).
          out[p + j] = sc(j) | ((sc(j + 4) >> 4) << 6);
          out[p + j + 4] = mn(j) | ((mn(j + 4) >> 4) << 6);
          out[p + j + 8] = (sc(j + 4) & 15) | ((mn(j + 4) & 15) << 4);
        }
      }
      o += s.words;
    }
    o = i * l.words;
    for (const { field, word: w0, byte, bit } of fields) {
      const bits = field.bits;
      const mask = (1 << bits) - 1;
      for (let v = 0; v < l.block; v++) {
        const [w, b] = fieldBit(v, bits);
        const x = (words[o + w0 + w]! >>> b) & mask;
        out[at + byte[v]!] = out[at + byte[v]!]! | (x << bit[v]!);
      }
    }
  }
  return out;
}

/** Byte k (any k ≥ 0) of the words from w[o] on, little-endian. */
const byteAt = (w: Uint32Array, o: number, k: number): number =>
  (w[o + (k >> 2)]! >>> (8 * (k & 3))) & 0xff;
/** The int8 at byte k from w[o]. */
const int8At = (w: Uint32Array, o: number, k: number): number => (byteAt(w, o, k) << 24) >> 24;

/**
 * Value v (0 ≤ v < block) of the block at words[o] as the kernels decode it: [scale, min, q] with
 * x = scale·q − min (shaders/quant_<type>.wgsl's qScale and qRaw, one value).
 */
export function decodeRepacked(
  type: GpuQuantType,
  w: Uint32Array,
  o: number,
  v: number,
): [number, number, number] {
  const fr = Math.fround;
  let q = 0;
  for (const { field, word: w0 } of fieldTables(type)) {
    const [fw, fb] = fieldBit(v, field.bits);
    q |= ((w[o + w0 + fw]! >>> fb) & ((1 << field.bits) - 1)) << field.shift;
  }
  const d = bitsF32(w[o]!);
  switch (type) {
    case 'Q8_0':
      return [d, 0, (q << 24) >> 24];
    case 'Q4_0':
      return [d, 0, q - 8];
    case 'Q5_0':
      return [d, 0, q - 16];
    case 'Q4_1':
    case 'Q5_1':
      return [d, -bitsF32(w[o + 1]!), q];
    case 'Q4_K':
    case 'Q5_K': {
      const j = v >> 5;
      return [
        fr(d * byteAt(w, o + 2, 2 * j)),
        fr(bitsF32(w[o + 1]!) * byteAt(w, o + 2, 2 * j + 1)),
        q,
      ];
    }
    case 'Q6_K':
      return [fr(d * int8At(w, o + 1, v >> 4)), 0, q - 32];
  }
}

/**
 * Dequantizes the GPU layout in TypeScript with the kernels' arithmetic (f32 products, rounded as
 * ggml): what the unit test compares with io/quant.ts's dequantizer, and the tuner's reference.
 */
export function dequantizeRepacked(type: GpuQuantType, words: Uint32Array): Float32Array {
  const l = GPU_QUANT_LAYOUTS[type];
  const n = Math.floor(words.length / l.words);
  const out = new Float32Array(n * l.block);
  const fr = Math.fround;
  for (let i = 0; i < n; i++) {
    const o = i * l.words;
    for (let v = 0; v < l.block; v++) {
      const [scale, min, q] = decodeRepacked(type, words, o, v);
      out[i * l.block + v] = fr(fr(scale * q) - min);
    }
  }
  return out;
}

/** Byte offsets of a ggml block's f16 scales (d, and the min where there is one). */
function scaleOffsets(type: GpuQuantType): number[] {
  return GPU_QUANT_LAYOUTS[type].header.filter((s) => s.kind === 'f16').map((s) => s.from);
}

/**
 * Magnitudes of d (and of the min) that give weights of about ±1–3 with random quants: q·d for
 * Q8_0 (|q| ≤ 128), Q4 (≤ 8 or 15), Q5 (≤ 16 or 31), sc·q·d for the K types (sc ≤ 63, |sc| ≤ 128
 * for Q6_K).
 */
const D_RANGE: Record<GpuQuantType, [number, number]> = {
  Q8_0: [0.004, 0.012],
  Q4_0: [0.08, 0.25],
  Q4_1: [0.05, 0.15],
  Q5_0: [0.04, 0.12],
  Q5_1: [0.03, 0.08],
  Q4_K: [0.001, 0.003],
  Q5_K: [0.0005, 0.0015],
  Q6_K: [0.0002, 0.0005],
};

/**
 * Random ggml blocks of a [rows, cols] weight (cols whole blocks): random quants and packed
 * scales, with finite f16 scales for weights of about ±1–3 (a fifth of the d negative; the _1
 * types' min negative, as ggml's quantizer makes it). For tests, benchmarks and tuning.
 */
export function randomQuantBlocks(
  type: GpuQuantType,
  rows: number,
  cols: number,
  rng: Rng,
): Uint8Array {
  const l = GPU_QUANT_LAYOUTS[type];
  const data = new Uint8Array(((rows * cols) / l.block) * l.ggmlBytes);
  for (let i = 0; i < data.length; i++) data[i] = rng.int(256);
  const put = (at: number, x: number) => {
    const h = f32ToF16(x);
    data[at] = h & 0xff;
    data[at + 1] = h >> 8;
  };
  const [lo, hi] = D_RANGE[type];
  const [dAt, minAt] = scaleOffsets(type);
  const isK = l.block === 256;
  for (let b = 0; b < data.length; b += l.ggmlBytes) {
    put(b + dAt!, (rng.next() < 0.2 ? -1 : 1) * rng.uniform(lo, hi));
    // The _1 types' m is about −8·d (weights centred on 0); the K types' dmin a small positive.
    if (minAt !== undefined) put(b + minAt, isK ? rng.uniform(lo, hi) : -rng.uniform(6, 10) * hi);
  }
  return data;
}
