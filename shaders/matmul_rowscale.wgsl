// Per-row power-of-two scales of A for the matmul kernels that multiply in f16 (included by
// matmul_half.wgsl and matmul_sgmatrix.wgsl; not a kernel). f16 holds 6.1e-5…65504 at full
// precision: an input gradient's rows (1e-6 and smaller at long context) would underflow and an
// activation outlier could overflow, so each row of A is multiplied by 2^-e, its largest |a| then in
// [0.5, 1), before it is rounded to f16, and the row of C by 2^e at the end (both exact in f32).
// The includer declares `A: array<vec4<f32>>` (K % 4 == 0), `p.M`, `p.K`, and the constants
// RS_ROWS (rows of A a workgroup covers) and RS_LANES (its invocations), one a multiple of the other.
// Threads: RS_LANES / RS_ROWS lanes per row (at least 1; rows in passes when there are more rows
// than lanes) stride over the row's vec4s keeping the largest |a|, then the row's first lane folds
// its lanes' maxima. Two barriers per pass; call it in uniform control flow. Rows past M scale by 1.

var<workgroup> rsPart: array<f32, RS_LANES>;
var<workgroup> rsScale: array<f32, RS_ROWS>; // 2^-e for each row of the workgroup's block

fn max4(v: vec4<f32>) -> f32 {
  return max(max(v.x, v.y), max(v.z, v.w));
}

// Fills rsScale for rows m0 … m0 + RS_ROWS - 1 of A; `lid` is the local invocation index.
fn rowScales(m0: u32, lid: u32) {
  let per = max(1u, RS_LANES / RS_ROWS);
  let step = RS_LANES / per;
  for (var r0 = 0u; r0 < RS_ROWS; r0 += step) {
    let r = r0 + lid / per;
    let row = m0 + r;
    var mx = 0.0;
    if (r < RS_ROWS && row < p.M) {
      for (var k = (lid % per) * 4u; k < p.K; k += per * 4u) {
        mx = max(mx, max4(abs(A[(row * p.K + k) / 4u])));
      }
    }
    rsPart[lid] = mx;
    workgroupBarrier();
    if (lid % per == 0u && r < RS_ROWS) {
      var m = 0.0;
      for (var j = 0u; j < per; j++) {
        m = max(m, rsPart[lid + j]);
      }
      // m = f · 2^e with f in [0.5, 1); the clamp keeps 2^-e a normal f32.
      let e = clamp(frexp(m).exp, -125, 125);
      rsScale[r] = select(1.0, ldexp(1.0, -e), m > 0.0);
    }
    workgroupBarrier();
  }
}
