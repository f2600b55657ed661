// Output-layer backward, weight gradient, barrier-free variant for CPU adapters (SwiftShader):
//   dW[v, d] += Σ_r G[r, v0 + v] · hidden[row0 + r, d] for v < vRows, d < D,
// summing the chunk's rows r = 0 … rows−1 in order (deterministic: each dW element is owned by one
// invocation; chunks are added one after another). dW: one row block [vRows, D] f32 (rows v0 … of
// the [V, D] gradient; a whole one has v0 0, vRows V), ACCUMULATES (+=). G = dlogits [rows, V] f32.
// Threads: each invocation computes a 4×4 block (v = 4·gid.y…, d = 4·gid.x…) in four vec4
// accumulators from one vec4 of G and one of hidden per row; 8×8 workgroups, no workgroup memory.
// Loads past an edge are clamped to the last column and their results are not stored.

// #params Params

@group(0) @binding(0) var<storage, read> G: array<f32>;
@group(0) @binding(1) var<storage, read> hidden: array<f32>;
@group(0) @binding(2) var<storage, read_write> dW: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

fn store(v: u32, d0: u32, c: vec4<f32>) {
  if (v >= p.vRows) {
    return;
  }
  let o = v * p.D + d0;
  dW[o] += c.x;
  if (d0 + 1u < p.D) { dW[o + 1u] += c.y; }
  if (d0 + 2u < p.D) { dW[o + 2u] += c.z; }
  if (d0 + 3u < p.D) { dW[o + 3u] += c.w; }
}

@compute @workgroup_size(8, 8)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let v0 = gid.y * 4u;
  let d0 = gid.x * 4u;
  if (v0 >= p.vRows || d0 >= p.D) {
    return;
  }
  let v1 = min(v0 + 1u, p.vRows - 1u);
  let v2 = min(v0 + 2u, p.vRows - 1u);
  let v3 = min(v0 + 3u, p.vRows - 1u);
  let d1 = min(d0 + 1u, p.D - 1u);
  let d2 = min(d0 + 2u, p.D - 1u);
  let d3 = min(d0 + 3u, p.D - 1u);
  var c0 = vec4<f32>(0.0);
  var c1 = vec4<f32>(0.0);
  var c2 = vec4<f32>(0.0);
  var c3 = vec4<f32>(0.0);
  for (var r = 0u; r < p.rows; r++) {
    let g = r * p.V + p.v0;
    let h = (p.row0 + r) * p.D;
    let b = vec4<f32>(hidden[h + d0], hidden[h + d1], hidden[h + d2], hidden[h + d3]);
    c0 += G[g + v0] * b;
    c1 += G[g + v1] * b;
    c2 += G[g + v2] * b;
    c3 += G[g + v3] * b;
  }
  store(v0, d0, c0);
  store(v0 + 1u, d0, c1);
  store(v0 + 2u, d0, c2);
  store(v0 + 3u, d0, c3);
}
