// Sum of squares, stage 1 of 2, barrier-free variant for CPU adapters (SwiftShader, where the tree
// variant's emulated workgroup barriers dominate: 9 s for a 28M-element embedding gradient):
//   partials[base + b] = Σ g[i]² over block b = [b·4096, (b+1)·4096) ∩ [0, n).
// Threads: one invocation per block (64-lane workgroups, 2D grid, x fastest); it walks its block in
// order, four lanes of a vec4 accumulator at a time, then adds them (x + y) + (z + w) and the tail.
// partials entries are OVERWRITTEN; stage 2 (gradnorm.reduce) adds all partials in order, so the
// total is the same bits every run.

// #params Params

@group(0) @binding(0) var<storage, read> g: array<f32>;
@group(0) @binding(1) var<storage, read_write> partials: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

const BLOCK: u32 = 4096u;

@compute @workgroup_size(64)
fn main(
  @builtin(global_invocation_id) gid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
) {
  let b = gid.y * nwg.x * 64u + gid.x;
  let start = b * BLOCK;
  if (start >= p.n) {
    return;
  }
  let end = min(start + BLOCK, p.n);
  var s = vec4<f32>(0.0);
  var i = start;
  for (; i + 4u <= end; i += 4u) {
    let x = vec4<f32>(g[i], g[i + 1u], g[i + 2u], g[i + 3u]);
    s += x * x;
  }
  var t = (s.x + s.y) + (s.z + s.w);
  for (; i < end; i++) {
    t += g[i] * g[i];
  }
  partials[p.base + b] = t;
}
