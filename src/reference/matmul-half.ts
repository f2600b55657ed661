/**
 * The f16 matmul's arithmetic in plain TypeScript (matmul.half / matmul.half_emu): each row of A
 * scaled by 2^-e (its largest |a| then in [0.5, 1)), operands rounded to f16, each product and
 * each partial sum of `run` consecutive k rounded to f16, the partial sums added in f32 in k order
 * (K in tiles of 16, as the kernel walks it), the row scaled back by alpha·2^e. Rounding to
 * nearest (ties to even), as IEEE f16 units and the emulated kernel do, or toward zero, which WGSL
 * also allows an implementation: the tolerance tuning checks f16 kernels at must hold for both.
 * Tests compare the emulated kernel with it (the same roundings: agreement to f32's last bits) and
 * both with the exact float64 product (the error f16 costs).
 */
import { f16ToF32, f32ToF16 } from '../util/half.ts';

/** How f16 results are rounded: to nearest, ties to even, or toward zero. */
export type F16Rounding = 'nearest' | 'zero';

/** x rounded to an f16 value (overflow to ±Infinity), as a number. */
export function roundF16(x: number, mode: F16Rounding = 'nearest'): number {
  const r = f16ToF32(f32ToF16(x));
  if (mode === 'nearest' || Math.abs(r) <= Math.abs(x)) return r;
  // Rounded away from zero: step back one f16 unit in the last place (2^-24 below f16's normals).
  const ulp = Math.abs(x) < 2 ** -14 ? 2 ** -24 : 2 ** (Math.floor(Math.log2(Math.abs(x))) - 10);
  return r - Math.sign(x) * ulp;
}

/** The power of two the kernel scales a row by: 2^-e with max|a| = f·2^e, f in [0.5, 1). */
export function rowScale(row: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < row.length; i++) m = Math.max(m, Math.abs(row[i]!));
  if (m === 0) return 1;
  const e = Math.min(125, Math.max(-125, Math.floor(Math.log2(m)) + 1));
  return 2 ** -e;
}

/**
 * C[M, N] = alpha · A[M, K] · op(W) with matmul.half's roundings: op 'nt' reads W as [N, K] (a
 * linear layer's forward), 'nn' as [K, N] (its input gradient).
 */
export function linearHalf(
  a: ArrayLike<number>,
  w: ArrayLike<number>,
  M: number,
  N: number,
  K: number,
  op: 'nt' | 'nn',
  run: number,
  alpha = 1,
  mode: F16Rounding = 'nearest',
): Float64Array {
  const q = (x: number) => roundF16(x, mode);
  const c = new Float64Array(M * N);
  const tiles = Math.ceil(K / 16) * 16;
  for (let m = 0; m < M; m++) {
    const s = rowScale(Array.prototype.slice.call(a, m * K, m * K + K) as number[]);
    const as = new Float64Array(K);
    for (let k = 0; k < K; k++) as[k] = q(a[m * K + k]! * s);
    for (let n = 0; n < N; n++) {
      let acc = 0;
      let h = 0;
      for (let k = 0; k < tiles; k++) {
        if (k < K) {
          const wv = q(op === 'nt' ? w[n * K + k]! : w[k * N + n]!);
          h = q(h + q(as[k]! * wv));
        }
        if ((k + 1) % run === 0) {
          acc = Math.fround(acc + h);
          h = 0;
        }
      }
      c[m * N + n] = Math.fround((alpha / s) * acc);
    }
  }
  return c;
}
