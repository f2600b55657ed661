// dst[i] += src[i] for i < n (f32). Used to add a branch into the residual stream or a gradient.
// One lane per element; 256 lanes per workgroup on a 2D grid (x fastest) so n may exceed 65535·256.

// #params Params

@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<storage, read_write> dst: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.y * nwg.x * 256u + gid.x;
  if (i >= p.n) {
    return;
  }
  dst[i] = dst[i] + src[i];
}
