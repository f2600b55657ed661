// SwiGLU: out[i] = silu(gate[i]) · up[i], silu(g) = g · sigmoid(g), f32, i < n.
// One lane per element; 256 lanes per workgroup on a 2D grid (x fastest) so n may exceed 65535·256.

// #params Params

@group(0) @binding(0) var<storage, read> gate: array<f32>;
@group(0) @binding(1) var<storage, read> up: array<f32>;
@group(0) @binding(2) var<storage, read_write> outp: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

// 1 / (1 + e^−g) without overflow: exp of a non-positive number only.
fn sigmoid(g: f32) -> f32 {
  let e = exp(-abs(g));
  return select(e / (1.0 + e), 1.0 / (1.0 + e), g >= 0.0);
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.y * nwg.x * 256u + gid.x;
  if (i >= p.n) {
    return;
  }
  let g = gate[i];
  outp[i] = g * sigmoid(g) * up[i];
}
