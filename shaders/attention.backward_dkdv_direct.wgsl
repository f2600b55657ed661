// Attention backward, dk/dv part, barrier-free variant for CPU adapters (the same result as
// attention.backward_dkdv.wgsl): for key j of kv head c, summed over the query heads h that share c
// (h = c·R .. c·R + R − 1, R = H / KV) and the queries i that see j:
//   dv_j = Σ P_ij dO_i,   dk_j = scale · Σ dS_ij q_i,
// with P_ij = exp(scale·q_i·k_j − lse_i), dS_ij = P_ij (dO_i·v_j − D_i), D from attention.backward_prep.
// Threads: one invocation per (key row j, kv head c) (workgroups [ceil(Tk / ROWS), KV]), with no
// workgroup memory and no barriers; q and dO rows come straight from global memory as vec4s
// (hd % 4 == 0). For each head it visits exactly the queries that see key j: the run
// [firstQuery(j), queryEnd(j, h)) plus, for s2roll's shifted heads and tail keys j ≥ Tk − G/2, the
// wrapped head [0, G/2) (with skip = 0 every query, masked). dk and dv are OVERWRITTEN (=); the sums
// run over heads, then queries, in ascending order with no atomics (deterministic).

struct Params {
  Tq: u32,
  Tk: u32,
  H: u32,
  KV: u32,
  pattern: u32,
  G: u32,
  qOffset: u32,
  skip: u32,
  hd: u32,
  bk: u32,
  scale: f32,
}

override ROWS: u32 = 64u;
const HD4_MAX: u32 = 32u;  // head size up to 128 as vec4s

@group(0) @binding(0) var<storage, read> q: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> k: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> v: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> dO: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> lse: array<f32>;
@group(0) @binding(5) var<storage, read> D: array<f32>;
@group(0) @binding(6) var<storage, read_write> dk: array<vec4<f32>>;
@group(0) @binding(7) var<storage, read_write> dv: array<vec4<f32>>;
@group(0) @binding(8) var<uniform> p: Params;

// --- pattern: identical in every attention.*.wgsl (a unit test compares the copies) ---
// pattern 0 full: key j visible to query i iff j <= i + qOffset. 1 s2, 2 s2roll (Tq = Tk = N):
// heads [0, H/2) causal in groups of G; heads [H/2, H) in segments shifted by G/2 (s2), or in
// rolled order r(x) = (x - G/2) mod N with group r/G (s2roll).
fn shifted(h: u32) -> bool { return p.pattern != 0u && h >= p.H / 2u; }
fn rolled(x: u32) -> u32 { return (x + p.Tk - p.G / 2u) % p.Tk; }
fn groupOf(x: u32, h: u32) -> u32 {
  if (!shifted(h)) { return x / p.G; }
  if (p.pattern == 1u) { return (x + p.G / 2u) / p.G; }
  return rolled(x) / p.G;
}
fn visible(i: u32, j: u32, h: u32) -> bool {
  if (p.pattern == 0u) { return j <= i + p.qOffset; }
  if (groupOf(i, h) != groupOf(j, h)) { return false; }
  if (p.pattern == 2u && shifted(h)) { return rolled(j) <= rolled(i); }
  return j <= i;
}
// First key of the contiguous run query i sees (s2roll's wrapped tail excluded); nondecreasing in i.
fn firstKey(i: u32, h: u32) -> u32 {
  let half = p.G / 2u;
  if (p.pattern == 0u) { return 0u; }
  if (!shifted(h)) { return i / p.G * p.G; }
  if (p.pattern == 1u) { return max((i + half) / p.G * p.G, half) - half; }
  if (i < half) { return 0u; }
  return rolled(i) / p.G * p.G + half;
}
// First query that sees key j (s2roll's wrapped head excluded); nondecreasing in j.
fn firstQuery(j: u32) -> u32 {
  if (p.pattern == 0u) { return select(0u, j - p.qOffset, j > p.qOffset); }
  return j;
}
// One past the last query of the contiguous run that sees key j; nondecreasing in j.
fn queryEnd(j: u32, h: u32) -> u32 {
  let half = p.G / 2u;
  if (p.pattern == 0u) { return p.Tq; }
  if (!shifted(h)) { return (j / p.G + 1u) * p.G; }
  if (p.pattern == 1u) { return min(((j + half) / p.G + 1u) * p.G - half, p.Tq); }
  if (j < half) { return half; }
  return min((rolled(j) / p.G + 1u) * p.G + half, p.Tq);
}
// --- end pattern ---

var<private> kv: array<vec4<f32>, HD4_MAX>;
var<private> vv: array<vec4<f32>, HD4_MAX>;
var<private> dka: array<vec4<f32>, HD4_MAX>;
var<private> dva: array<vec4<f32>, HD4_MAX>;

@compute @workgroup_size(ROWS)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
  let c = wg.y;
  let R = p.H / p.KV;
  let j = wg.x * ROWS + lane;
  if (j >= p.Tk) { return; }
  let n4 = p.hd / 4u;
  let row = (j * p.KV + c) * n4;
  for (var d = 0u; d < n4; d++) {
    kv[d] = k[row + d] * p.scale;
    vv[d] = v[row + d];
    dka[d] = vec4<f32>(0.0);
    dva[d] = vec4<f32>(0.0);
  }
  for (var h = c * R; h < c * R + R; h++) {
    // Queries that see key j: [lo, hi) plus, for s2roll's tail keys, the head [0, hi2).
    var lo = 0u;
    var hi = p.Tq;
    var hi2 = 0u;
    if (p.skip != 0u) {
      lo = firstQuery(j);
      hi = queryEnd(j, h);
      if (p.pattern == 2u && shifted(h) && j >= p.Tk - p.G / 2u) { hi2 = min(p.G / 2u, lo); }
    }
    let n1 = select(0u, hi - lo, hi > lo);
    let total = n1 + hi2;
    for (var t = 0u; t < total; t++) {
      let i = select(lo + t, t - n1, t >= n1);
      if (p.skip == 0u && !visible(i, j, h)) { continue; }
      let b = (i * p.H + h) * n4;
      var s = 0.0;
      var dp = 0.0;
      for (var d = 0u; d < n4; d++) {
        s += dot(q[b + d], kv[d]);
        dp += dot(dO[b + d], vv[d]);
      }
      let pij = exp(s - lse[h * p.Tq + i]);
      let ds = pij * (dp - D[h * p.Tq + i]);
      for (var d = 0u; d < n4; d++) {
        dva[d] += pij * dO[b + d];
        dka[d] += ds * q[b + d];
      }
    }
  }
  for (var d = 0u; d < n4; d++) {
    dk[row + d] = dka[d] * p.scale;
    dv[row + d] = dva[d];
  }
}
