// The quantized matmuls' store: a lane's 4 columns n0… of row m of C [M, N], at
// C[m·cStride + cCol + n] (a column window of a wider matrix when cStride > N), scaled by alpha,
// overwriting or (p.accum = 1) accumulating; rows and columns past the edge are not stored.
// Included by the quantized matmul bodies, which bind C and p.

fn store(m: u32, n0: u32, v: vec4<f32>) {
  if (m >= p.M) {
    return;
  }
  let at = m * p.cStride + p.cCol + n0;
  for (var c = 0u; c < 4u; c++) {
    if (n0 + c < p.N) {
      if (p.accum != 0u) {
        C[at + c] += p.alpha * v[c];
      } else {
        C[at + c] = p.alpha * v[c];
      }
    }
  }
}
