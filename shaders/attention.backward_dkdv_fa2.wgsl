// Attention backward, dk/dv part, FlashAttention-2 style (GPUs): for key j of kv head c, summed over
// the query heads h that share c (h = c·R .. c·R + R − 1, R = H / KV) and the queries i that see j:
//   dv_j = Σ P_ij dO_i,   dk_j = scale · Σ dS_ij q_i,
// with P_ij = exp(scale·q_i·k_j − lse_i), dS_ij = P_ij (dO_i·v_j − D_i), D from
// attention.backward_prep. Shapes as attention.forward_fa2.wgsl; hd % 4 == 0, hd <= 128.
// Threads: one workgroup of 64 lanes per (block of BKC keys, kv head); the block's k and v stay in
// workgroup memory (read once for all R query heads: GQA). For each query head in turn the
// workgroup walks the query ranges that see its keys (at most two intervals) BQ queries at a time,
// staging q and dO (with lse and D) in workgroup memory:
//   P    lane (kg, qg) = (lane / 8, lane % 8) computes, for query qg < BQ and its TR keys kg·TR + a,
//        S = q·k and dP = dO·v, then P and dS (masked only when the tile is not wholly visible);
//   acc  lane (kg, dg) = (lane / 8, lane % 8) accumulates dv += P·dO and dk += dS·q for its TR keys ×
//        the head dimensions' vec4s dg, dg + 8, … (registers).
// dk and dv are OVERWRITTEN (=), or ACCUMULATED (+=) with p.acc (query blocks after a key block's
// first); the sums over heads and queries run in a fixed order (deterministic, no atomics).
// Workgroup memory: Ks, Vs 4 KiB each, Qs, Gs 2 KiB each, Ps, Ss 512 B each, Lq, Dq 64 B (13.1 KiB of
// the default 16 KiB) for the launcher's two shapes: hd <= 64 TR 2, BQ 8 (16 keys, 8 queries);
// hd <= 128 TR 1, BQ 4 (8 keys, 4 queries: half the lanes idle in the P step).

// Head size / 4 (1..32); 0: p.hd / 4 (one pipeline for every head size, where compiling dominates).
override FIXED_HD4: u32 = 0u;
override TR: u32 = 2u;
override BQ: u32 = 8u;
const LANES: u32 = 64u;
override BKC: u32 = 8u * TR;

// #include attention_backward_inputs
@group(0) @binding(6) var<storage, read_write> dk: array<vec4<f32>>;
@group(0) @binding(7) var<storage, read_write> dv: array<vec4<f32>>;
@group(0) @binding(8) var<uniform> p: Params;

var<workgroup> Ks: array<vec4<f32>, 256>;
var<workgroup> Vs: array<vec4<f32>, 256>;
var<workgroup> Qs: array<vec4<f32>, 128>;
var<workgroup> Gs: array<vec4<f32>, 128>;
var<workgroup> Ps: array<f32, 128>;
var<workgroup> Ss: array<f32, 128>;
var<workgroup> Lq: array<f32, 8>;
var<workgroup> Dq: array<f32, 8>;

// #include attention.pattern

