/**
 * f32 → ggml quantized blocks: llama.cpp's reference quantizers (ggml-quants.c's
 * `quantize_row_*_ref`, no importance matrix) reproduced byte for byte, for every type quant.ts
 * dequantizes (Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K).
 *
 * ggml computes in f32: every arithmetic step here is rounded with Math.fround where the C does a
 * float operation (a product, sum or quotient of two f32 values computed in float64 and rounded once is
 * exactly the f32 result; sqrt likewise). Integer-to-float conversions of small ints are exact. The
 * f16 scales round to nearest even as GGML_FP32_TO_FP16 does (util/half's f32ToF16), and nearest_int
 * is ggml's magic-number rounding (ties to even). `src/io/quantize.test.ts` checks the bytes against
 * blocks llama.cpp's own C code made (fixtures/quant/quantize-*, scripts/make-quantize-fixtures.sh).
 *
 * Inputs are finite f32 values; like the reference, non-finite values or f32 subnormals (whose scale
 * overflows when inverted) give unspecified blocks.
 */
import { InternalError } from '../util/errors.ts';
import { f16ToF32, f32ToF16 } from '../util/half.ts';
import { QUANT_FORMATS, type QuantType } from './quant.ts';

const fr = Math.fround;

/** ggml's nearest_int: round an f32 to the nearest integer, ties to even (|v| ≤ 4194303). */
const nearestInt = (v: number): number => fr(v + 12582912) - 12582912;

/** C's roundf: to nearest, ties away from zero. */
const roundAway = (v: number): number => (v < 0 ? -Math.floor(-v + 0.5) : Math.floor(v + 0.5));

/** An f32 → f16 scale stored at bytes[p], returning the f32 value it decodes to. */
function putHalf(out: Uint8Array, p: number, v: number): number {
  const h = f32ToF16(v);
  out[p] = h & 0xff;
  out[p + 1] = h >> 8;
  return f16ToF32(h);
}

const putU32 = (out: Uint8Array, p: number, v: number): void => {
  out[p] = v & 0xff;
  out[p + 1] = (v >>> 8) & 0xff;
  out[p + 2] = (v >>> 16) & 0xff;
  out[p + 3] = (v >>> 24) & 0xff;
};

/** Quantizes one block of `x` from x[i] into out[o…]. */
type BlockQuantizer = (x: Float32Array, i: number, out: Uint8Array, o: number) => void;

/** Q8_0: d = amax/127, q = roundf(x/d). */
const q8_0: BlockQuantizer = (x, i, out, o) => {
  let amax = 0;
  for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[i + j]!));
  const d = fr(amax / 127);
  const id = d ? fr(1 / d) : 0;
  putHalf(out, o, d);
  for (let j = 0; j < 32; j++) out[o + 2 + j] = roundAway(fr(x[i + j]! * id)) & 0xff;
};

/** The value of largest magnitude (the first one on a tie), as q4_0/q5_0 pick it. */
function signedAbsMax(x: Float32Array, i: number, n: number): number {
  let amax = 0;
  let max = 0;
  for (let j = 0; j < n; j++) {
    const v = x[i + j]!;
    if (amax < Math.abs(v)) {
      amax = Math.abs(v);
      max = v;
    }
  }
  return max;
}

/** Q4_0 (bits 4, offset 8) and Q5_0 (bits 5, offset 16): d = max/−offset, q = trunc(x/d + offset + ½). */
function symmetric(bits: 4 | 5): BlockQuantizer {
  const off = bits === 4 ? 8 : 16;
  const top = (1 << bits) - 1;
  const qs = bits === 4 ? 2 : 6;
  return (x, i, out, o) => {
    const d = fr(signedAbsMax(x, i, 32) / -off);
    const id = d ? fr(1 / d) : 0;
    putHalf(out, o, d);
    let qh = 0;
    for (let j = 0; j < 16; j++) {
      const x0 = fr(x[i + j]! * id);
      const x1 = fr(x[i + 16 + j]! * id);
      // (int8_t)(x + off + 0.5f), then MIN(top, …) stored as uint8_t
      const q0 = Math.min(top, Math.trunc(fr(x0 + off + 0.5))) & 0xff;
      const q1 = Math.min(top, Math.trunc(fr(x1 + off + 0.5))) & 0xff;
      out[o + qs + j] = (q0 & 15) | ((q1 & 15) << 4);
      qh |= ((q0 >> 4) & 1) << j;
      qh |= ((q1 >> 4) & 1) << (j + 16);
    }
    if (bits === 5) putU32(out, o + 2, qh >>> 0);
  };
}

