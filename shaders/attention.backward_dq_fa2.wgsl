// Attention backward, dq part, FlashAttention-2 style (GPUs): dq_i = scale · Σ_j dS_ij k_j with
// P_ij = exp(scale·q_i·k_j − lse_i) recomputed from the forward's saved lse, dP_ij = dO_i·v_j and
// dS_ij = P_ij (dP_ij − D_i), D_i = dO_i·o_i (attention.backward_prep). Shapes as
// attention.forward_fa2.wgsl; D [H, Tq]; hd % 4 == 0, hd <= 128.
// Threads: as attention.forward_fa2.wgsl, one workgroup of 64 lanes per (block of BR (query, head)
// rows, kv head, chunk of RH query heads); q and dO of the rows (with their lse and D) stay in
// workgroup memory; the visible key ranges (the forward's) are walked BK keys at a time through one
// staging buffer:
//   V    stage V; lane (rg, kg) computes its TR×TK register block of dP = dO·Vᵀ;
//   K    stage K over V; the same lane computes S = Q·Kᵀ, P and dS (masked only when the tile is
//        not wholly visible) into Ps;
//   dq   lane (rg, dg) accumulates dS·K for its TR rows × the head dimensions' vec4s dg, dg + 8, …
// dq is OVERWRITTEN (=), or ACCUMULATED (+=) with p.acc (key blocks after a query block's first);
// the sum over keys runs in a fixed order (deterministic, no atomics).
// Workgroup memory: Qs, Gs 4 KiB each, KVs 4 KiB, Ps 1 KiB, Lr, Dr 128 B (13.1 KiB of the default
// 16 KiB) for the launcher's two shapes: hd <= 64 TR 2, TK 2 (16 rows, 16 keys); hd <= 128 TR 1,
// TK 1 (8, 8).

// Head size / 4 (1..32); 0: p.hd / 4 (one pipeline for every head size, where compiling dominates).
override FIXED_HD4: u32 = 0u;
override TR: u32 = 2u;
override TK: u32 = 2u;
// Query heads per workgroup, a chunk of the R = H / KV heads that share a kv head; 0: the most
// that fit 8, in equal chunks (rhOf, as fa2Tiles in attention.ts).
override FIXED_RH: u32 = 0u;
const LANES: u32 = 64u;
override BR: u32 = 8u * TR;
override BK: u32 = 8u * TK;

@group(0) @binding(0) var<storage, read> q: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> k: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> v: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> dO: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> lse: array<f32>;
@group(0) @binding(5) var<storage, read> D: array<f32>;
@group(0) @binding(6) var<storage, read_write> dq: array<vec4<f32>>;
@group(0) @binding(7) var<uniform> p: Params;

var<workgroup> Qs: array<vec4<f32>, 256>;
var<workgroup> Gs: array<vec4<f32>, 256>;
var<workgroup> KVs: array<vec4<f32>, 256>;
var<workgroup> Ps: array<f32, 256>;
var<workgroup> Lr: array<f32, 16>;
var<workgroup> Dr: array<f32, 16>;

// #include attention.pattern

fn rhOf(R: u32) -> u32 {
  let chunks = (R + 7u) / 8u;
  return (R + chunks - 1u) / chunks;
}

