// Flash-style attention backward, dq part: dq_i = scale · Σ_j dS_ij k_j with P_ij = exp(scale·q_i·k_j
// − lse_i) recomputed from the forward's saved lse, dP_ij = dO_i·v_j and dS_ij = P_ij (dP_ij − D_i),
// D_i = dO_i·o_i (from attention.backward_prep). Shapes as attention.forward_tiled.wgsl; D [H, Tq].
// Threads: one workgroup per (tile of ROWS queries, head); one lane per query row keeps q, dO and its
// dq accumulator in private memory; keys and values of the visible key ranges (same ranges as the
// forward) are staged bk at a time in workgroup memory. dq is OVERWRITTEN (=), or ACCUMULATED (+=) with p.acc (key blocks after a query block's first), summed over keys in a
// fixed order (deterministic).
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
@group(0) @binding(6) var<storage, read_write> dq: array<f32>;
@group(0) @binding(7) var<uniform> p: Params;

var<workgroup> Ks: array<f32, TILE>;
var<workgroup> Vs: array<f32, TILE>;

// #include attention.pattern

var<private> qv: array<f32, HD_MAX>;
var<private> gv: array<f32, HD_MAX>;
var<private> acc: array<f32, HD_MAX>;

// Adds the n staged keys kb.. into row i's dq accumulator.
fn consume(i: u32, h: u32, kb: u32, n: u32, rowLse: f32, rowD: f32) {
  for (var jj = 0u; jj < n; jj++) {
    if (!visible(i, kb + jj, h)) { continue; }
    var s = 0.0;
    var dp = 0.0;
    for (var d = 0u; d < p.hd; d++) {
      s += qv[d] * Ks[jj * p.hd + d];
      dp += gv[d] * Vs[jj * p.hd + d];
    }
    let ds = exp(s * p.scale - rowLse) * (dp - rowD);
    for (var d = 0u; d < p.hd; d++) { acc[d] += ds * Ks[jj * p.hd + d]; }
  }
}

@compute @workgroup_size(ROWS)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
  let h = wg.y;
  let kvh = h / (p.H / p.KV);
  let i0 = wg.x * ROWS;
  let i1 = min(i0 + ROWS, p.Tq) - 1u;
  let i = i0 + lane;
  let live = i < p.Tq;
  var rowLse = 0.0;
  var rowD = 0.0;
  if (live) {
    for (var d = 0u; d < p.hd; d++) {
      qv[d] = q[(i * p.H + h) * p.hd + d];
      gv[d] = dO[(i * p.H + h) * p.hd + d];
    }
    rowLse = lse[rowStat(h, i)];
    rowD = D[rowStat(h, i)];
  }
  // The same key ranges as the forward.
  var r = vec3<u32>(0u, p.Tk, p.Tk);
  if (p.skip != 0u) { r = keyRuns(i0, i1, h); }
  let lo = r.x;
  let hi = r.y;
  let lo2 = r.z;
  // One flat loop over both ranges' tiles (a second loop would double SwiftShader's compile time).
  let n1 = (hi - lo + p.bk - 1u) / p.bk;
  let steps = n1 + (p.Tk - lo2 + p.bk - 1u) / p.bk;
  for (var t = 0u; t < steps; t++) {
    let second = t >= n1;
    let kb = select(lo + t * p.bk, lo2 + (t - n1) * p.bk, second);
    let n = min(p.bk, select(hi, p.Tk, second) - kb);
    workgroupBarrier();
    for (var e = lane; e < n * p.hd; e += ROWS) {
      let src = ((kb + e / p.hd) * p.KV + kvh) * p.hd + e % p.hd;
      Ks[e] = k[src];
      Vs[e] = v[src];
    }
    workgroupBarrier();
    if (live) { consume(i, h, kb, n, rowLse, rowD); }
  }
  if (live) {
    for (var d = 0u; d < p.hd; d++) {
      let at = (i * p.H + h) * p.hd + d;
      dq[at] = prior(dq[at]) + acc[d] * p.scale;
    }
  }
}
