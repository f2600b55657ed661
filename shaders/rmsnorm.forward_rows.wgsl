// RMSNorm forward, one-thread-per-row variant (for CPU adapters such as SwiftShader, where
// workgroup barriers are emulated and cost far more than the parallelism across a row buys):
//   rstd[t] = 1 / sqrt(mean_d x[t, d]² + eps); y[t, d] = x[t, d] · rstd[t] · w[d].
// x, y: [T, D] f32 row-major; w: [D]; rstd: [T]. Each invocation owns one row t (2D grid of
// 64-wide workgroups, x fastest) and walks D in order: no barriers, deterministic.

// #params Params

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<storage, read_write> rstd: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = gid.y * nwg.x * 64u + gid.x;
  if (t >= p.T) {
    return;
  }
  let base = t * p.D;
  var s = 0.0;
  for (var d = 0u; d < p.D; d++) {
    let v = x[base + d];
    s += v * v;
  }
  let r = inverseSqrt(s / f32(p.D) + p.eps);
  for (var d = 0u; d < p.D; d++) {
    y[base + d] = x[base + d] * r * w[d];
  }
  rstd[t] = r;
}
