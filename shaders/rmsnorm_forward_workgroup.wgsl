// RMSNorm forward body, one workgroup per row t (2D grid, x fastest):
//   rstd[t] = 1 / sqrt(mean_d x[t, d]² + eps); y[t, d] = x[t, d] · rstd[t] · w[d].
// 256 lanes stride over D; the sum of squares is reduced by a fixed-order tree in workgroup memory,
// so results are the same bits every run. The including file declares w, y, rstd, p and the row's
// input: xFirst(i) reads element i the first time (and may write it: the fused residual add),
// xAgain(i) reads it back (the same lane, so no barrier is needed between them).

const WG: u32 = 256u;
var<workgroup> red: array<f32, 256>;

@compute @workgroup_size(256)
fn main(
  @builtin(workgroup_id) wg: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let t = wg.y * nwg.x + wg.x;
  // Uniform across the workgroup, so the barriers below stay in uniform control flow.
  if (t >= p.T) {
    return;
  }
  let base = t * p.D;
  var s = 0.0;
  for (var d = lid; d < p.D; d += WG) {
    let v = xFirst(base + d);
    s += v * v;
  }
  red[lid] = s;
  workgroupBarrier();
  for (var k = WG / 2u; k > 0u; k >>= 1u) {
    if (lid < k) {
      red[lid] += red[lid + k];
    }
    workgroupBarrier();
  }
  let r = inverseSqrt(red[0] / f32(p.D) + p.eps);
  for (var d = lid; d < p.D; d += WG) {
    y[base + d] = xAgain(base + d) * r * w[d];
  }
  if (lid == 0u) {
    rstd[t] = r;
  }
}
