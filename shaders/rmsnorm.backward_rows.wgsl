// RMSNorm backward (input gradient), one-thread-per-row variant for CPU adapters (see
// rmsnorm.forward_rows.wgsl). With g = w ⊙ dy and c[t] = Σ_d g[t, d] · x[t, d]:
//   dx[t, d] = rstd[t] · g[t, d] − rstd[t]³ · x[t, d] · c[t] / D
// dx OVERWRITES (=) when p.accumulate is 0 and ACCUMULATES (+=) when it is 1. Each invocation owns
// one row and sums in index order: no barriers, deterministic.

// #params Params

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read> rstd: array<f32>;
@group(0) @binding(3) var<storage, read> dy: array<f32>;
@group(0) @binding(4) var<storage, read_write> dx: array<f32>;
@group(0) @binding(5) var<uniform> p: Params;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = gid.y * nwg.x * 64u + gid.x;
  if (t >= p.T) {
    return;
  }
  let base = t * p.D;
  var s = 0.0;
  for (var d = 0u; d < p.D; d++) {
    s += w[d] * dy[base + d] * x[base + d];
  }
  let r = rstd[t];
  let coef = r * r * r * s / f32(p.D);
  for (var d = 0u; d < p.D; d++) {
    let i = base + d;
    let g = r * w[d] * dy[i] - coef * x[i];
    dx[i] = select(g, dx[i] + g, p.accumulate != 0u);
  }
}
