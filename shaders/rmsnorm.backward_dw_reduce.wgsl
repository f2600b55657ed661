// RMSNorm backward, weight gradient, stage 2 of 2: dw[d] += Σ_c partial[c, d], c = 0 … C−1 in order.
// dw ACCUMULATES (+=) (parameter gradients sum over micro-batches). One lane per column d, 64 lanes
// per workgroup; the fixed summation order makes the result the same bits every run.

// #params Params

@group(0) @binding(0) var<storage, read> partial: array<f32>;
@group(0) @binding(1) var<storage, read_write> dw: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let d = gid.x;
  if (d >= p.D) {
    return;
  }
  var s = 0.0;
  for (var c = 0u; c < p.C; c++) {
    s += partial[c * p.D + d];
  }
  dw[d] = dw[d] + s;
}