/** Q4_1 and Q5_1: d = (max−min)/(2^bits−1), m = min, q = trunc((x−min)/d + ½). */
function affine(bits: 4 | 5): BlockQuantizer {
  const top = (1 << bits) - 1;
  const qs = bits === 4 ? 4 : 8;
  return (x, i, out, o) => {
    let min = Infinity;
    let max = -Infinity;
    for (let j = 0; j < 32; j++) {
      const v = x[i + j]!;
      if (v < min) min = v;
      if (v > max) max = v;
    }
    const d = fr(fr(max - min) / top);
    const id = d ? fr(1 / d) : 0;
    putHalf(out, o, d);
    putHalf(out, o + 2, min);
    let qh = 0;
    for (let j = 0; j < 16; j++) {
      const x0 = fr(fr(x[i + j]! - min) * id);
      const x1 = fr(fr(x[i + 16 + j]! - min) * id);
      // Q4_1: MIN(15, (int8_t)(x + 0.5f)); Q5_1: (uint8_t)(x + 0.5f)
      let q0 = Math.trunc(fr(x0 + 0.5)) & 0xff;
      let q1 = Math.trunc(fr(x1 + 0.5)) & 0xff;
      if (bits === 4) {
        q0 = Math.min(15, q0);
        q1 = Math.min(15, q1);
      }
      out[o + qs + j] = (q0 & 15) | ((q1 & 15) << 4);
      qh |= ((q0 >> 4) & 1) << j;
      qh |= ((q1 >> 4) & 1) << (j + 16);
    }
    if (bits === 5) putU32(out, o + 4, qh >>> 0);
  };
}

/**
 * ggml's make_qkx2_quants: levels L[0…n) in 0…nmax for x[i…i+n) as scale·L − min, the scale and min
 * chosen by a weighted least-squares search over nstep+1 trial scales. Returns [scale, min] (min ≥ 0,
 * the value subtracted).
 */