@compute @workgroup_size(LANES)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
  let HD4 = select(p.hd / 4u, FIXED_HD4, FIXED_HD4 != 0u);
  let c = wg.y;
  let R = p.H / p.KV;
  let j0 = wg.x * BKC;
  let j1 = min(j0 + BKC, p.Tk) - 1u;
  for (var e = lane; e < BKC * HD4; e += LANES) {
    let j = j0 + e / HD4;
    var x = vec4<f32>(0.0);
    var y = vec4<f32>(0.0);
    if (j < p.Tk) {
      x = k[(j * p.KV + c) * HD4 + e % HD4];
      y = v[(j * p.KV + c) * HD4 + e % HD4];
    }
    Ks[e] = x;
    Vs[e] = y;
  }
  var dka: array<vec4<f32>, 8>;  // [TR][4]: keys kg·TR + a, head vec4s dg + 8e
  var dva: array<vec4<f32>, 8>;
  for (var x = 0u; x < 8u; x++) {
    dka[x] = vec4<f32>(0.0);
    dva[x] = vec4<f32>(0.0);
  }
  let kg = lane / 8u;
  let cg = lane % 8u;

  for (var h = c * R; h < c * R + R; h++) {
    // Queries that see the block's keys: [lo, hi) plus, for s2roll's tail keys, the head [0, hi2).
    var run = vec3<u32>(0u, p.Tq, 0u);
    if (p.skip != 0u) { run = queryRuns(j0, j1, h); }
    let lo = run.x;
    let hi = run.y;
    let hi2 = run.z;
    let n1 = select(0u, (hi - lo + BQ - 1u) / BQ, hi > lo);
    let steps = n1 + (hi2 + BQ - 1u) / BQ;
    for (var t = 0u; t < steps; t++) {
      let second = t >= n1;
      let ib = select(lo + t * BQ, (t - n1) * BQ, second);
      let n = min(BQ, select(hi, hi2, second) - ib);
      let a0 = ib + p.qBase;
      let a1 = ib + n - 1u + p.qBase;
      let b0 = j0 + p.kBase;
      let b1 = j1 + p.kBase;
      let whole = p.skip != 0u && gVisible(a0, b1, h) && sameGroup(a0, a1, h) &&
        sameGroup(b0, b1, h);
      workgroupBarrier();
      for (var e = lane; e < BQ * HD4; e += LANES) {
        let ii = e / HD4;
        var x = vec4<f32>(0.0);
        var g = vec4<f32>(0.0);
        if (ii < n) {
          let at = ((ib + ii) * p.H + h) * HD4 + e % HD4;
          x = q[at];
          g = dO[at];
        }
        Qs[e] = x;
        Gs[e] = g;
      }
      if (lane < n) {
        Lq[lane] = lse[rowStat(h, ib + lane)];
        Dq[lane] = D[rowStat(h, ib + lane)];
      }
      workgroupBarrier();
      if (cg < BQ) {
        var sv: array<f32, 2>;
        var dp: array<f32, 2>;
        for (var a = 0u; a < 2u; a++) {
          sv[a] = 0.0;
          dp[a] = 0.0;
        }
        for (var d = 0u; d < HD4; d++) {
          let qd = Qs[cg * HD4 + d];
          let gd = Gs[cg * HD4 + d];
          for (var a = 0u; a < TR; a++) {
            sv[a] += dot(qd, Ks[(kg * TR + a) * HD4 + d]);
            dp[a] += dot(gd, Vs[(kg * TR + a) * HD4 + d]);
          }
        }
        for (var a = 0u; a < TR; a++) {
          let jj = kg * TR + a;
          var ok = cg < n && j0 + jj < p.Tk;
          if (ok && !whole) { ok = visible(ib + cg, j0 + jj, h); }
          var pij = 0.0;
          var ds = 0.0;
          if (ok) {
            pij = exp(sv[a] * p.scale - Lq[cg]);
            ds = pij * (dp[a] - Dq[cg]);
          }
          Ps[jj * BQ + cg] = pij;
          Ss[jj * BQ + cg] = ds;
        }
      }
      workgroupBarrier();
      for (var a = 0u; a < TR; a++) {
        let jj = kg * TR + a;
        for (var ii = 0u; ii < n; ii++) {
          let pij = Ps[jj * BQ + ii];
          let ds = Ss[jj * BQ + ii];
          for (var e = 0u; e < 4u; e++) {
            let d = cg + 8u * e;
            if (d < HD4) {
              dva[a * 4u + e] += pij * Gs[ii * HD4 + d];
              dka[a * 4u + e] += ds * Qs[ii * HD4 + d];
            }
          }
        }
      }
    }
  }
  for (var a = 0u; a < TR; a++) {
    let j = j0 + kg * TR + a;
    if (j < p.Tk) {
      for (var e = 0u; e < 4u; e++) {
        let d = cg + 8u * e;
        if (d < HD4) {
          let at = (j * p.KV + c) * HD4 + d;
          dk[at] = prior4(dk[at]) + dka[a * 4u + e] * p.scale;
          dv[at] = prior4(dv[at]) + dva[a * 4u + e];
        }
      }
    }
  }
}
