/** Reference RMSNorm in float64 (plain loops, row-major). */

/** y = x · rstd · w per row, rstd[t] = 1 / sqrt(mean_d x[t, d]² + eps). */
export function rmsnormForward(
  x: ArrayLike<number>,
  w: ArrayLike<number>,
  T: number,
  D: number,
  eps: number,
): { y: Float64Array; rstd: Float64Array } {
  const y = new Float64Array(T * D);
  const rstd = new Float64Array(T);
  for (let t = 0; t < T; t++) {
    let s = 0;
    for (let d = 0; d < D; d++) s += x[t * D + d]! ** 2;
    const r = 1 / Math.sqrt(s / D + eps);
    rstd[t] = r;
    for (let d = 0; d < D; d++) y[t * D + d] = x[t * D + d]! * r * w[d]!;
  }
  return { y, rstd };
}

/** dx (of one call) and dw = Σ_t dy · x · rstd, given the saved rstd. */
export function rmsnormBackward(
  x: ArrayLike<number>,
  w: ArrayLike<number>,
  rstd: ArrayLike<number>,
  dy: ArrayLike<number>,
  T: number,
  D: number,
): { dx: Float64Array; dw: Float64Array } {
  const dx = new Float64Array(T * D);
  const dw = new Float64Array(D);
  for (let t = 0; t < T; t++) {
    const r = rstd[t]!;
    let c = 0;
    for (let d = 0; d < D; d++) c += w[d]! * dy[t * D + d]! * x[t * D + d]!;
    for (let d = 0; d < D; d++) {
      const i = t * D + d;
      dx[i] = r * w[d]! * dy[i]! - (r * r * r * c * x[i]!) / D;
      dw[d] = dw[d]! + dy[i]! * x[i]! * r;
    }
  }
  return { dx, dw };
}

/**
 * Per-head RMSNorm (Qwen3's q_norm / k_norm) written per head: x [T, H·hd], each head's hd values
 * normalised on their own, y[t, h, d] = x[t, h, d] · rstd[t, h] · w[d] with one weight w [hd]
 * shared by every head; rstd [T, H].
 */
export function headRmsnormForward(
  x: ArrayLike<number>,
  w: ArrayLike<number>,
  T: number,
  H: number,
  hd: number,
  eps: number,
): { y: Float64Array; rstd: Float64Array } {
  const y = new Float64Array(T * H * hd);
  const rstd = new Float64Array(T * H);
  for (let t = 0; t < T; t++) {
    for (let h = 0; h < H; h++) {
      const base = (t * H + h) * hd;
      let s = 0;
      for (let d = 0; d < hd; d++) s += x[base + d]! ** 2;
      const r = 1 / Math.sqrt(s / hd + eps);
      rstd[t * H + h] = r;
      for (let d = 0; d < hd; d++) y[base + d] = x[base + d]! * r * w[d]!;
    }
  }
  return { y, rstd };
}

/** Backward of headRmsnormForward: dx [T, H·hd], and dw [hd] summed over every token and head. */
export function headRmsnormBackward(
  x: ArrayLike<number>,
  w: ArrayLike<number>,
  rstd: ArrayLike<number>,
  dy: ArrayLike<number>,
  T: number,
  H: number,
  hd: number,
): { dx: Float64Array; dw: Float64Array } {
  const dx = new Float64Array(T * H * hd);
  const dw = new Float64Array(hd);
  for (let t = 0; t < T; t++) {
    for (let h = 0; h < H; h++) {
      const base = (t * H + h) * hd;
      const r = rstd[t * H + h]!;
      let c = 0;
      for (let d = 0; d < hd; d++) c += w[d]! * dy[base + d]! * x[base + d]!;
      for (let d = 0; d < hd; d++) {
        const i = base + d;
        dx[i] = r * w[d]! * dy[i]! - (r * r * r * c * x[i]!) / hd;
        dw[d] = dw[d]! + dy[i]! * x[i]! * r;
      }
    }
  }
  return { dx, dw };
}
