// The quantized matmuls' store: a lane's 4 (store8: 8) columns n0… of row m of C [M, N], at
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

// Columns n0…n0 + 3 (lo) and n0 + 4…n0 + 7 (hi) of row m.
fn store8(m: u32, n0: u32, lo: vec4<f32>, hi: vec4<f32>) {
  store(m, n0, lo);
  store(m, n0 + 4u, hi);
}
