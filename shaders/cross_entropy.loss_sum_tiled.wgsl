// loss[0] = Σ_t lossRows[t], t < T, OVERWRITTEN. One workgroup of 256 lanes: lane l sums t = l,
// l + 256, … in order, then a fixed-order tree in workgroup memory (same bits every run).

// #params Params

@group(0) @binding(0) var<storage, read> lossRows: array<f32>;
@group(0) @binding(1) var<storage, read_write> loss: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

const WG: u32 = 256u;
var<workgroup> red: array<f32, 256>;

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) lid: u32) {
  var s = 0.0;
  for (var t = lid; t < p.T; t += WG) {
    s += lossRows[t];
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
    loss[0] = red[0];
  }
}
