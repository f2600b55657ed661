// loss[0] = Σ_t lossRows[t], t < T, OVERWRITTEN; single-invocation variant for CPU adapters
// (SwiftShader, where the 256-lane tree's emulated barriers cost more than a serial sum).
// Threads: one invocation adds t = 0 … T−1 in order (same bits every run).

// #params Params

@group(0) @binding(0) var<storage, read> lossRows: array<f32>;
@group(0) @binding(1) var<storage, read_write> loss: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(1)
fn main() {
  var s = 0.0;
  for (var t = 0u; t < p.T; t++) {
    s += lossRows[t];
  }
  loss[0] = s;
}
