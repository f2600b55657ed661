// Flash-style attention forward, f32: o = softmax(scale·q·kᵀ, masked by the pattern)·v per query
// head, plus the log-sum-exp of each query row (saved for the backward, which recomputes P from it).
// q, o [Tq, H, hd]; k, v [Tk, KV, hd]; lse [H, Tq]. Query head h reads kv head h / (H / KV).
// Threads: one workgroup per (tile of ROWS queries, head); one lane per query row keeps its q row and
// output accumulator in private memory. The workgroup visits only the key ranges its rows can see
// (computed from the pattern, at most two intervals), staging bk keys and values at a time in
// workgroup memory; inside a staged tile the exact per-(i, j) predicate masks. Online softmax with a
// running max m and sum l; each staged tile rescales the accumulator once. Overwrites o and lse
// (over key blocks: this block's partial, which attention.merge folds in; a row that sees none of
// the block's keys gets o = 0 and lse = NEG).
// hd and bk are uniforms (one pipeline serves every head size: compile time dominates on
// SwiftShader); only the lane count ROWS is a pipeline constant.

override ROWS: u32 = 64u;
const HD_MAX: u32 = 128u;
const TILE: u32 = 1984u;  // staged floats per array: 2 tiles + 2·64 row scalars fit 16 KiB
const BK_MAX: u32 = 64u;
const NEG: f32 = -3.0e38;

@group(0) @binding(0) var<storage, read> q: array<f32>;
@group(0) @binding(1) var<storage, read> k: array<f32>;
@group(0) @binding(2) var<storage, read> v: array<f32>;
@group(0) @binding(3) var<storage, read_write> o: array<f32>;
@group(0) @binding(4) var<storage, read_write> lse: array<f32>;
@group(0) @binding(5) var<uniform> p: Params;

var<workgroup> Ks: array<f32, TILE>;
var<workgroup> Vs: array<f32, TILE>;

// #include attention.pattern

var<private> qv: array<f32, HD_MAX>;
var<private> acc: array<f32, HD_MAX>;
var<private> sc: array<f32, BK_MAX>;
var<private> m: f32 = NEG;
var<private> l: f32 = 0.0;

// Folds the n staged keys kb.. into row i's running softmax (m, l, acc).
fn consume(i: u32, h: u32, kb: u32, n: u32) {
  var cmax = NEG;
  for (var jj = 0u; jj < n; jj++) {
    var s = NEG;
    if (visible(i, kb + jj, h)) {
      s = 0.0;
      for (var d = 0u; d < p.hd; d++) { s += qv[d] * Ks[jj * p.hd + d]; }
    }
    sc[jj] = s;
    cmax = max(cmax, s);
  }
  if (cmax == NEG) { return; }
  let mNew = max(m, cmax);
  let alpha = exp(m - mNew);
  l *= alpha;
  for (var d = 0u; d < p.hd; d++) { acc[d] *= alpha; }
  for (var jj = 0u; jj < n; jj++) {
    if (sc[jj] == NEG) { continue; }
    let pj = exp(sc[jj] - mNew);
    l += pj;
    for (var d = 0u; d < p.hd; d++) { acc[d] += pj * Vs[jj * p.hd + d]; }
  }
  m = mNew;
}

@compute @workgroup_size(ROWS)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
  let h = wg.y;
  let kvh = h / (p.H / p.KV);
  let i0 = wg.x * ROWS;
  let i1 = min(i0 + ROWS, p.Tq) - 1u;
  let i = i0 + lane;
  let live = i < p.Tq;
  if (live) {
    for (var d = 0u; d < p.hd; d++) { qv[d] = q[(i * p.H + h) * p.hd + d] * p.scale; }
  }
  // Keys this tile's rows can see: [lo, hi) plus, for s2roll's first tokens, the tail [lo2, Tk).
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
    if (live) { consume(i, h, kb, n); }
  }
  if (live) {
    // A row that sees no key of this dispatch's block (key blocks) gets o = 0 and lse = NEG.
    let il = select(0.0, 1.0 / l, l > 0.0);
    for (var d = 0u; d < p.hd; d++) { o[(i * p.H + h) * p.hd + d] = acc[d] * il; }
    lse[rowStat(h, i)] = select(NEG, m + log(l), l > 0.0);
  }
}
