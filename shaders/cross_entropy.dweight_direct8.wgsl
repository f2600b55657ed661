// Output-layer backward, weight gradient, barrier-free variant for CPU adapters with 16-byte loads,
// for aligned shapes (V, the block's first row v0, its row count vRows and D all multiples of 4):
//   dW[v, d] += Σ_r G[r, v0 + v] · hidden[row0 + r, d] for v < vRows, d < D,
// summing the chunk's rows r = 0 … rows−1 in order, each element's products added in the same order
// as cross_entropy.dweight_direct (the same bits). dW: one row block [vRows, D] f32 (rows v0 … of the
// [V, D] gradient; a whole one has v0 0, vRows V), ACCUMULATES (+=). G = dlogits [rows, V] f32.
// Threads: each invocation computes an 8×4 block (v = 8·gid.y…, d = 4·gid.x…) in eight vec4
// accumulators from two vec4 loads of G and one of hidden per row (dweight_direct: eight scalar
// loads per 16 multiply-adds; here three vec4 loads per 32); 8×8 workgroups, no workgroup memory.
// The second half of a block past vRows loads its first half again and is not stored.

// #params Params

@group(0) @binding(0) var<storage, read> G: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> hidden: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> dW: array<vec4<f32>>;
@group(0) @binding(3) var<uniform> p: Params;

fn store(v: u32, d0: u32, c: vec4<f32>) {
  if (v >= p.vRows) {
    return;
  }
  let o = (v * p.D + d0) / 4u;
  dW[o] += c;
}

@compute @workgroup_size(8, 8)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let v0 = gid.y * 8u;
  let d0 = gid.x * 4u;
  if (v0 >= p.vRows || d0 >= p.D) {
    return;
  }
  // Columns v0…v0+3 and v4…v4+3 of G (v4 = v0 when the block ends after the first four).
  let v4 = select(v0, v0 + 4u, v0 + 4u < p.vRows);
  var c0 = vec4<f32>(0.0);
  var c1 = vec4<f32>(0.0);
  var c2 = vec4<f32>(0.0);
  var c3 = vec4<f32>(0.0);
  var c4 = vec4<f32>(0.0);
  var c5 = vec4<f32>(0.0);
  var c6 = vec4<f32>(0.0);
  var c7 = vec4<f32>(0.0);
  for (var r = 0u; r < p.rows; r++) {
    let g = r * p.V + p.v0;
    let b = hidden[((p.row0 + r) * p.D + d0) / 4u];
    let ga = G[(g + v0) / 4u];
    let gb = G[(g + v4) / 4u];
    c0 += ga.x * b;
    c1 += ga.y * b;
    c2 += ga.z * b;
    c3 += ga.w * b;
    c4 += gb.x * b;
    c5 += gb.y * b;
    c6 += gb.z * b;
    c7 += gb.w * b;
  }
  store(v0, d0, c0);
  store(v0 + 1u, d0, c1);
  store(v0 + 2u, d0, c2);
  store(v0 + 3u, d0, c3);
  if (v4 != v0) {
    store(v4, d0, c4);
    store(v4 + 1u, d0, c5);
    store(v4 + 2u, d0, c6);
    store(v4 + 3u, d0, c7);
  }
}