function makeQkx2Quants(
  n: number,
  nmax: number,
  x: Float32Array,
  i: number,
  weights: Float32Array,
  L: Uint8Array,
  l0: number,
  Laux: Uint8Array,
  rmin: number,
  rdelta: number,
  nstep: number,
): [number, number] {
  let min = x[i]!;
  let max = x[i]!;
  let sumW = weights[0]!;
  let sumX = fr(sumW * x[i]!);
  for (let k = 1; k < n; k++) {
    const v = x[i + k]!;
    if (v < min) min = v;
    if (v > max) max = v;
    const w = weights[k]!;
    sumW = fr(sumW + w);
    sumX = fr(sumX + fr(w * v));
  }
  if (min > 0) min = 0;
  if (max === min) {
    for (let k = 0; k < n; k++) L[l0 + k] = 0;
    return [0, fr(-min)];
  }
  let iscale = fr(nmax / fr(max - min));
  let scale = fr(1 / iscale);
  let bestError = 0;
  for (let k = 0; k < n; k++) {
    const v = x[i + k]!;
    const l = Math.max(0, Math.min(nmax, nearestInt(fr(iscale * fr(v - min)))));
    L[l0 + k] = l;
    const diff = fr(fr(fr(scale * l) + min) - v);
    bestError = fr(bestError + fr(weights[k]! * fr(diff * diff)));
  }
  for (let is = 0; is <= nstep; is++) {
    // min is the best fit's so far: the trial scales and levels move with it, as in ggml
    iscale = fr(fr(fr(rmin + fr(rdelta * is)) + nmax) / fr(max - min));
    let sumL = 0;
    let sumL2 = 0;
    let sumXL = 0;
    for (let k = 0; k < n; k++) {
      const v = x[i + k]!;
      const l = Math.max(0, Math.min(nmax, nearestInt(fr(iscale * fr(v - min)))));
      Laux[k] = l;
      const wl = fr(weights[k]! * l);
      sumL = fr(sumL + wl);
      sumL2 = fr(sumL2 + fr(wl * l));
      sumXL = fr(sumXL + fr(wl * v));
    }
    const D = fr(fr(sumW * sumL2) - fr(sumL * sumL));
    if (D > 0) {
      let thisScale = fr(fr(fr(sumW * sumXL) - fr(sumX * sumL)) / D);
      let thisMin = fr(fr(fr(sumL2 * sumX) - fr(sumL * sumXL)) / D);
      if (thisMin > 0) {
        thisMin = 0;
        thisScale = fr(sumXL / sumL2);
      }
      let curError = 0;
      for (let k = 0; k < n; k++) {
        const diff = fr(fr(fr(thisScale * Laux[k]!) + thisMin) - x[i + k]!);
        curError = fr(curError + fr(weights[k]! * fr(diff * diff)));
      }
      if (curError < bestError) {
        for (let k = 0; k < n; k++) L[l0 + k] = Laux[k]!;
        bestError = curError;
        scale = thisScale;
        min = thisMin;
      }
    }
  }
  return [scale, fr(-min)];
}

/**
 * Q4_K (bits 4) and Q5_K (bits 5): eight sub-blocks of 32, each fitted by make_qkx2_quants with
 * weights rms(sub-block) + |x|, their scales and mins quantized to 6 bits against the largest, then
 * every value re-quantized with the stored scales.
 */
function kQuant(bits: 4 | 5): BlockQuantizer {
  const nmax = (1 << bits) - 1;
  const [rmin, nstep] = bits === 4 ? [-1, 20] : [-0.5, 15];
  const rdelta = fr(0.1);
  const L = new Uint8Array(256);
  const Laux = new Uint8Array(32);
  const weights = new Float32Array(32);
  const scales = new Float32Array(8);
  const mins = new Float32Array(8);
  return (x, i, out, o) => {
    let maxScale = 0;
    let maxMin = 0;
    for (let j = 0; j < 8; j++) {
      const s = i + 32 * j;
      let sumX2 = 0;
      for (let l = 0; l < 32; l++) sumX2 = fr(sumX2 + fr(x[s + l]! * x[s + l]!));
      const avX = fr(Math.sqrt(fr(sumX2 / 32)));
      for (let l = 0; l < 32; l++) weights[l] = fr(avX + Math.abs(x[s + l]!));
      const [scale, min] = makeQkx2Quants(
        32,
        nmax,
        x,
        s,
        weights,
        L,
        32 * j,
        Laux,
        rmin,
        rdelta,
        nstep,
      );
      scales[j] = scale;
      mins[j] = min;
      if (scale > maxScale) maxScale = scale;
      if (min > maxMin) maxMin = min;
    }
    const invScale = maxScale > 0 ? fr(63 / maxScale) : 0;
    const invMin = maxMin > 0 ? fr(63 / maxMin) : 0;
    const sc = o + 4;
    for (let j = 0; j < 8; j++) {
      const ls = Math.min(63, nearestInt(fr(invScale * scales[j]!)) & 0xff);
      const lm = Math.min(63, nearestInt(fr(invMin * mins[j]!)) & 0xff);
      if (j < 4) {
        out[sc + j] = ls;
        out[sc + j + 4] = lm;
      } else {
        out[sc + j + 4] = (ls & 15) | ((lm & 15) << 4);
        out[sc + j - 4]! |= (ls >> 4) << 6;
        out[sc + j]! |= (lm >> 4) << 6;
      }
    }
    const d16 = putHalf(out, o, fr(maxScale / 63));
    const dmin16 = putHalf(out, o + 2, fr(maxMin / 63));
    for (let j = 0; j < 8; j++) {
      let s: number;
      let m: number;
      if (j < 4) {
        s = out[sc + j]! & 63;
        m = out[sc + j + 4]! & 63;
      } else {
        const b = out[sc + j + 4]!;
        s = (b & 15) | ((out[sc + j - 4]! >> 6) << 4);
        m = (b >> 4) | ((out[sc + j]! >> 6) << 4);
      }
      const d = fr(d16 * s);
      if (!d) continue; // the sub-block keeps make_qkx2_quants's levels
      const dm = fr(dmin16 * m);
      for (let l = 0; l < 32; l++) {
        const q = nearestInt(fr(fr(x[i + 32 * j + l]! + dm) / d));
        L[32 * j + l] = Math.max(0, Math.min(nmax, q));
      }
    }
    if (bits === 4) {
      // sub-blocks 2c and 2c+1 in the low and high nibbles of bytes 32c…32c+31
      for (let c = 0; c < 4; c++)
        for (let l = 0; l < 32; l++)
          out[o + 16 + 32 * c + l] = L[64 * c + l]! | (L[64 * c + 32 + l]! << 4);
    } else {
      const qh = o + 16;
      out.fill(0, qh, qh + 32);
      for (let c = 0; c < 4; c++) {
        for (let l = 0; l < 32; l++) {
          const l1 = L[64 * c + l]!;
          const l2 = L[64 * c + 32 + l]!;
          out[qh + l]! |= ((l1 >> 4) << (2 * c)) | ((l2 >> 4) << (2 * c + 1));
          out[o + 48 + 32 * c + l] = (l1 & 15) | ((l2 & 15) << 4);
        }
      }
    }
  };
}

