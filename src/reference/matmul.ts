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
