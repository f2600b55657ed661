// Attention backward, preparation: D[h, i] = Σ_d dO[i, h, d] · o[i, h, d], the per-row term of the
// softmax backward (dS = P ∘ (dP − D)) used by the attention.backward_dq_* and
// attention.backward_dkdv_* kernels.
// Threads: one lane per (query row, head), 64 lanes per workgroup; each lane walks its row's HD
// elements. D is OVERWRITTEN (=) for this dispatch's query rows q0 … q0 + Tq − 1 (o, dO: views of those rows).

// #params Params

@group(0) @binding(0) var<storage, read> o: array<f32>;
@group(0) @binding(1) var<storage, read> dO: array<f32>;
@group(0) @binding(2) var<storage, read_write> D: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let r = gid.x;  // r = h * Tq + i over this dispatch's Tq rows (rows q0 … of the NQ in D)
  if (r >= p.Tq * p.H) { return; }
  let h = r / p.Tq;
  let i = r % p.Tq;
  let base = (i * p.H + h) * p.HD;
  var s = 0.0;
  for (var d = 0u; d < p.HD; d++) { s += dO[base + d] * o[base + d]; }
  D[h * p.NQ + p.q0 + i] = s;
}
