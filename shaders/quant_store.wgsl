// The quantized matmuls' store: a lane's 4 columns of row m of C [M, N] (N = the output's row
// length), scaled by alpha, overwriting or (p.accum = 1) accumulating; rows and columns past the
// edge are not stored. Included by the matmul.*_q* kernels, which bind C and p.

fn store(m: u32, n0: u32, v: vec4<f32>) {
  if (m >= p.M) {
    return;
  }
  for (var c = 0u; c < 4u; c++) {
    if (n0 + c < p.N) {
      let i = m * p.N + n0 + c;
      if (p.accum != 0u) {
        C[i] += p.alpha * v[c];
      } else {
        C[i] = p.alpha * v[c];
      }
    }
  }
}