const GROUP_MAX_EPS = fr(1e-15);

/**
 * ggml's make_qx_quants with rmse_type 1 and no importance weights (what Q6_K uses): signed levels
 * L[l0…l0+n) in 0…2·nmax−1 (offset by nmax) for x[i…i+n), the scale refined over 18 trial scales by
 * x²-weighted least squares. Returns the scale.
 */
function makeQxQuants(
  n: number,
  nmax: number,
  x: Float32Array,
  i: number,
  L: Uint8Array,
  l0: number,
): number {
  let max = 0;
  let amax = 0;
  for (let k = 0; k < n; k++) {
    const ax = Math.abs(x[i + k]!);
    if (ax > amax) {
      amax = ax;
      max = x[i + k]!;
    }
  }
  if (amax < GROUP_MAX_EPS) {
    for (let k = 0; k < n; k++) L[l0 + k] = 0;
    return 0;
  }
  const level = (iscale: number, v: number): number =>
    Math.max(-nmax, Math.min(nmax - 1, nearestInt(fr(iscale * v))));
  let iscale = fr(-nmax / max);
  let sumLX = 0;
  let sumL2 = 0;
  for (let k = 0; k < n; k++) {
    const v = x[i + k]!;
    const l = level(iscale, v);
    L[l0 + k] = l + nmax;
    const w = fr(v * v);
    sumLX = fr(sumLX + fr(fr(w * v) * l));
    sumL2 = fr(sumL2 + fr(fr(w * l) * l));
  }
  let scale = sumL2 ? fr(sumLX / sumL2) : 0;
  let best = fr(scale * sumLX);
  for (let is = -9; is <= 9; is++) {
    if (is === 0) continue;
    iscale = fr(-fr(nmax + fr(fr(0.1) * is)) / max);
    sumLX = 0;
    sumL2 = 0;
    for (let k = 0; k < n; k++) {
      const v = x[i + k]!;
      const l = level(iscale, v);
      const w = fr(v * v);
      sumLX = fr(sumLX + fr(fr(w * v) * l));
      sumL2 = fr(sumL2 + fr(fr(w * l) * l));
    }
    if (sumL2 > 0 && fr(sumLX * sumLX) > fr(best * sumL2)) {
      for (let k = 0; k < n; k++) L[l0 + k] = nmax + level(iscale, x[i + k]!);
      scale = fr(sumLX / sumL2);
      best = fr(scale * sumLX);
    }
  }
  return scale;
}

