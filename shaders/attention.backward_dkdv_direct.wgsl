// Attention backward, dk/dv part, barrier-free variant for CPU adapters (the same result as
// attention.backward_dkdv_tiled.wgsl): for key j of kv head c, summed over the query heads h that
// share c (h = c·R .. c·R + R − 1, R = H / KV) and the queries i that see j:
//   dv_j = Σ P_ij dO_i,   dk_j = scale · Σ dS_ij q_i,
// with P_ij = exp(scale·q_i·k_j − lse_i), dS_ij = P_ij (dO_i·v_j − D_i), D from attention.backward_prep.
// Threads: one invocation per (key row j, kv head c) (workgroups [ceil(Tk / ROWS), KV]), with no
// workgroup memory and no barriers; k_j, v_j and both accumulators sit in registers (HD4 vec4s each);
// q and dO rows come straight from global memory as vec4s (hd % 4 == 0, hd <= 64), 4 queries per
// step. For each head it visits exactly the queries that see key j: the run
// [firstQuery(j), queryEnd(j, h)) plus, for s2roll's shifted heads and tail keys j ≥ Tk − G/2, the
// wrapped head [0, G/2) (with SKIP = false every query, masked). dk and dv are OVERWRITTEN (=), or ACCUMULATED (+=) with p.acc (query blocks after the first); the
// sums run over heads, then queries, in ascending order with no atomics (deterministic).

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
@group(0) @binding(6) var<storage, read_write> dk: array<vec4<f32>>;
@group(0) @binding(7) var<storage, read_write> dv: array<vec4<f32>>;
@group(0) @binding(8) var<uniform> p: Params;

// #include attention.pattern

