// Cross-entropy on a chunk of logits [rows, V], numerically stable (max-subtracted log-sum-exp):
//   lossRows[row0 + r] = lse(logits[r, :]) − logits[r, label]   (0 when the label is ignored)
// and, when p.grad is 1, the logits are OVERWRITTEN in place by the loss gradient
//   dlogits[r, v] = gradScale · (softmax(logits[r, :])[v] − [v = label])   (a zero row if ignored).
// A label outside [0, V) (−100 in practice) is ignored. lossRows OVERWRITES its entries.
// One workgroup per row (2D grid, x fastest); 256 lanes stride over V; max and sum are reduced by a
// fixed-order tree in workgroup memory (deterministic).

// #params Params

@group(0) @binding(0) var<storage, read> labels: array<i32>;
@group(0) @binding(1) var<storage, read_write> logits: array<f32>;
@group(0) @binding(2) var<storage, read_write> lossRows: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

const WG: u32 = 256u;
var<workgroup> red: array<f32, 256>;
var<workgroup> labelLogit: f32;

@compute @workgroup_size(256)
fn main(
  @builtin(workgroup_id) wg: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let r = wg.y * nwg.x + wg.x;
  if (r >= p.rows) {
    return;
  }
  let base = r * p.V;
  let label = labels[p.row0 + r];
  let valid = label >= 0 && u32(label) < p.V;
  if (lid == 0u) {
    labelLogit = select(0.0, logits[base + u32(max(label, 0))], valid);
  }
  var m = -3.402823e38;
  for (var v = lid; v < p.V; v += WG) {
    m = max(m, logits[base + v]);
  }
  red[lid] = m;
  workgroupBarrier();
  for (var k = WG / 2u; k > 0u; k >>= 1u) {
    if (lid < k) {
      red[lid] = max(red[lid], red[lid + k]);
    }
    workgroupBarrier();
  }
  let mx = red[0];
  workgroupBarrier();
  var s = 0.0;
  for (var v = lid; v < p.V; v += WG) {
    s += exp(logits[base + v] - mx);
  }
  red[lid] = s;
  workgroupBarrier();
  for (var k = WG / 2u; k > 0u; k >>= 1u) {
    if (lid < k) {
      red[lid] += red[lid + k];
    }
    workgroupBarrier();
  }
  let lse = mx + log(red[0]);
  if (lid == 0u) {
    lossRows[p.row0 + r] = select(0.0, lse - labelLogit, valid);
  }
  if (p.grad == 0u) {
    return;
  }
  for (var v = lid; v < p.V; v += WG) {
    let i = base + v;
    let g = exp(logits[i] - lse) - select(0.0, 1.0, valid && v == u32(label));
    logits[i] = select(0.0, g * p.gradScale, valid);
  }
}
