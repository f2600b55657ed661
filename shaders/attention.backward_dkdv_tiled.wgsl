// Flash-style attention backward, dk/dv part: for key j of kv head c, summed over the query heads h
// that share c (h = c·R .. c·R + R − 1, R = H / KV) and the queries i that see j:
//   dv_j = Σ P_ij dO_i,   dk_j = scale · Σ dS_ij q_i,
// with P_ij = exp(scale·q_i·k_j − lse_i), dS_ij = P_ij (dO_i·v_j − D_i), D from attention.backward_prep.
// Threads: one workgroup per (tile of ROWS keys, kv head); one lane per key keeps k, v and its dk,
// dv accumulators in private memory. For each query head in turn the workgroup visits only the query
// ranges that can see its keys (at most two intervals), staging bk rows of q and dO (and their lse,
// D) at a time in workgroup memory. dk and dv are OVERWRITTEN (=), or ACCUMULATED (+=) with p.acc (query blocks after a key block's first); the sums over heads and queries run in a
// fixed order, with no atomics (deterministic).
// hd and bk are uniforms (one pipeline serves every head size: compile time dominates on
// SwiftShader); only the lane count ROWS is a pipeline constant.

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

// #include attention.pattern

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
        Ls[e] = lse[rowStat(h, ib + e)];
        Ds[e] = D[rowStat(h, ib + e)];
      }
      workgroupBarrier();
      if (live) { consume(j, h, ib, n); }
    }
  }
  if (live) {
    for (var d = 0u; d < p.hd; d++) {
      let at = (j * p.KV + c) * p.hd + d;
      dk[at] = prior(dk[at]) + dka[d] * p.scale;
      dv[at] = prior(dv[at]) + dva[d];
    }
  }
}
