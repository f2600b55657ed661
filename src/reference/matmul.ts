/** Reference matmuls in float64 (plain loops, row-major). */

/** C[M, N] = A[M, K] · B[N, K]ᵀ. */
export function matmulNT(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  M: number,
  N: number,
  K: number,
): Float64Array {
  const c = new Float64Array(M * N);
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += a[i * K + k]! * b[j * K + k]!;
      c[i * N + j] = s;
    }
  }
  return c;
}

/** y[T, out] = x[T, in] · W[out, in]ᵀ (a linear layer's forward). */
export function linearForward(
  x: ArrayLike<number>,
  w: ArrayLike<number>,
  T: number,
  inF: number,
  outF: number,
): Float64Array {
  return matmulNT(x, w, T, outF, inF);
}

/** dx[T, in] = dy[T, out] · W[out, in] (a linear layer's input gradient). */
export function linearBackwardInput(
  dy: ArrayLike<number>,
  w: ArrayLike<number>,
  T: number,
  inF: number,
  outF: number,
): Float64Array {
  const dx = new Float64Array(T * inF);
  for (let t = 0; t < T; t++) {
    for (let i = 0; i < inF; i++) {
      let s = 0;
      for (let o = 0; o < outF; o++) s += dy[t * outF + o]! * w[o * inF + i]!;
      dx[t * inF + i] = s;
    }
  }
  return dx;
}
