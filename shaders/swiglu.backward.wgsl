// SwiGLU backward, out = silu(gate) · up, f32, i < n:
//   dUp[i]   = dOut[i] · silu(gate[i])
//   dGate[i] = dOut[i] · up[i] · σ(g) · (1 + g · (1 − σ(g)))
// Both gradients OVERWRITE (=). One lane per element; 256 lanes per workgroup on a 2D grid.

// #params Params

@group(0) @binding(0) var<storage, read> gate: array<f32>;
@group(0) @binding(1) var<storage, read> up: array<f32>;
@group(0) @binding(2) var<storage, read> dOut: array<f32>;
@group(0) @binding(3) var<storage, read_write> dGate: array<f32>;
@group(0) @binding(4) var<storage, read_write> dUp: array<f32>;
@group(0) @binding(5) var<uniform> p: Params;

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
  let s = sigmoid(g);
  let d = dOut[i];
  dUp[i] = d * g * s;
  dGate[i] = d * up[i] * s * (1.0 + g * (1.0 - s));
}
