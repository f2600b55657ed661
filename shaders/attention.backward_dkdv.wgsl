// Flash-style attention backward, dk/dv part: for key j of kv head c, summed over the query heads h
// that share c (h = c·R .. c·R + R − 1, R = H / KV) and the queries i that see j:
//   dv_j = Σ P_ij dO_i,   dk_j = scale · Σ dS_ij q_i,
// with P_ij = exp(scale·q_i·k_j − lse_i), dS_ij = P_ij (dO_i·v_j − D_i), D from attention.backward_prep.
// Threads: one workgroup per (tile of ROWS keys, kv head); one lane per key keeps k, v and its dk,
// dv accumulators in private memory. For each query head in turn the workgroup visits only the query
// ranges that can see its keys (at most two intervals), staging bk rows of q and dO (and their lse,
// D) at a time in workgroup memory. dk and dv are OVERWRITTEN (=); the sums over heads and queries run in a
// fixed order, with no atomics (deterministic).
// hd and bk are uniforms (one pipeline serves every head size: compile time dominates on
// SwiftShader); only the lane count ROWS is a pipeline constant.

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
const HD_MAX: u32 = 128u;
const TILE: u32 = 1984u;  // staged floats per array: 2 tiles + 2·64 row scalars fit 16 KiB

@group(0) @binding(0) var<storage, read> q: array<f32>;
@group(0) @binding(1) var<storage, read> k: array<f32>;
@group(0) @binding(2) var<storage, read> v: array<f32>;
@group(0) @binding(3) var<storage, read> dO: array<f32>;
@group(0) @binding(4) var<storage, read> lse: array<f32>;
@group(0) @binding(5) var<storage, read> D: array<f32>;
@group(0) @binding(6) var<storage, read_write> dk: array<f32>;
@group(0) @binding(7) var<storage, read_write> dv: array<f32>;
@group(0) @binding(8) var<uniform> p: Params;

var<workgroup> Qs: array<f32, TILE>;
var<workgroup> Gs: array<f32, TILE>;
var<workgroup> Ls: array<f32, 64>;
var<workgroup> Ds: array<f32, 64>;

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
// Keys that query rows [i0, i1] see, as runs: [x, y) plus, for s2roll's first tokens, the wrapped
// tail [z, Tk) (z = Tk when there is none).
fn keyRuns(i0: u32, i1: u32, h: u32) -> vec3<u32> {
  let hi = min(i1 + p.qOffset + 1u, p.Tk);
  var lo2 = p.Tk;
  if (p.pattern == 2u && shifted(h) && i0 < p.G / 2u) { lo2 = max(p.Tk - p.G / 2u, hi); }
  return vec3<u32>(firstKey(i0, h), hi, lo2);
}
// Queries that see keys [j0, j1] of head h, as runs: [x, y) plus, for s2roll's tail keys, the
// wrapped head [0, z) (z = 0 when there is none; y <= x means an empty first run).
fn queryRuns(j0: u32, j1: u32, h: u32) -> vec3<u32> {
  let lo = firstQuery(j0);
  var hi2 = 0u;
  if (p.pattern == 2u && shifted(h) && j1 >= p.Tk - p.G / 2u) { hi2 = min(p.G / 2u, lo); }
  return vec3<u32>(lo, queryEnd(j1, h), hi2);
}
// --- end pattern ---

var<private> kv: array<f32, HD_MAX>;
var<private> vv: array<f32, HD_MAX>;
var<private> dka: array<f32, HD_MAX>;
var<private> dva: array<f32, HD_MAX>;

// Adds the n staged queries ib.. of head h into key j's dk, dv accumulators.
fn consume(j: u32, h: u32, ib: u32, n: u32) {
  for (var ii = 0u; ii < n; ii++) {
    if (!visible(ib + ii, j, h)) { continue; }
    var s = 0.0;
    var dp = 0.0;
    for (var d = 0u; d < p.hd; d++) {
      s += Qs[ii * p.hd + d] * kv[d];
      dp += Gs[ii * p.hd + d] * vv[d];
    }
    let pij = exp(s * p.scale - Ls[ii]);
    let ds = pij * (dp - Ds[ii]);
    for (var d = 0u; d < p.hd; d++) {
      dva[d] += pij * Gs[ii * p.hd + d];
      dka[d] += ds * Qs[ii * p.hd + d];
    }
  }
}

@compute @workgroup_size(ROWS)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
  let c = wg.y;
  let R = p.H / p.KV;
  let j0 = wg.x * ROWS;
  let j1 = min(j0 + ROWS, p.Tk) - 1u;
  let j = j0 + lane;
  let live = j < p.Tk;
  if (live) {
    for (var d = 0u; d < p.hd; d++) {
      kv[d] = k[(j * p.KV + c) * p.hd + d];
      vv[d] = v[(j * p.KV + c) * p.hd + d];
    }
  }
  for (var h = c * R; h < c * R + R; h++) {
    // Queries that see this tile's keys: [lo, hi) plus, for s2roll's tail keys, the head [0, hi2).
    var r = vec3<u32>(0u, p.Tq, 0u);
    if (p.skip != 0u) { r = queryRuns(j0, j1, h); }
    let lo = r.x;
    let hi = r.y;
    let hi2 = r.z;
    // One flat loop over both ranges' tiles (a second loop would double SwiftShader's compile time).
    let n1 = select(0u, (hi - lo + p.bk - 1u) / p.bk, hi > lo);
    let steps = n1 + (hi2 + p.bk - 1u) / p.bk;
    for (var t = 0u; t < steps; t++) {
      let second = t >= n1;
      let ib = select(lo + t * p.bk, (t - n1) * p.bk, second);
      let n = min(p.bk, select(hi, hi2, second) - ib);
      workgroupBarrier();
      for (var e = lane; e < n * p.hd; e += ROWS) {
        let src = ((ib + e / p.hd) * p.H + h) * p.hd + e % p.hd;
        Qs[e] = q[src];
        Gs[e] = dO[src];
      }
      for (var e = lane; e < n; e += ROWS) {
        Ls[e] = lse[h * p.Tq + ib + e];
        Ds[e] = D[h * p.Tq + ib + e];
      }
      workgroupBarrier();
      if (live) { consume(j, h, ib, n); }
    }
  }
  if (live) {
    for (var d = 0u; d < p.hd; d++) {
      dk[(j * p.KV + c) * p.hd + d] = dka[d] * p.scale;
      dv[(j * p.KV + c) * p.hd + d] = dva[d];
    }
  }
}
