// LoRA parameter gradient as a sum over tokens, barrier-free variant for CPU adapters (SwiftShader,
// where emulated workgroup barriers dominate). The output ACCUMULATES:
//   C[M, N] += alpha · Σ_t P[t, M] · Q[t, N]      (P[T, M], Q[T, N], C[M, N]; all f32 row-major)
// Threads: each invocation computes a 4×4 block of C (m = 4·gid.y…, n = 4·gid.x…) in four vec4
// accumulators, one vec4 of P and one of Q per token, walking t = 0 … T−1 in order (deterministic:
// every output is summed by one invocation, no atomics); 8×8 workgroups, no workgroup memory.
// Loads past an edge are clamped to the last column and their results are not stored.

// #params Params

@group(0) @binding(0) var<storage, read> P: array<f32>;
@group(0) @binding(1) var<storage, read> Q: array<f32>;
@group(0) @binding(2) var<storage, read_write> C: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

fn store(m: u32, n0: u32, c: vec4<f32>) {
  if (m >= p.M) {
    return;
  }
  let o = m * p.N + n0;
  C[o] += p.alpha * c.x;
  if (n0 + 1u < p.N) { C[o + 1u] += p.alpha * c.y; }
  if (n0 + 2u < p.N) { C[o + 2u] += p.alpha * c.z; }
  if (n0 + 3u < p.N) { C[o + 3u] += p.alpha * c.w; }
}

@compute @workgroup_size(8, 8)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let m0 = gid.y * 4u;
  let n0 = gid.x * 4u;
  if (m0 >= p.M || n0 >= p.N) {
    return;
  }
  let m1 = min(m0 + 1u, p.M - 1u);
  let m2 = min(m0 + 2u, p.M - 1u);
  let m3 = min(m0 + 3u, p.M - 1u);
  let n1 = min(n0 + 1u, p.N - 1u);
  let n2 = min(n0 + 2u, p.N - 1u);
  let n3 = min(n0 + 3u, p.N - 1u);
  var c0 = vec4<f32>(0.0);
  var c1 = vec4<f32>(0.0);
  var c2 = vec4<f32>(0.0);
  var c3 = vec4<f32>(0.0);
  for (var t = 0u; t < p.T; t++) {
    let a = t * p.M;
    let q = t * p.N;
    let b = vec4<f32>(Q[q + n0], Q[q + n1], Q[q + n2], Q[q + n3]);
    c0 += P[a + m0] * b;
    c1 += P[a + m1] * b;
    c2 += P[a + m2] * b;
    c3 += P[a + m3] * b;
  }
  store(m0, n0, c0);
  store(m0 + 1u, n0, c1);
  store(m0 + 2u, n0, c2);
  store(m0 + 3u, n0, c3);
}
