// RMSNorm backward, input gradient. With g = w ⊙ dy and c[t] = Σ_d g[t, d] · x[t, d]:
//   dx[t, d] = rstd[t] · g[t, d] − rstd[t]³ · x[t, d] · c[t] / D
// dx OVERWRITES (=) when p.accumulate is 0 and ACCUMULATES (+=) when it is 1 (adding into the
// residual-stream gradient). The weight gradient is computed by rmsnorm.backward_dw(_reduce).
// One workgroup per row t (2D grid, x fastest); 256 lanes stride over D; c[t] is reduced by a
// fixed-order tree in workgroup memory (deterministic).

// #params Params

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read> rstd: array<f32>;
@group(0) @binding(3) var<storage, read> dy: array<f32>;
@group(0) @binding(4) var<storage, read_write> dx: array<f32>;
@group(0) @binding(5) var<uniform> p: Params;

const WG: u32 = 256u;
var<workgroup> red: array<f32, 256>;

@compute @workgroup_size(256)
fn main(
  @builtin(workgroup_id) wg: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let t = wg.y * nwg.x + wg.x;
  if (t >= p.T) {
    return;
  }
  let base = t * p.D;
  var s = 0.0;
  for (var d = lid; d < p.D; d += WG) {
    s += w[d] * dy[base + d] * x[base + d];
  }
  red[lid] = s;
  workgroupBarrier();
  for (var k = WG / 2u; k > 0u; k >>= 1u) {
    if (lid < k) {
      red[lid] += red[lid + k];
    }
    workgroupBarrier();
  }
  let r = rstd[t];
  let coef = r * r * r * red[0] / f32(p.D);
  for (var d = lid; d < p.D; d += WG) {
    let i = base + d;
    let g = r * w[d] * dy[i] - coef * x[i];
    dx[i] = select(g, dx[i] + g, p.accumulate != 0u);
  }
}
