// LoRA parameter gradient as a sum over tokens (backward; the output ACCUMULATES):
//   C[M, N] += alpha · Σ_t P[t, M] · Q[t, N]      (P[T, M], Q[T, N], C[M, N]; all f32 row-major)
// Used twice per adapted layer: dB[out, r] += s · dyᵀ · xa (P = dy, Q = xa) and
// dA[r, in] += gᵀ · x (P = g, Q = x, alpha = 1). Accumulating lets gradients sum over micro-steps.
// Threads: one 16×16 workgroup owns a 16×16 tile of C, one output per lane. Tokens are walked in
// tiles of 16: lanes load a 16×16 slice of P and of Q into workgroup memory (consecutive lanes read
// consecutive addresses), then each lane adds its 16 products. Every output is summed by one lane
// in increasing t, so the result is deterministic (no atomics, no order that depends on
// scheduling).

// #params Params

@group(0) @binding(0) var<storage, read> P: array<f32>;
@group(0) @binding(1) var<storage, read> Q: array<f32>;
@group(0) @binding(2) var<storage, read_write> C: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

const TT: u32 = 16u;
var<workgroup> Ps: array<array<f32, 16>, 16>; // [t][m]
var<workgroup> Qs: array<array<f32, 16>, 16>; // [t][n]

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let m0 = wg.y * TT;
  let n0 = wg.x * TT;
  var acc = 0.0;
  for (var t0 = 0u; t0 < p.T; t0 += TT) {
    let t = t0 + lid.y;
    let m = m0 + lid.x;
    let n = n0 + lid.x;
    Ps[lid.y][lid.x] = select(0.0, P[t * p.M + m], t < p.T && m < p.M);
    Qs[lid.y][lid.x] = select(0.0, Q[t * p.N + n], t < p.T && n < p.N);
    workgroupBarrier();
    for (var i = 0u; i < TT; i++) {
      acc += Ps[i][lid.y] * Qs[i][lid.x];
    }
    workgroupBarrier();
  }
  let row = m0 + lid.y;
  let col = n0 + lid.x;
  if (row < p.M && col < p.N) {
    C[row * p.N + col] += p.alpha * acc;
  }
}
