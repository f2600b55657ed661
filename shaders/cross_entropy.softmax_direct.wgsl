// Cross-entropy on a chunk of logits [rows, V], one-invocation-per-row variant for CPU adapters
// (SwiftShader, where emulated workgroup barriers dominate). Same results as
// cross_entropy.softmax_tiled:
//   lossRows[row0 + r] = lse(logits[r, :]) − logits[r, label]   (0 when the label is ignored)
// and, when p.grad is 1, the logits are OVERWRITTEN in place by the loss gradient
//   dlogits[r, v] = gradScale · (softmax(logits[r, :])[v] − [v = label])   (a zero row if ignored).
// A label outside [0, V) (−100 in practice) is ignored. lossRows OVERWRITES its entries.
// Threads: each invocation owns one row r (2D grid of 64-wide workgroups, x fastest) and walks V
// in order for the max, the sum of exponentials and the gradient: no barriers, deterministic.

// #params Params

@group(0) @binding(0) var<storage, read> labels: array<i32>;
@group(0) @binding(1) var<storage, read_write> logits: array<f32>;
@group(0) @binding(2) var<storage, read_write> lossRows: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let r = gid.y * nwg.x * 64u + gid.x;
  if (r >= p.rows) {
    return;
  }
  let base = r * p.V;
  let label = labels[p.row0 + r];
  let valid = label >= 0 && u32(label) < p.V;
  let labelLogit = select(0.0, logits[base + u32(max(label, 0))], valid);
  var m = -3.402823e38;
  for (var v = 0u; v < p.V; v++) {
    m = max(m, logits[base + v]);
  }
  var s = 0.0;
  for (var v = 0u; v < p.V; v++) {
    s += exp(logits[base + v] - m);
  }
  let lse = m + log(s);
  lossRows[p.row0 + r] = select(0.0, lse - labelLogit, valid);
  if (p.grad == 0u) {
    return;
  }
  let lbl = u32(max(label, 0));
  for (var v = 0u; v < p.V; v++) {
    let i = base + v;
    let g = exp(logits[i] - lse) - select(0.0, 1.0, valid && v == lbl);
    logits[i] = select(0.0, g * p.gradScale, valid);
  }
}
