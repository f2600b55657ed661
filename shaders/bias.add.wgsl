// y[t, o] += b[o] for t < T, o < N (f32, in place): a projection's frozen bias added after
// x·Wᵀ (+ LoRA), as Hugging Face's nn.Linear and PEFT's LoRA layer do (Qwen2's q/k/v). The bias is
// frozen, so the backward passes dy through unchanged and needs no kernel.
// y: [T, N] row-major; b: [N]. One lane per element; 256 lanes per workgroup on a 2D grid (x fastest)
// so T·N may exceed 65535·256.

// #params Params

@group(0) @binding(0) var<storage, read> b: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.y * nwg.x * 256u + gid.x;
  if (i >= p.T * p.N) {
    return;
  }
  y[i] = y[i] + b[i % p.N];
}
