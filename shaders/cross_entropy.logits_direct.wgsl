// Output layer, barrier-free variant for CPU adapters (SwiftShader, where emulated workgroup barriers
// cost far more than the tiling saves; the caches do the tiling):
//   logits[r, v0 + v] = Σ_k hidden[row0 + r, k] · W[v, k] for r < rows, v < vRows (x · Wᵀ),
// OVERWRITTEN. hidden: [T, D] f32; W: one row block, [vRows, D] as raw u32 words: f32 (DTYPE 0) or
// bf16 (1) / f16 (2) packed two per u32, holding rows v0 … v0 + vRows − 1 of the [V, D] output layer
// (a whole matrix is one block: v0 0, vRows V); logits: [rows, V] f32 (a chunk of tokens), this
// block's columns written.
// Threads: each invocation computes a 4×4 block (rows 4·gid.y…, columns v = 4·gid.x…) in four vec4
// accumulators, walking k = 0 … D−1 in order (deterministic); 8×8 workgroups, no workgroup memory.
// Loads past an edge are clamped to the last row / column and their results are not stored.

override DTYPE: u32 = 0u;

// #params Params

@group(0) @binding(0) var<storage, read> hidden: array<f32>;
@group(0) @binding(1) var<storage, read> W: array<u32>;
@group(0) @binding(2) var<storage, read_write> logits: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

// #include packed16

fn store(r: u32, v0: u32, c: vec4<f32>) {
  if (r >= p.rows) {
    return;
  }
  let o = r * p.V + p.v0 + v0;
  logits[o] = c.x;
  if (v0 + 1u < p.vRows) { logits[o + 1u] = c.y; }
  if (v0 + 2u < p.vRows) { logits[o + 2u] = c.z; }
  if (v0 + 3u < p.vRows) { logits[o + 3u] = c.w; }
}

@compute @workgroup_size(8, 8)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let r0 = gid.y * 4u;
  let v0 = gid.x * 4u;
  if (r0 >= p.rows || v0 >= p.vRows) {
    return;
  }
  let last = p.rows - 1u;
  let h0 = (p.row0 + r0) * p.D;
  let h1 = (p.row0 + min(r0 + 1u, last)) * p.D;
  let h2 = (p.row0 + min(r0 + 2u, last)) * p.D;
  let h3 = (p.row0 + min(r0 + 3u, last)) * p.D;
  let w0 = v0 * p.D;
  let w1 = min(v0 + 1u, p.vRows - 1u) * p.D;
  let w2 = min(v0 + 2u, p.vRows - 1u) * p.D;
  let w3 = min(v0 + 3u, p.vRows - 1u) * p.D;
  var c0 = vec4<f32>(0.0);
  var c1 = vec4<f32>(0.0);
  var c2 = vec4<f32>(0.0);
  var c3 = vec4<f32>(0.0);
  for (var k = 0u; k < p.D; k++) {
    let b = vec4<f32>(loadW(w0 + k), loadW(w1 + k), loadW(w2 + k), loadW(w3 + k));
    c0 += hidden[h0 + k] * b;
    c1 += hidden[h1 + k] * b;
    c2 += hidden[h2 + k] * b;
    c3 += hidden[h3 + k] * b;
  }
  store(r0, v0, c0);
  store(r0 + 1u, v0, c1);
  store(r0 + 2u, v0, c2);
  store(r0 + 3u, v0, c3);
}
