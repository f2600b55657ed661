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
