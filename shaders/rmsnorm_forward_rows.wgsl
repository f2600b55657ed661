// RMSNorm forward, one-thread-per-row body (for CPU adapters such as SwiftShader, where workgroup
// barriers are emulated and cost far more than the parallelism across a row buys):
//   rstd[t] = 1 / sqrt(mean_d x[t, d]² + eps); y[t, d] = x[t, d] · rstd[t] · w[d].
// The including file declares w, y, rstd, p and the row's input: xFirst(i) reads element i the
// first time (and may write it: the fused residual add), xAgain(i) reads it back. Each invocation
// owns one row t (2D grid of 64-wide workgroups, x fastest) and walks D in order: no barriers,
// deterministic.

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = gid.y * nwg.x * 64u + gid.x;
  if (t >= p.T) {
    return;
  }
  let base = t * p.D;
  var s = 0.0;
  for (var d = 0u; d < p.D; d++) {
    let v = xFirst(base + d);
    s += v * v;
  }
  let r = inverseSqrt(s / f32(p.D) + p.eps);
  for (var d = 0u; d < p.D; d++) {
    y[base + d] = xAgain(base + d) * r * w[d];
  }
  rstd[t] = r;
}
