// Sum of squares, stage 1 of 2: partials[base + b] = Σ g[i]² over block b = [b·4096, (b+1)·4096) ∩ [0, n).
// One workgroup per block (2D grid, x fastest); lane l sums i = b·4096 + j·256 + l for j = 0 … 15 in
// order, then a fixed-order tree in workgroup memory. partials entries are OVERWRITTEN. Stage 2
// (gradnorm.reduce) adds all partials in order, so the total is the same bits every run.

// #params Params

@group(0) @binding(0) var<storage, read> g: array<f32>;
@group(0) @binding(1) var<storage, read_write> partials: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

const WG: u32 = 256u;
const ITEMS: u32 = 16u;
var<workgroup> red: array<f32, 256>;

@compute @workgroup_size(256)
fn main(
  @builtin(workgroup_id) wg: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let b = wg.y * nwg.x + wg.x;
  let start = b * WG * ITEMS;
  var s = 0.0;
  for (var j = 0u; j < ITEMS; j++) {
    let i = start + j * WG + lid;
    if (i < p.n) {
      let x = g[i];
      s += x * x;
    }
  }
  red[lid] = s;
  workgroupBarrier();
  for (var k = WG / 2u; k > 0u; k >>= 1u) {
    if (lid < k) {
      red[lid] += red[lid + k];
    }
    workgroupBarrier();
  }
  if (lid == 0u && start < p.n) {
    partials[p.base + b] = red[0];
  }
}
