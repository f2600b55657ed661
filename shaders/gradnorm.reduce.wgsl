// Sum of squares, stage 2 of 2: out[0] = Σ_b partials[b], b < count, OVERWRITTEN. One workgroup of
// 256 lanes: lane l sums b = l, l + 256, … in order, then a fixed-order tree (deterministic).

// #params Params

@group(0) @binding(0) var<storage, read> partials: array<f32>;
@group(0) @binding(1) var<storage, read_write> outp: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

const WG: u32 = 256u;
var<workgroup> red: array<f32, 256>;

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) lid: u32) {
  var s = 0.0;
  for (var b = lid; b < p.count; b += WG) {
    s += partials[b];
  }
  red[lid] = s;
  workgroupBarrier();
  for (var k = WG / 2u; k > 0u; k >>= 1u) {
    if (lid < k) {
      red[lid] += red[lid + k];
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    outp[0] = red[0];
  }
}