/**
 * Q6_K: sixteen sub-blocks of 16 fitted by make_qx_quants, their scales quantized to i8 against the
 * one of largest magnitude, then every value re-quantized to 6 bits with the stored scales.
 */
const q6_k: BlockQuantizer = (() => {
  const L = new Uint8Array(256);
  const scales = new Float32Array(16);
  return (x, i, out, o) => {
    let maxScale = 0;
    let maxAbsScale = 0;
    for (let ib = 0; ib < 16; ib++) {
      const scale = makeQxQuants(16, 32, x, i + 16 * ib, L, 16 * ib);
      scales[ib] = scale;
      if (Math.abs(scale) > maxAbsScale) {
        maxAbsScale = Math.abs(scale);
        maxScale = scale;
      }
    }
    if (maxAbsScale < GROUP_MAX_EPS) {
      out.fill(0, o, o + 210);
      return;
    }
    const iscale = fr(-128 / maxScale);
    const d16 = putHalf(out, o + 208, fr(1 / iscale));
    for (let ib = 0; ib < 16; ib++)
      out[o + 192 + ib] = Math.min(127, nearestInt(fr(iscale * scales[ib]!))) & 0xff;
    for (let j = 0; j < 16; j++) {
      const d = fr(d16 * ((out[o + 192 + j]! << 24) >> 24));
      if (!d) continue;
      for (let l = 0; l < 16; l++) {
        const q = nearestInt(fr(x[i + 16 * j + l]! / d));
        L[16 * j + l] = Math.max(-32, Math.min(31, q)) + 32;
      }
    }
    // value 128h + 32k + l: low nibble in byte 64h + 32(k&1) + l (nibble k>>1), high 2 bits in byte
    // 128 + 32h + l (bits 2k)
    for (let h = 0; h < 2; h++) {
      const ql = o + 64 * h;
      const qh = o + 128 + 32 * h;
      const base = 128 * h;
      for (let l = 0; l < 32; l++) {
        const q1 = L[base + l]!;
        const q2 = L[base + l + 32]!;
        const q3 = L[base + l + 64]!;
        const q4 = L[base + l + 96]!;
        out[ql + l] = (q1 & 15) | ((q3 & 15) << 4);
        out[ql + l + 32] = (q2 & 15) | ((q4 & 15) << 4);
        out[qh + l] = (q1 >> 4) | ((q2 >> 4) << 2) | ((q3 >> 4) << 4) | ((q4 >> 4) << 6);
      }
    }
  };
})();

const QUANTIZERS: Readonly<Record<QuantType, BlockQuantizer>> = {
  Q4_0: symmetric(4),
  Q4_1: affine(4),
  Q5_0: symmetric(5),
  Q5_1: affine(5),
  Q8_0: q8_0,
  Q4_K: kQuant(4),
  Q5_K: kQuant(5),
  Q6_K: q6_k,
};

/**
 * Quantizes f32 values to `type`'s blocks as llama.cpp's quantize_row_<type>_ref does (the length must
 * be a whole number of blocks: 32 values, or 256 for the K types). Blocks are independent, so a whole
 * tensor quantizes the same as row by row.
 */
export function quantize(type: QuantType, values: Float32Array): Uint8Array<ArrayBuffer> {
  const f = QUANT_FORMATS[type];
  if (values.length % f.block !== 0)
    // Callers choose a type whose block divides the rows (the export falls back where it does not).
    throw new InternalError(
      `${type} quantizes whole blocks of ${f.block} values; got ${values.length}`,
    );
  const n = values.length / f.block;
  const out = new Uint8Array(n * f.bytes);
  const q = QUANTIZERS[type];
  for (let b = 0; b < n; b++) q(values, b * f.block, out, b * f.bytes);
  return out;
}
