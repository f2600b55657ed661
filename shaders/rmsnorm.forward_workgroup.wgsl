// RMSNorm forward: rstd[t] = 1 / sqrt(mean_d x[t, d]² + eps); y[t, d] = x[t, d] · rstd[t] · w[d].
// x, y: [T, D] f32 row-major; w: [D]; rstd: [T], saved for the backward pass.
// One workgroup per row t (2D grid, x fastest); 256 lanes stride over D; the sum of squares is
// reduced by a fixed-order tree in workgroup memory, so results are the same bits every run.

// #params Params

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<storage, read_write> rstd: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;

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
    let v = x[base + d];
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
    y[base + d] = x[base + d] * r * w[d];
  }
  if (lid == 0u) {
    rstd[t] = r;
  }
}