@compute @workgroup_size(LANES)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
  let HD4 = select(p.hd / 4u, FIXED_HD4, FIXED_HD4 != 0u);
  let R = p.H / p.KV;
  let RH = select(rhOf(R), FIXED_RH, FIXED_RH != 0u);
  let BQH = BR / RH;  // queries per head slot
  let chunks = (R + RH - 1u) / RH;
  let c = wg.y / chunks;
  let h0 = c * R + (wg.y % chunks) * RH;
  let nh = min(RH, c * R + R - h0);
  let i0 = wg.x * BQH;
  let i1 = min(i0 + BQH, p.Tq) - 1u;

  for (var e = lane; e < BR * HD4; e += LANES) {
    let r = e / HD4;
    let i = i0 + r % BQH;
    var x = vec4<f32>(0.0);
    var g = vec4<f32>(0.0);
    if (r / BQH < nh && i < p.Tq) {
      let at = (i * p.H + h0 + r / BQH) * HD4 + e % HD4;
      x = q[at];
      g = dO[at];
    }
    Qs[e] = x;
    Gs[e] = g;
  }
  if (lane < BR) {
    let i = i0 + lane % BQH;
    var a = 0.0;
    var b = 0.0;
    if (lane / BQH < nh && i < p.Tq) {
      a = lse[rowStat(h0 + lane / BQH, i)];
      b = D[rowStat(h0 + lane / BQH, i)];
    }
    Lr[lane] = a;
    Dr[lane] = b;
  }

  var lo = 0u;
  var hi = p.Tk;
  var lo2 = p.Tk;
  if (p.skip != 0u) {
    lo = p.Tk;
    hi = 0u;
    for (var s = 0u; s < nh; s++) {
      let run = keyRuns(i0, i1, h0 + s);
      if (run.y > run.x) {
        lo = min(lo, run.x);
        hi = max(hi, run.y);
      }
      lo2 = min(lo2, run.z);
    }
  }
  let n1 = select(0u, (hi - lo + BK - 1u) / BK, hi > lo);
  let steps = n1 + (p.Tk - lo2 + BK - 1u) / BK;

  var acc: array<vec4<f32>, 8>;  // [TR][4]: rows rg·TR + a, head vec4s dg + 8e
  for (var x = 0u; x < 8u; x++) { acc[x] = vec4<f32>(0.0); }
  let rg = lane / 8u;
  let cg = lane % 8u;

  for (var t = 0u; t < steps; t++) {
    let second = t >= n1;
    let kb = select(lo + t * BK, lo2 + (t - n1) * BK, second);
    let n = min(BK, select(hi, p.Tk, second) - kb);
    var whole = p.skip != 0u;
    for (var s = 0u; s < nh; s++) {
      let h = h0 + s;
      let a = i0 + p.qBase;
      let b = i1 + p.qBase;
      let j0 = kb + p.kBase;
      let j1 = kb + n - 1u + p.kBase;
      whole = whole && gVisible(a, j1, h) && groupOf(a, h) == groupOf(b, h) &&
        groupOf(j0, h) == groupOf(j1, h);
    }
    workgroupBarrier();
    for (var e = lane; e < BK * HD4; e += LANES) {
      let jj = e / HD4;
      var x = vec4<f32>(0.0);
      if (jj < n) { x = v[((kb + jj) * p.KV + c) * HD4 + e % HD4]; }
      KVs[e] = x;
    }
    workgroupBarrier();
    var dp: array<f32, 4>;
    var sv: array<f32, 4>;
    for (var x = 0u; x < 4u; x++) {
      dp[x] = 0.0;
      sv[x] = 0.0;
    }
    for (var d = 0u; d < HD4; d++) {
      for (var a = 0u; a < TR; a++) {
        let ga = Gs[(rg * TR + a) * HD4 + d];
        for (var b = 0u; b < TK; b++) { dp[a * TK + b] += dot(ga, KVs[(cg + 8u * b) * HD4 + d]); }
      }
    }
    workgroupBarrier();
    for (var e = lane; e < BK * HD4; e += LANES) {
      let jj = e / HD4;
      var x = vec4<f32>(0.0);
      if (jj < n) { x = k[((kb + jj) * p.KV + c) * HD4 + e % HD4]; }
      KVs[e] = x;
    }
    workgroupBarrier();
    for (var d = 0u; d < HD4; d++) {
      for (var a = 0u; a < TR; a++) {
        let qa = Qs[(rg * TR + a) * HD4 + d];
        for (var b = 0u; b < TK; b++) { sv[a * TK + b] += dot(qa, KVs[(cg + 8u * b) * HD4 + d]); }
      }
    }
    for (var a = 0u; a < TR; a++) {
      let r = rg * TR + a;
      let slot = r / BQH;
      let i = i0 + r % BQH;
      let live = slot < nh && i < p.Tq;
      for (var b = 0u; b < TK; b++) {
        let jj = cg + 8u * b;
        var ok = live && jj < n;
        if (ok && !whole) { ok = visible(i, kb + jj, h0 + slot); }
        let pij = exp(sv[a * TK + b] * p.scale - Lr[r]);
        Ps[r * BK + jj] = select(0.0, pij * (dp[a * TK + b] - Dr[r]), ok);
      }
    }
    workgroupBarrier();
    for (var a = 0u; a < TR; a++) {
      let r = rg * TR + a;
      for (var jj = 0u; jj < n; jj++) {
        let ds = Ps[r * BK + jj];
        for (var e = 0u; e < 4u; e++) {
          let d = cg + 8u * e;
          if (d < HD4) { acc[a * 4u + e] += ds * KVs[jj * HD4 + d]; }
        }
      }
    }
  }
  for (var a = 0u; a < TR; a++) {
    let r = rg * TR + a;
    let slot = r / BQH;
    let i = i0 + r % BQH;
    if (slot < nh && i < p.Tq) {
      for (var e = 0u; e < 4u; e++) {
        let d = cg + 8u * e;
        if (d < HD4) {
          let at = (i * p.H + h0 + slot) * HD4 + d;
          dq[at] = prior4(dq[at]) + acc[a * 4u + e] * p.scale;
        }
      }
    }
  }
}
