// Output-layer backward, input gradient, barrier-free variant for CPU adapters (SwiftShader):
//   dHidden[row0 + r, d] (= or +=) Σ_{v < vRows} G[r, v0 + v] · W[v, d] for r < rows, d < D,
// G = dlogits [rows, V] f32, W = one row block [vRows, D] (rows v0 … of the [V, D] output layer) as
// raw u32 words (f32 DTYPE 0, bf16 1, f16 2 packed two per u32). dHidden [T, D] rows of this chunk
// are OVERWRITTEN (=) when p.accumulate is 0 (the first block) and ACCUMULATE (+=) otherwise: the
// accumulators start from the stored values and continue in the same v order, so a split matrix
// gives the same bits as a whole one.
// Threads: each invocation computes a 4×4 block (rows 4·gid.y…, columns d = 4·gid.x…) in four vec4
// accumulators, walking v = 0 … vRows−1 in order (deterministic); 8×8 workgroups, no workgroup memory.
// Loads past an edge are clamped to the last row / column and their results are not stored.

override DTYPE: u32 = 0u;

// #params Params

@group(0) @binding(0) var<storage, read> G: array<f32>;
@group(0) @binding(1) var<storage, read> W: array<u32>;
@group(0) @binding(2) var<storage, read_write> dHidden: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

// #include packed16

fn store(r: u32, d0: u32, c: vec4<f32>) {
  if (r >= p.rows) {
    return;
  }
  let o = (p.row0 + r) * p.D + d0;
  dHidden[o] = c.x;
  if (d0 + 1u < p.D) { dHidden[o + 1u] = c.y; }
  if (d0 + 2u < p.D) { dHidden[o + 2u] = c.z; }
  if (d0 + 3u < p.D) { dHidden[o + 3u] = c.w; }
}

fn prior(r: u32, d0: u32, d1: u32, d2: u32, d3: u32) -> vec4<f32> {
  let o = (p.row0 + r) * p.D;
  return vec4<f32>(dHidden[o + d0], dHidden[o + d1], dHidden[o + d2], dHidden[o + d3]);
}

@compute @workgroup_size(8, 8)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let r0 = gid.y * 4u;
  let d0 = gid.x * 4u;
  if (r0 >= p.rows || d0 >= p.D) {
    return;
  }
  let last = p.rows - 1u;
  let g0 = r0 * p.V + p.v0;
  let g1 = min(r0 + 1u, last) * p.V + p.v0;
  let g2 = min(r0 + 2u, last) * p.V + p.v0;
  let g3 = min(r0 + 3u, last) * p.V + p.v0;
  let d1 = min(d0 + 1u, p.D - 1u);
  let d2 = min(d0 + 2u, p.D - 1u);
  let d3 = min(d0 + 3u, p.D - 1u);
  var c0 = vec4<f32>(0.0);
  var c1 = vec4<f32>(0.0);
  var c2 = vec4<f32>(0.0);
  var c3 = vec4<f32>(0.0);
  if (p.accumulate == 1u) {
    c0 = prior(r0, d0, d1, d2, d3);
    c1 = prior(min(r0 + 1u, last), d0, d1, d2, d3);
    c2 = prior(min(r0 + 2u, last), d0, d1, d2, d3);
    c3 = prior(min(r0 + 3u, last), d0, d1, d2, d3);
  }
  for (var v = 0u; v < p.vRows; v++) {
    let wr = v * p.D;
    let b = vec4<f32>(loadW(wr + d0), loadW(wr + d1), loadW(wr + d2), loadW(wr + d3));
    c0 += G[g0 + v] * b;
    c1 += G[g1 + v] * b;
    c2 += G[g2 + v] * b;
    c3 += G[g3 + v] * b;
  }
  store(r0, d0, c0);
  store(r0 + 1u, d0, c1);
  store(r0 + 2u, d0, c2);
  store(r0 + 3u, d0, c3);
}
