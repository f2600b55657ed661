// Attention backward, dq part, barrier-free variant for CPU adapters (the same result as
// attention.backward_dq_tiled.wgsl): dq_i = scale · Σ_j dS_ij k_j with
// P_ij = exp(scale·q_i·k_j − lse_i), dP_ij = dO_i·v_j, dS_ij = P_ij (dP_ij − D_i), D from
// attention.backward_prep. Shapes as attention.forward_tiled.wgsl; D [H, Tq].
// Threads: one invocation per (query row i, head h) (workgroups [ceil(Tq / ROWS), H]), with no
// workgroup memory and no barriers; q_i, dO_i and the dq accumulator sit in registers (HD4 vec4s
// each); keys and values come straight from global memory as vec4s (hd % 4 == 0, hd <= 64), 4 keys
// per step, over exactly the keys row i sees (the forward's ranges; with SKIP = false every key,
// masked). dq is OVERWRITTEN (=), or ACCUMULATED (+=) with p.acc (key blocks after the first), summed over keys in a fixed order (deterministic).

override ROWS: u32 = 64u;
// Head size / 4, 1..16 (head size up to 64). The head's row lives in HD4 named vec4 registers per
// operand; SwiftShader keeps private arrays in memory, so the unrolled, HD4-guarded lines below
// (which fold away: HD4 is an override) are several times faster than a loop over an array.
override HD4: u32 = 2u;
// false: visit every key and mask with visible() (the naive comparison mode). An override, not a
// uniform: SwiftShader runs both sides of a branch it cannot prove uniform, so a runtime flag costs
// the mask's integer divisions on every key even when it is off.
override SKIP: bool = true;

@group(0) @binding(0) var<storage, read> q: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> k: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> v: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> dO: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> lse: array<f32>;
@group(0) @binding(5) var<storage, read> D: array<f32>;
@group(0) @binding(6) var<storage, read_write> dq: array<vec4<f32>>;
@group(0) @binding(7) var<uniform> p: Params;

// #include attention.pattern