@compute @workgroup_size(ROWS)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
  let c = wg.y;
  let R = p.H / p.KV;
  let j = wg.x * ROWS + lane;
  if (j >= p.Tk) { return; }
  let row = (j * p.KV + c) * HD4;
  // k_j · scale in k0.., v_j in v0.., the dk sum in e0.., the dv sum in f0..
  var k0 = vec4<f32>(0.0); var v0 = vec4<f32>(0.0); var e0 = vec4<f32>(0.0); var f0 = vec4<f32>(0.0);
  var k1 = vec4<f32>(0.0); var v1 = vec4<f32>(0.0); var e1 = vec4<f32>(0.0); var f1 = vec4<f32>(0.0);
  var k2 = vec4<f32>(0.0); var v2 = vec4<f32>(0.0); var e2 = vec4<f32>(0.0); var f2 = vec4<f32>(0.0);
  var k3 = vec4<f32>(0.0); var v3 = vec4<f32>(0.0); var e3 = vec4<f32>(0.0); var f3 = vec4<f32>(0.0);
  var k4 = vec4<f32>(0.0); var v4 = vec4<f32>(0.0); var e4 = vec4<f32>(0.0); var f4 = vec4<f32>(0.0);
  var k5 = vec4<f32>(0.0); var v5 = vec4<f32>(0.0); var e5 = vec4<f32>(0.0); var f5 = vec4<f32>(0.0);
  var k6 = vec4<f32>(0.0); var v6 = vec4<f32>(0.0); var e6 = vec4<f32>(0.0); var f6 = vec4<f32>(0.0);
  var k7 = vec4<f32>(0.0); var v7 = vec4<f32>(0.0); var e7 = vec4<f32>(0.0); var f7 = vec4<f32>(0.0);
  var k8 = vec4<f32>(0.0); var v8 = vec4<f32>(0.0); var e8 = vec4<f32>(0.0); var f8 = vec4<f32>(0.0);
  var k9 = vec4<f32>(0.0); var v9 = vec4<f32>(0.0); var e9 = vec4<f32>(0.0); var f9 = vec4<f32>(0.0);
  var k10 = vec4<f32>(0.0); var v10 = vec4<f32>(0.0); var e10 = vec4<f32>(0.0); var f10 = vec4<f32>(0.0);
  var k11 = vec4<f32>(0.0); var v11 = vec4<f32>(0.0); var e11 = vec4<f32>(0.0); var f11 = vec4<f32>(0.0);
  var k12 = vec4<f32>(0.0); var v12 = vec4<f32>(0.0); var e12 = vec4<f32>(0.0); var f12 = vec4<f32>(0.0);
  var k13 = vec4<f32>(0.0); var v13 = vec4<f32>(0.0); var e13 = vec4<f32>(0.0); var f13 = vec4<f32>(0.0);
  var k14 = vec4<f32>(0.0); var v14 = vec4<f32>(0.0); var e14 = vec4<f32>(0.0); var f14 = vec4<f32>(0.0);
  var k15 = vec4<f32>(0.0); var v15 = vec4<f32>(0.0); var e15 = vec4<f32>(0.0); var f15 = vec4<f32>(0.0);
  {
    k0 = k[row + 0u] * p.scale; v0 = v[row + 0u];
    if (HD4 > 1u) { k1 = k[row + 1u] * p.scale; v1 = v[row + 1u]; }
    if (HD4 > 2u) { k2 = k[row + 2u] * p.scale; v2 = v[row + 2u]; }
    if (HD4 > 3u) { k3 = k[row + 3u] * p.scale; v3 = v[row + 3u]; }
    if (HD4 > 4u) { k4 = k[row + 4u] * p.scale; v4 = v[row + 4u]; }
    if (HD4 > 5u) { k5 = k[row + 5u] * p.scale; v5 = v[row + 5u]; }
    if (HD4 > 6u) { k6 = k[row + 6u] * p.scale; v6 = v[row + 6u]; }
    if (HD4 > 7u) { k7 = k[row + 7u] * p.scale; v7 = v[row + 7u]; }
    if (HD4 > 8u) { k8 = k[row + 8u] * p.scale; v8 = v[row + 8u]; }
    if (HD4 > 9u) { k9 = k[row + 9u] * p.scale; v9 = v[row + 9u]; }
    if (HD4 > 10u) { k10 = k[row + 10u] * p.scale; v10 = v[row + 10u]; }
    if (HD4 > 11u) { k11 = k[row + 11u] * p.scale; v11 = v[row + 11u]; }
    if (HD4 > 12u) { k12 = k[row + 12u] * p.scale; v12 = v[row + 12u]; }
    if (HD4 > 13u) { k13 = k[row + 13u] * p.scale; v13 = v[row + 13u]; }
    if (HD4 > 14u) { k14 = k[row + 14u] * p.scale; v14 = v[row + 14u]; }
    if (HD4 > 15u) { k15 = k[row + 15u] * p.scale; v15 = v[row + 15u]; }
  }
  for (var h = c * R; h < c * R + R; h++) {
    // Queries that see key j: [lo, hi) plus, for s2roll's tail keys, the head [0, hi2).
    var r = vec3<u32>(0u, p.Tq, 0u);
    if (SKIP) { r = queryRuns(j, j, h); }
    let lo = r.x;
    let hi = r.y;
    let hi2 = r.z;
    let n1 = select(0u, hi - lo, hi > lo);
    let total = n1 + hi2;
    let lrow = rowStat(h, 0u);
    for (var t = 0u; t < total; t += 4u) {
      let slot = vec4<u32>(t, t + 1u, t + 2u, t + 3u);
      let sl = min(slot, vec4<u32>(total - 1u));
      let i = select(vec4<u32>(lo) + sl, sl - vec4<u32>(n1), sl >= vec4<u32>(n1));
      var live = slot < vec4<u32>(total);
      if (!SKIP) {
        live = live & vec4<bool>(visible(i.x, j, h), visible(i.y, j, h), visible(i.z, j, h), visible(i.w, j, h));
      }
      let b = (i * p.H + h) * HD4;
      var s = vec4<f32>(0.0);
      var dp = vec4<f32>(0.0);
      s += vec4<f32>(dot(q[b.x + 0u], k0), dot(q[b.y + 0u], k0), dot(q[b.z + 0u], k0), dot(q[b.w + 0u], k0));
      if (HD4 > 1u) { s += vec4<f32>(dot(q[b.x + 1u], k1), dot(q[b.y + 1u], k1), dot(q[b.z + 1u], k1), dot(q[b.w + 1u], k1)); }
      if (HD4 > 2u) { s += vec4<f32>(dot(q[b.x + 2u], k2), dot(q[b.y + 2u], k2), dot(q[b.z + 2u], k2), dot(q[b.w + 2u], k2)); }
      if (HD4 > 3u) { s += vec4<f32>(dot(q[b.x + 3u], k3), dot(q[b.y + 3u], k3), dot(q[b.z + 3u], k3), dot(q[b.w + 3u], k3)); }
      if (HD4 > 4u) { s += vec4<f32>(dot(q[b.x + 4u], k4), dot(q[b.y + 4u], k4), dot(q[b.z + 4u], k4), dot(q[b.w + 4u], k4)); }
      if (HD4 > 5u) { s += vec4<f32>(dot(q[b.x + 5u], k5), dot(q[b.y + 5u], k5), dot(q[b.z + 5u], k5), dot(q[b.w + 5u], k5)); }
      if (HD4 > 6u) { s += vec4<f32>(dot(q[b.x + 6u], k6), dot(q[b.y + 6u], k6), dot(q[b.z + 6u], k6), dot(q[b.w + 6u], k6)); }
      if (HD4 > 7u) { s += vec4<f32>(dot(q[b.x + 7u], k7), dot(q[b.y + 7u], k7), dot(q[b.z + 7u], k7), dot(q[b.w + 7u], k7)); }
      if (HD4 > 8u) { s += vec4<f32>(dot(q[b.x + 8u], k8), dot(q[b.y + 8u], k8), dot(q[b.z + 8u], k8), dot(q[b.w + 8u], k8)); }
      if (HD4 > 9u) { s += vec4<f32>(dot(q[b.x + 9u], k9), dot(q[b.y + 9u], k9), dot(q[b.z + 9u], k9), dot(q[b.w + 9u], k9)); }
      if (HD4 > 10u) { s += vec4<f32>(dot(q[b.x + 10u], k10), dot(q[b.y + 10u], k10), dot(q[b.z + 10u], k10), dot(q[b.w + 10u], k10)); }
      if (HD4 > 11u) { s += vec4<f32>(dot(q[b.x + 11u], k11), dot(q[b.y + 11u], k11), dot(q[b.z + 11u], k11), dot(q[b.w + 11u], k11)); }
      if (HD4 > 12u) { s += vec4<f32>(dot(q[b.x + 12u], k12), dot(q[b.y + 12u], k12), dot(q[b.z + 12u], k12), dot(q[b.w + 12u], k12)); }
      if (HD4 > 13u) { s += vec4<f32>(dot(q[b.x + 13u], k13), dot(q[b.y + 13u], k13), dot(q[b.z + 13u], k13), dot(q[b.w + 13u], k13)); }
      if (HD4 > 14u) { s += vec4<f32>(dot(q[b.x + 14u], k14), dot(q[b.y + 14u], k14), dot(q[b.z + 14u], k14), dot(q[b.w + 14u], k14)); }
      if (HD4 > 15u) { s += vec4<f32>(dot(q[b.x + 15u], k15), dot(q[b.y + 15u], k15), dot(q[b.z + 15u], k15), dot(q[b.w + 15u], k15)); }
      dp += vec4<f32>(dot(dO[b.x + 0u], v0), dot(dO[b.y + 0u], v0), dot(dO[b.z + 0u], v0), dot(dO[b.w + 0u], v0));
      if (HD4 > 1u) { dp += vec4<f32>(dot(dO[b.x + 1u], v1), dot(dO[b.y + 1u], v1), dot(dO[b.z + 1u], v1), dot(dO[b.w + 1u], v1)); }
      if (HD4 > 2u) { dp += vec4<f32>(dot(dO[b.x + 2u], v2), dot(dO[b.y + 2u], v2), dot(dO[b.z + 2u], v2), dot(dO[b.w + 2u], v2)); }
      if (HD4 > 3u) { dp += vec4<f32>(dot(dO[b.x + 3u], v3), dot(dO[b.y + 3u], v3), dot(dO[b.z + 3u], v3), dot(dO[b.w + 3u], v3)); }
      if (HD4 > 4u) { dp += vec4<f32>(dot(dO[b.x + 4u], v4), dot(dO[b.y + 4u], v4), dot(dO[b.z + 4u], v4), dot(dO[b.w + 4u], v4)); }
      if (HD4 > 5u) { dp += vec4<f32>(dot(dO[b.x + 5u], v5), dot(dO[b.y + 5u], v5), dot(dO[b.z + 5u], v5), dot(dO[b.w + 5u], v5)); }
      if (HD4 > 6u) { dp += vec4<f32>(dot(dO[b.x + 6u], v6), dot(dO[b.y + 6u], v6), dot(dO[b.z + 6u], v6), dot(dO[b.w + 6u], v6)); }
      if (HD4 > 7u) { dp += vec4<f32>(dot(dO[b.x + 7u], v7), dot(dO[b.y + 7u], v7), dot(dO[b.z + 7u], v7), dot(dO[b.w + 7u], v7)); }
      if (HD4 > 8u) { dp += vec4<f32>(dot(dO[b.x + 8u], v8), dot(dO[b.y + 8u], v8), dot(dO[b.z + 8u], v8), dot(dO[b.w + 8u], v8)); }
      if (HD4 > 9u) { dp += vec4<f32>(dot(dO[b.x + 9u], v9), dot(dO[b.y + 9u], v9), dot(dO[b.z + 9u], v9), dot(dO[b.w + 9u], v9)); }
      if (HD4 > 10u) { dp += vec4<f32>(dot(dO[b.x + 10u], v10), dot(dO[b.y + 10u], v10), dot(dO[b.z + 10u], v10), dot(dO[b.w + 10u], v10)); }
      if (HD4 > 11u) { dp += vec4<f32>(dot(dO[b.x + 11u], v11), dot(dO[b.y + 11u], v11), dot(dO[b.z + 11u], v11), dot(dO[b.w + 11u], v11)); }
      if (HD4 > 12u) { dp += vec4<f32>(dot(dO[b.x + 12u], v12), dot(dO[b.y + 12u], v12), dot(dO[b.z + 12u], v12), dot(dO[b.w + 12u], v12)); }
      if (HD4 > 13u) { dp += vec4<f32>(dot(dO[b.x + 13u], v13), dot(dO[b.y + 13u], v13), dot(dO[b.z + 13u], v13), dot(dO[b.w + 13u], v13)); }
      if (HD4 > 14u) { dp += vec4<f32>(dot(dO[b.x + 14u], v14), dot(dO[b.y + 14u], v14), dot(dO[b.z + 14u], v14), dot(dO[b.w + 14u], v14)); }
      if (HD4 > 15u) { dp += vec4<f32>(dot(dO[b.x + 15u], v15), dot(dO[b.y + 15u], v15), dot(dO[b.z + 15u], v15), dot(dO[b.w + 15u], v15)); }
      let li = lrow + i;
      let pij = select(vec4<f32>(0.0), exp(s - vec4<f32>(lse[li.x], lse[li.y], lse[li.z], lse[li.w])), live);
      let ds = pij * (dp - vec4<f32>(D[li.x], D[li.y], D[li.z], D[li.w]));
      // Queries are added in ascending order; a dead slot adds exactly zero.
      f0 += pij.x * dO[b.x + 0u] + pij.y * dO[b.y + 0u] + pij.z * dO[b.z + 0u] + pij.w * dO[b.w + 0u];
      if (HD4 > 1u) { f1 += pij.x * dO[b.x + 1u] + pij.y * dO[b.y + 1u] + pij.z * dO[b.z + 1u] + pij.w * dO[b.w + 1u]; }
      if (HD4 > 2u) { f2 += pij.x * dO[b.x + 2u] + pij.y * dO[b.y + 2u] + pij.z * dO[b.z + 2u] + pij.w * dO[b.w + 2u]; }
      if (HD4 > 3u) { f3 += pij.x * dO[b.x + 3u] + pij.y * dO[b.y + 3u] + pij.z * dO[b.z + 3u] + pij.w * dO[b.w + 3u]; }
      if (HD4 > 4u) { f4 += pij.x * dO[b.x + 4u] + pij.y * dO[b.y + 4u] + pij.z * dO[b.z + 4u] + pij.w * dO[b.w + 4u]; }
      if (HD4 > 5u) { f5 += pij.x * dO[b.x + 5u] + pij.y * dO[b.y + 5u] + pij.z * dO[b.z + 5u] + pij.w * dO[b.w + 5u]; }
      if (HD4 > 6u) { f6 += pij.x * dO[b.x + 6u] + pij.y * dO[b.y + 6u] + pij.z * dO[b.z + 6u] + pij.w * dO[b.w + 6u]; }
      if (HD4 > 7u) { f7 += pij.x * dO[b.x + 7u] + pij.y * dO[b.y + 7u] + pij.z * dO[b.z + 7u] + pij.w * dO[b.w + 7u]; }
      if (HD4 > 8u) { f8 += pij.x * dO[b.x + 8u] + pij.y * dO[b.y + 8u] + pij.z * dO[b.z + 8u] + pij.w * dO[b.w + 8u]; }
      if (HD4 > 9u) { f9 += pij.x * dO[b.x + 9u] + pij.y * dO[b.y + 9u] + pij.z * dO[b.z + 9u] + pij.w * dO[b.w + 9u]; }
      if (HD4 > 10u) { f10 += pij.x * dO[b.x + 10u] + pij.y * dO[b.y + 10u] + pij.z * dO[b.z + 10u] + pij.w * dO[b.w + 10u]; }
      if (HD4 > 11u) { f11 += pij.x * dO[b.x + 11u] + pij.y * dO[b.y + 11u] + pij.z * dO[b.z + 11u] + pij.w * dO[b.w + 11u]; }
      if (HD4 > 12u) { f12 += pij.x * dO[b.x + 12u] + pij.y * dO[b.y + 12u] + pij.z * dO[b.z + 12u] + pij.w * dO[b.w + 12u]; }
      if (HD4 > 13u) { f13 += pij.x * dO[b.x + 13u] + pij.y * dO[b.y + 13u] + pij.z * dO[b.z + 13u] + pij.w * dO[b.w + 13u]; }
      if (HD4 > 14u) { f14 += pij.x * dO[b.x + 14u] + pij.y * dO[b.y + 14u] + pij.z * dO[b.z + 14u] + pij.w * dO[b.w + 14u]; }
      if (HD4 > 15u) { f15 += pij.x * dO[b.x + 15u] + pij.y * dO[b.y + 15u] + pij.z * dO[b.z + 15u] + pij.w * dO[b.w + 15u]; }
      e0 += ds.x * q[b.x + 0u] + ds.y * q[b.y + 0u] + ds.z * q[b.z + 0u] + ds.w * q[b.w + 0u];
      if (HD4 > 1u) { e1 += ds.x * q[b.x + 1u] + ds.y * q[b.y + 1u] + ds.z * q[b.z + 1u] + ds.w * q[b.w + 1u]; }
      if (HD4 > 2u) { e2 += ds.x * q[b.x + 2u] + ds.y * q[b.y + 2u] + ds.z * q[b.z + 2u] + ds.w * q[b.w + 2u]; }
      if (HD4 > 3u) { e3 += ds.x * q[b.x + 3u] + ds.y * q[b.y + 3u] + ds.z * q[b.z + 3u] + ds.w * q[b.w + 3u]; }
      if (HD4 > 4u) { e4 += ds.x * q[b.x + 4u] + ds.y * q[b.y + 4u] + ds.z * q[b.z + 4u] + ds.w * q[b.w + 4u]; }
      if (HD4 > 5u) { e5 += ds.x * q[b.x + 5u] + ds.y * q[b.y + 5u] + ds.z * q[b.z + 5u] + ds.w * q[b.w + 5u]; }
      if (HD4 > 6u) { e6 += ds.x * q[b.x + 6u] + ds.y * q[b.y + 6u] + ds.z * q[b.z + 6u] + ds.w * q[b.w + 6u]; }
      if (HD4 > 7u) { e7 += ds.x * q[b.x + 7u] + ds.y * q[b.y + 7u] + ds.z * q[b.z + 7u] + ds.w * q[b.w + 7u]; }
      if (HD4 > 8u) { e8 += ds.x * q[b.x + 8u] + ds.y * q[b.y + 8u] + ds.z * q[b.z + 8u] + ds.w * q[b.w + 8u]; }
      if (HD4 > 9u) { e9 += ds.x * q[b.x + 9u] + ds.y * q[b.y + 9u] + ds.z * q[b.z + 9u] + ds.w * q[b.w + 9u]; }
      if (HD4 > 10u) { e10 += ds.x * q[b.x + 10u] + ds.y * q[b.y + 10u] + ds.z * q[b.z + 10u] + ds.w * q[b.w + 10u]; }
      if (HD4 > 11u) { e11 += ds.x * q[b.x + 11u] + ds.y * q[b.y + 11u] + ds.z * q[b.z + 11u] + ds.w * q[b.w + 11u]; }
      if (HD4 > 12u) { e12 += ds.x * q[b.x + 12u] + ds.y * q[b.y + 12u] + ds.z * q[b.z + 12u] + ds.w * q[b.w + 12u]; }
      if (HD4 > 13u) { e13 += ds.x * q[b.x + 13u] + ds.y * q[b.y + 13u] + ds.z * q[b.z + 13u] + ds.w * q[b.w + 13u]; }
      if (HD4 > 14u) { e14 += ds.x * q[b.x + 14u] + ds.y * q[b.y + 14u] + ds.z * q[b.z + 14u] + ds.w * q[b.w + 14u]; }
      if (HD4 > 15u) { e15 += ds.x * q[b.x + 15u] + ds.y * q[b.y + 15u] + ds.z * q[b.z + 15u] + ds.w * q[b.w + 15u]; }
    }
  }
  dk[row + 0u] = prior4(dk[row + 0u]) + e0 * p.scale; dv[row + 0u] = prior4(dv[row + 0u]) + f0;
  if (HD4 > 1u) { dk[row + 1u] = prior4(dk[row + 1u]) + e1 * p.scale; dv[row + 1u] = prior4(dv[row + 1u]) + f1; }
  if (HD4 > 2u) { dk[row + 2u] = prior4(dk[row + 2u]) + e2 * p.scale; dv[row + 2u] = prior4(dv[row + 2u]) + f2; }
  if (HD4 > 3u) { dk[row + 3u] = prior4(dk[row + 3u]) + e3 * p.scale; dv[row + 3u] = prior4(dv[row + 3u]) + f3; }
  if (HD4 > 4u) { dk[row + 4u] = prior4(dk[row + 4u]) + e4 * p.scale; dv[row + 4u] = prior4(dv[row + 4u]) + f4; }
  if (HD4 > 5u) { dk[row + 5u] = prior4(dk[row + 5u]) + e5 * p.scale; dv[row + 5u] = prior4(dv[row + 5u]) + f5; }
  if (HD4 > 6u) { dk[row + 6u] = prior4(dk[row + 6u]) + e6 * p.scale; dv[row + 6u] = prior4(dv[row + 6u]) + f6; }
  if (HD4 > 7u) { dk[row + 7u] = prior4(dk[row + 7u]) + e7 * p.scale; dv[row + 7u] = prior4(dv[row + 7u]) + f7; }
  if (HD4 > 8u) { dk[row + 8u] = prior4(dk[row + 8u]) + e8 * p.scale; dv[row + 8u] = prior4(dv[row + 8u]) + f8; }
  if (HD4 > 9u) { dk[row + 9u] = prior4(dk[row + 9u]) + e9 * p.scale; dv[row + 9u] = prior4(dv[row + 9u]) + f9; }
  if (HD4 > 10u) { dk[row + 10u] = prior4(dk[row + 10u]) + e10 * p.scale; dv[row + 10u] = prior4(dv[row + 10u]) + f10; }
  if (HD4 > 11u) { dk[row + 11u] = prior4(dk[row + 11u]) + e11 * p.scale; dv[row + 11u] = prior4(dv[row + 11u]) + f11; }
  if (HD4 > 12u) { dk[row + 12u] = prior4(dk[row + 12u]) + e12 * p.scale; dv[row + 12u] = prior4(dv[row + 12u]) + f12; }
  if (HD4 > 13u) { dk[row + 13u] = prior4(dk[row + 13u]) + e13 * p.scale; dv[row + 13u] = prior4(dv[row + 13u]) + f13; }
  if (HD4 > 14u) { dk[row + 14u] = prior4(dk[row + 14u]) + e14 * p.scale; dv[row + 14u] = prior4(dv[row + 14u]) + f14; }
  if (HD4 > 15u) { dk[row + 15u] = prior4(dk[row + 15u]) + e15 * p.scale; dv[row + 15u] = prior4(dv[row + 15u]) + f15; }
}