@compute @workgroup_size(ROWS)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
  let h = wg.y;
  let i = wg.x * ROWS + lane;
  if (i >= p.Tq) { return; }
  let kvh = h / (p.H / p.KV);
  let row = (i * p.H + h) * HD4;
  // q_i · scale in q0.., dO_i in g0.., the dq sum in a0..
  var q0 = vec4<f32>(0.0); var g0 = vec4<f32>(0.0); var a0 = vec4<f32>(0.0);
  var q1 = vec4<f32>(0.0); var g1 = vec4<f32>(0.0); var a1 = vec4<f32>(0.0);
  var q2 = vec4<f32>(0.0); var g2 = vec4<f32>(0.0); var a2 = vec4<f32>(0.0);
  var q3 = vec4<f32>(0.0); var g3 = vec4<f32>(0.0); var a3 = vec4<f32>(0.0);
  var q4 = vec4<f32>(0.0); var g4 = vec4<f32>(0.0); var a4 = vec4<f32>(0.0);
  var q5 = vec4<f32>(0.0); var g5 = vec4<f32>(0.0); var a5 = vec4<f32>(0.0);
  var q6 = vec4<f32>(0.0); var g6 = vec4<f32>(0.0); var a6 = vec4<f32>(0.0);
  var q7 = vec4<f32>(0.0); var g7 = vec4<f32>(0.0); var a7 = vec4<f32>(0.0);
  var q8 = vec4<f32>(0.0); var g8 = vec4<f32>(0.0); var a8 = vec4<f32>(0.0);
  var q9 = vec4<f32>(0.0); var g9 = vec4<f32>(0.0); var a9 = vec4<f32>(0.0);
  var q10 = vec4<f32>(0.0); var g10 = vec4<f32>(0.0); var a10 = vec4<f32>(0.0);
  var q11 = vec4<f32>(0.0); var g11 = vec4<f32>(0.0); var a11 = vec4<f32>(0.0);
  var q12 = vec4<f32>(0.0); var g12 = vec4<f32>(0.0); var a12 = vec4<f32>(0.0);
  var q13 = vec4<f32>(0.0); var g13 = vec4<f32>(0.0); var a13 = vec4<f32>(0.0);
  var q14 = vec4<f32>(0.0); var g14 = vec4<f32>(0.0); var a14 = vec4<f32>(0.0);
  var q15 = vec4<f32>(0.0); var g15 = vec4<f32>(0.0); var a15 = vec4<f32>(0.0);
  {
    q0 = q[row + 0u] * p.scale; g0 = dO[row + 0u];
    if (HD4 > 1u) { q1 = q[row + 1u] * p.scale; g1 = dO[row + 1u]; }
    if (HD4 > 2u) { q2 = q[row + 2u] * p.scale; g2 = dO[row + 2u]; }
    if (HD4 > 3u) { q3 = q[row + 3u] * p.scale; g3 = dO[row + 3u]; }
    if (HD4 > 4u) { q4 = q[row + 4u] * p.scale; g4 = dO[row + 4u]; }
    if (HD4 > 5u) { q5 = q[row + 5u] * p.scale; g5 = dO[row + 5u]; }
    if (HD4 > 6u) { q6 = q[row + 6u] * p.scale; g6 = dO[row + 6u]; }
    if (HD4 > 7u) { q7 = q[row + 7u] * p.scale; g7 = dO[row + 7u]; }
    if (HD4 > 8u) { q8 = q[row + 8u] * p.scale; g8 = dO[row + 8u]; }
    if (HD4 > 9u) { q9 = q[row + 9u] * p.scale; g9 = dO[row + 9u]; }
    if (HD4 > 10u) { q10 = q[row + 10u] * p.scale; g10 = dO[row + 10u]; }
    if (HD4 > 11u) { q11 = q[row + 11u] * p.scale; g11 = dO[row + 11u]; }
    if (HD4 > 12u) { q12 = q[row + 12u] * p.scale; g12 = dO[row + 12u]; }
    if (HD4 > 13u) { q13 = q[row + 13u] * p.scale; g13 = dO[row + 13u]; }
    if (HD4 > 14u) { q14 = q[row + 14u] * p.scale; g14 = dO[row + 14u]; }
    if (HD4 > 15u) { q15 = q[row + 15u] * p.scale; g15 = dO[row + 15u]; }
  }
  let rowLse = lse[rowStat(h, i)];
  let rowD = D[rowStat(h, i)];
  // The forward's keys: [lo, hi) plus, for s2roll's first tokens, the tail [lo2, Tk).
  var r = vec3<u32>(0u, p.Tk, p.Tk);
  if (SKIP) { r = keyRuns(i, i, h); }
  let lo = r.x;
  let hi = r.y;
  let lo2 = r.z;
  let n1 = hi - lo;
  let total = n1 + (p.Tk - lo2);
  for (var t = 0u; t < total; t += 4u) {
    let slot = vec4<u32>(t, t + 1u, t + 2u, t + 3u);
    let sl = min(slot, vec4<u32>(total - 1u));
    let j = select(vec4<u32>(lo) + sl, vec4<u32>(lo2 - n1) + sl, sl >= vec4<u32>(n1));
    var live = slot < vec4<u32>(total);
    if (!SKIP) {
      live = live & vec4<bool>(visible(i, j.x, h), visible(i, j.y, h), visible(i, j.z, h), visible(i, j.w, h));
    }
    let b = (j * p.KV + kvh) * HD4;
    var s = vec4<f32>(0.0);
    var dp = vec4<f32>(0.0);
    s += vec4<f32>(dot(q0, k[b.x + 0u]), dot(q0, k[b.y + 0u]), dot(q0, k[b.z + 0u]), dot(q0, k[b.w + 0u]));
    if (HD4 > 1u) { s += vec4<f32>(dot(q1, k[b.x + 1u]), dot(q1, k[b.y + 1u]), dot(q1, k[b.z + 1u]), dot(q1, k[b.w + 1u])); }
    if (HD4 > 2u) { s += vec4<f32>(dot(q2, k[b.x + 2u]), dot(q2, k[b.y + 2u]), dot(q2, k[b.z + 2u]), dot(q2, k[b.w + 2u])); }
    if (HD4 > 3u) { s += vec4<f32>(dot(q3, k[b.x + 3u]), dot(q3, k[b.y + 3u]), dot(q3, k[b.z + 3u]), dot(q3, k[b.w + 3u])); }
    if (HD4 > 4u) { s += vec4<f32>(dot(q4, k[b.x + 4u]), dot(q4, k[b.y + 4u]), dot(q4, k[b.z + 4u]), dot(q4, k[b.w + 4u])); }
    if (HD4 > 5u) { s += vec4<f32>(dot(q5, k[b.x + 5u]), dot(q5, k[b.y + 5u]), dot(q5, k[b.z + 5u]), dot(q5, k[b.w + 5u])); }
    if (HD4 > 6u) { s += vec4<f32>(dot(q6, k[b.x + 6u]), dot(q6, k[b.y + 6u]), dot(q6, k[b.z + 6u]), dot(q6, k[b.w + 6u])); }
    if (HD4 > 7u) { s += vec4<f32>(dot(q7, k[b.x + 7u]), dot(q7, k[b.y + 7u]), dot(q7, k[b.z + 7u]), dot(q7, k[b.w + 7u])); }
    if (HD4 > 8u) { s += vec4<f32>(dot(q8, k[b.x + 8u]), dot(q8, k[b.y + 8u]), dot(q8, k[b.z + 8u]), dot(q8, k[b.w + 8u])); }
    if (HD4 > 9u) { s += vec4<f32>(dot(q9, k[b.x + 9u]), dot(q9, k[b.y + 9u]), dot(q9, k[b.z + 9u]), dot(q9, k[b.w + 9u])); }
    if (HD4 > 10u) { s += vec4<f32>(dot(q10, k[b.x + 10u]), dot(q10, k[b.y + 10u]), dot(q10, k[b.z + 10u]), dot(q10, k[b.w + 10u])); }
    if (HD4 > 11u) { s += vec4<f32>(dot(q11, k[b.x + 11u]), dot(q11, k[b.y + 11u]), dot(q11, k[b.z + 11u]), dot(q11, k[b.w + 11u])); }
    if (HD4 > 12u) { s += vec4<f32>(dot(q12, k[b.x + 12u]), dot(q12, k[b.y + 12u]), dot(q12, k[b.z + 12u]), dot(q12, k[b.w + 12u])); }
    if (HD4 > 13u) { s += vec4<f32>(dot(q13, k[b.x + 13u]), dot(q13, k[b.y + 13u]), dot(q13, k[b.z + 13u]), dot(q13, k[b.w + 13u])); }
    if (HD4 > 14u) { s += vec4<f32>(dot(q14, k[b.x + 14u]), dot(q14, k[b.y + 14u]), dot(q14, k[b.z + 14u]), dot(q14, k[b.w + 14u])); }
    if (HD4 > 15u) { s += vec4<f32>(dot(q15, k[b.x + 15u]), dot(q15, k[b.y + 15u]), dot(q15, k[b.z + 15u]), dot(q15, k[b.w + 15u])); }
    dp += vec4<f32>(dot(g0, v[b.x + 0u]), dot(g0, v[b.y + 0u]), dot(g0, v[b.z + 0u]), dot(g0, v[b.w + 0u]));
    if (HD4 > 1u) { dp += vec4<f32>(dot(g1, v[b.x + 1u]), dot(g1, v[b.y + 1u]), dot(g1, v[b.z + 1u]), dot(g1, v[b.w + 1u])); }
    if (HD4 > 2u) { dp += vec4<f32>(dot(g2, v[b.x + 2u]), dot(g2, v[b.y + 2u]), dot(g2, v[b.z + 2u]), dot(g2, v[b.w + 2u])); }
    if (HD4 > 3u) { dp += vec4<f32>(dot(g3, v[b.x + 3u]), dot(g3, v[b.y + 3u]), dot(g3, v[b.z + 3u]), dot(g3, v[b.w + 3u])); }
    if (HD4 > 4u) { dp += vec4<f32>(dot(g4, v[b.x + 4u]), dot(g4, v[b.y + 4u]), dot(g4, v[b.z + 4u]), dot(g4, v[b.w + 4u])); }
    if (HD4 > 5u) { dp += vec4<f32>(dot(g5, v[b.x + 5u]), dot(g5, v[b.y + 5u]), dot(g5, v[b.z + 5u]), dot(g5, v[b.w + 5u])); }
    if (HD4 > 6u) { dp += vec4<f32>(dot(g6, v[b.x + 6u]), dot(g6, v[b.y + 6u]), dot(g6, v[b.z + 6u]), dot(g6, v[b.w + 6u])); }
    if (HD4 > 7u) { dp += vec4<f32>(dot(g7, v[b.x + 7u]), dot(g7, v[b.y + 7u]), dot(g7, v[b.z + 7u]), dot(g7, v[b.w + 7u])); }
    if (HD4 > 8u) { dp += vec4<f32>(dot(g8, v[b.x + 8u]), dot(g8, v[b.y + 8u]), dot(g8, v[b.z + 8u]), dot(g8, v[b.w + 8u])); }
    if (HD4 > 9u) { dp += vec4<f32>(dot(g9, v[b.x + 9u]), dot(g9, v[b.y + 9u]), dot(g9, v[b.z + 9u]), dot(g9, v[b.w + 9u])); }
    if (HD4 > 10u) { dp += vec4<f32>(dot(g10, v[b.x + 10u]), dot(g10, v[b.y + 10u]), dot(g10, v[b.z + 10u]), dot(g10, v[b.w + 10u])); }
    if (HD4 > 11u) { dp += vec4<f32>(dot(g11, v[b.x + 11u]), dot(g11, v[b.y + 11u]), dot(g11, v[b.z + 11u]), dot(g11, v[b.w + 11u])); }
    if (HD4 > 12u) { dp += vec4<f32>(dot(g12, v[b.x + 12u]), dot(g12, v[b.y + 12u]), dot(g12, v[b.z + 12u]), dot(g12, v[b.w + 12u])); }
    if (HD4 > 13u) { dp += vec4<f32>(dot(g13, v[b.x + 13u]), dot(g13, v[b.y + 13u]), dot(g13, v[b.z + 13u]), dot(g13, v[b.w + 13u])); }
    if (HD4 > 14u) { dp += vec4<f32>(dot(g14, v[b.x + 14u]), dot(g14, v[b.y + 14u]), dot(g14, v[b.z + 14u]), dot(g14, v[b.w + 14u])); }
    if (HD4 > 15u) { dp += vec4<f32>(dot(g15, v[b.x + 15u]), dot(g15, v[b.y + 15u]), dot(g15, v[b.z + 15u]), dot(g15, v[b.w + 15u])); }
    // Keys are added in ascending order; a dead slot adds exactly zero.
    let ds = select(vec4<f32>(0.0), exp(s - vec4<f32>(rowLse)) * (dp - vec4<f32>(rowD)), live);
    a0 += ds.x * k[b.x + 0u] + ds.y * k[b.y + 0u] + ds.z * k[b.z + 0u] + ds.w * k[b.w + 0u];
    if (HD4 > 1u) { a1 += ds.x * k[b.x + 1u] + ds.y * k[b.y + 1u] + ds.z * k[b.z + 1u] + ds.w * k[b.w + 1u]; }
    if (HD4 > 2u) { a2 += ds.x * k[b.x + 2u] + ds.y * k[b.y + 2u] + ds.z * k[b.z + 2u] + ds.w * k[b.w + 2u]; }
    if (HD4 > 3u) { a3 += ds.x * k[b.x + 3u] + ds.y * k[b.y + 3u] + ds.z * k[b.z + 3u] + ds.w * k[b.w + 3u]; }
    if (HD4 > 4u) { a4 += ds.x * k[b.x + 4u] + ds.y * k[b.y + 4u] + ds.z * k[b.z + 4u] + ds.w * k[b.w + 4u]; }
    if (HD4 > 5u) { a5 += ds.x * k[b.x + 5u] + ds.y * k[b.y + 5u] + ds.z * k[b.z + 5u] + ds.w * k[b.w + 5u]; }
    if (HD4 > 6u) { a6 += ds.x * k[b.x + 6u] + ds.y * k[b.y + 6u] + ds.z * k[b.z + 6u] + ds.w * k[b.w + 6u]; }
    if (HD4 > 7u) { a7 += ds.x * k[b.x + 7u] + ds.y * k[b.y + 7u] + ds.z * k[b.z + 7u] + ds.w * k[b.w + 7u]; }
    if (HD4 > 8u) { a8 += ds.x * k[b.x + 8u] + ds.y * k[b.y + 8u] + ds.z * k[b.z + 8u] + ds.w * k[b.w + 8u]; }
    if (HD4 > 9u) { a9 += ds.x * k[b.x + 9u] + ds.y * k[b.y + 9u] + ds.z * k[b.z + 9u] + ds.w * k[b.w + 9u]; }
    if (HD4 > 10u) { a10 += ds.x * k[b.x + 10u] + ds.y * k[b.y + 10u] + ds.z * k[b.z + 10u] + ds.w * k[b.w + 10u]; }
    if (HD4 > 11u) { a11 += ds.x * k[b.x + 11u] + ds.y * k[b.y + 11u] + ds.z * k[b.z + 11u] + ds.w * k[b.w + 11u]; }
    if (HD4 > 12u) { a12 += ds.x * k[b.x + 12u] + ds.y * k[b.y + 12u] + ds.z * k[b.z + 12u] + ds.w * k[b.w + 12u]; }
    if (HD4 > 13u) { a13 += ds.x * k[b.x + 13u] + ds.y * k[b.y + 13u] + ds.z * k[b.z + 13u] + ds.w * k[b.w + 13u]; }
    if (HD4 > 14u) { a14 += ds.x * k[b.x + 14u] + ds.y * k[b.y + 14u] + ds.z * k[b.z + 14u] + ds.w * k[b.w + 14u]; }
    if (HD4 > 15u) { a15 += ds.x * k[b.x + 15u] + ds.y * k[b.y + 15u] + ds.z * k[b.z + 15u] + ds.w * k[b.w + 15u]; }
  }
  dq[row + 0u] = prior4(dq[row + 0u]) + a0 * p.scale;
  if (HD4 > 1u) { dq[row + 1u] = prior4(dq[row + 1u]) + a1 * p.scale; }
  if (HD4 > 2u) { dq[row + 2u] = prior4(dq[row + 2u]) + a2 * p.scale; }
  if (HD4 > 3u) { dq[row + 3u] = prior4(dq[row + 3u]) + a3 * p.scale; }
  if (HD4 > 4u) { dq[row + 4u] = prior4(dq[row + 4u]) + a4 * p.scale; }
  if (HD4 > 5u) { dq[row + 5u] = prior4(dq[row + 5u]) + a5 * p.scale; }
  if (HD4 > 6u) { dq[row + 6u] = prior4(dq[row + 6u]) + a6 * p.scale; }
  if (HD4 > 7u) { dq[row + 7u] = prior4(dq[row + 7u]) + a7 * p.scale; }
  if (HD4 > 8u) { dq[row + 8u] = prior4(dq[row + 8u]) + a8 * p.scale; }
  if (HD4 > 9u) { dq[row + 9u] = prior4(dq[row + 9u]) + a9 * p.scale; }
  if (HD4 > 10u) { dq[row + 10u] = prior4(dq[row + 10u]) + a10 * p.scale; }
  if (HD4 > 11u) { dq[row + 11u] = prior4(dq[row + 11u]) + a11 * p.scale; }
  if (HD4 > 12u) { dq[row + 12u] = prior4(dq[row + 12u]) + a12 * p.scale; }
  if (HD4 > 13u) { dq[row + 13u] = prior4(dq[row + 13u]) + a13 * p.scale; }
  if (HD4 > 14u) { dq[row + 14u] = prior4(dq[row + 14u]) + a14 * p.scale; }
  if (HD4 > 15u) { dq[row + 15u] = prior4(dq[row + 15u]) + a15 * p.scale; }
}
