// Attention backward, dk/dv part, fa2 with quad operations (adapters with subgroups): what
// attention.backward_dkdv_fa2.wgsl computes, for key j of kv head c summed over the query heads h
// that share it and the queries i that see j,
//   dv_j = Σ P_ij dO_i,   dk_j = scale · Σ dS_ij q_i,
// P_ij = exp(scale·q_i·k_j − lse_i), dS_ij = P_ij (dO_i·v_j − D_i), with P and dS kept in registers.
// Shapes as attention.forward_fa2.wgsl; hd % 4 == 0, hd <= 128.
// Threads: one workgroup of 64 lanes (16 quads) per (block of BKC keys, kv head c). Quad g (its
// slot, attention_quads) owns keys g·TR … g·TR + TR − 1; lane s of the quad holds their k and v, and
// their dk and dv accumulators, for head vec4s s, s + 4, … (registers: k and v are read once for
// all R = H / KV query heads, GQA). For each query head in turn the workgroup walks the query runs
// that see its keys (at most two) BQ queries at a time, staging q, dO, lse and D (two barriers a
// tile, fa2 has three):
//   P    lane s computes its keys × queries s, s + 4, … (TQ of them) of S = q·k and dP = dO·v, k and
//        v vec4s from the lanes that hold them by quad broadcast, then P and dS (masked only where
//        the tile is not wholly visible), in registers;
//   acc  lane s accumulates dv += P·dO and dk += dS·q for its vec4s (each query's P and dS broadcast
//        from the lane that has them).
// dk and dv are OVERWRITTEN (=), or ACCUMULATED (+=) with p.acc (query blocks after a key block's
// first); the sums over heads and queries run in a fixed order (deterministic, no atomics).
// Workgroup memory: Qs, Gs 4 KiB each, Ls, Ds 64 B (8.1 KiB) for the launcher's two shapes:
// hd <= 64 TR 2, TQ 4 (32 keys, 16 queries); hd <= 128 TR 1, TQ 2 (16 keys, 8 queries).
enable subgroups;

// Head size / 4 (1..32); 0: p.hd / 4 (one pipeline for every head size, where compiling dominates).
override FIXED_HD4: u32 = 0u;
override TR: u32 = 2u;
override TQ: u32 = 4u;
const LANES: u32 = 64u;
override BKC: u32 = 16u * TR;
override BQ: u32 = 4u * TQ;

// #include attention_backward_inputs
@group(0) @binding(6) var<storage, read_write> dk: array<vec4<f32>>;
@group(0) @binding(7) var<storage, read_write> dv: array<vec4<f32>>;
@group(0) @binding(8) var<uniform> p: Params;

var<workgroup> Qs: array<vec4<f32>, 256>;
var<workgroup> Gs: array<vec4<f32>, 256>;
var<workgroup> Ls: array<f32, 16>;
var<workgroup> Ds: array<f32, 16>;

// #include attention.pattern

// #include quad_lanes

// #include attention_quads

@compute @workgroup_size(LANES)
fn main(
  @builtin(workgroup_id) wg: vec3<u32>,
  @builtin(local_invocation_index) lane: u32,
  @builtin(subgroup_invocation_id) sgLane: u32,
) {
  let HD4 = select(p.hd / 4u, FIXED_HD4, FIXED_HD4 != 0u);
  let EQ = (HD4 + 3u) / 4u;  // head vec4s per lane
  let c = wg.y;
  let R = p.H / p.KV;
  let j0 = wg.x * BKC;
  let j1 = min(j0 + BKC, p.Tk) - 1u;
  let g = quadSlot(sgLane);
  let s0 = sgLane % 4u;

  var kr: array<vec4<f32>, 8>;  // [TR][EQ]: keys g·TR + a, head vec4s s0 + 4e
  var vr: array<vec4<f32>, 8>;
  var dka: array<vec4<f32>, 8>;
  var dva: array<vec4<f32>, 8>;
  for (var a = 0u; a < TR; a++) {
    let j = j0 + g * TR + a;
    for (var e = 0u; e < EQ; e++) {
      let d = s0 + 4u * e;
      var x = vec4<f32>(0.0);
      var y = vec4<f32>(0.0);
      if (j < p.Tk && d < HD4) {
        x = k[(j * p.KV + c) * HD4 + d];
        y = v[(j * p.KV + c) * HD4 + d];
      }
      kr[a * EQ + e] = x;
      vr[a * EQ + e] = y;
      dka[a * EQ + e] = vec4<f32>(0.0);
      dva[a * EQ + e] = vec4<f32>(0.0);
    }
  }

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
        var y = vec4<f32>(0.0);
        if (ii < n) {
          let at = ((ib + ii) * p.H + h) * HD4 + e % HD4;
          x = q[at];
          y = dO[at];
        }
        Qs[e] = x;
        Gs[e] = y;
      }
      if (lane < n) {
        Ls[lane] = lse[rowStat(h, ib + lane)];
        Ds[lane] = D[rowStat(h, ib + lane)];
      }
      workgroupBarrier();
      // S and dP: keys g·TR + a, queries s0 + 4i; head vec4 d = 4e + s of k and v from quad lane s.
      var sv: array<f32, 8>;  // [TR][TQ]
      var dp: array<f32, 8>;
      for (var x = 0u; x < 8u; x++) {
        sv[x] = 0.0;
        dp[x] = 0.0;
      }
      for (var e = 0u; e < EQ; e++) {
        for (var a = 0u; a < TR; a++) {
          let k4 = quadAll(kr[a * EQ + e]);
          let v4 = quadAll(vr[a * EQ + e]);
          for (var s = 0u; s < 4u; s++) {
            let d = 4u * e + s;
            if (d < HD4) {
              for (var i = 0u; i < TQ; i++) {
                let at = (s0 + 4u * i) * HD4 + d;
                sv[a * TQ + i] += dot(Qs[at], k4[s]);
                dp[a * TQ + i] += dot(Gs[at], v4[s]);
              }
            }
          }
        }
      }
      // P into sv, dS into dp.
      for (var a = 0u; a < TR; a++) {
        let jj = g * TR + a;
        for (var i = 0u; i < TQ; i++) {
          let ii = s0 + 4u * i;
          var ok = ii < n && j0 + jj < p.Tk;
          if (ok && !whole) { ok = visible(ib + ii, j0 + jj, h); }
          var pij = 0.0;
          var ds = 0.0;
          if (ok) {
            pij = exp(sv[a * TQ + i] * p.scale - Ls[ii]);
            ds = pij * (dp[a * TQ + i] - Ds[ii]);
          }
          sv[a * TQ + i] = pij;
          dp[a * TQ + i] = ds;
        }
      }
      // dk, dv: keys g·TR + a, head vec4s s0 + 4e; query 4i + s's P and dS from quad lane s.
      for (var a = 0u; a < TR; a++) {
        for (var i = 0u; i < TQ; i++) {
          let p4 = quadAlls(sv[a * TQ + i]);
          let ds4 = quadAlls(dp[a * TQ + i]);
          for (var s = 0u; s < 4u; s++) {
            let ii = 4u * i + s;
            if (ii < n) {
              for (var e = 0u; e < EQ; e++) {
                let d = s0 + 4u * e;
                if (d < HD4) {
                  dva[a * EQ + e] += p4[s] * Gs[ii * HD4 + d];
                  dka[a * EQ + e] += ds4[s] * Qs[ii * HD4 + d];
                }
              }
            }
          }
        }
      }
    }
  }
  for (var a = 0u; a < TR; a++) {
    let j = j0 + g * TR + a;
    if (j < p.Tk) {
      for (var e = 0u; e < EQ; e++) {
        let d = s0 + 4u * e;
        if (d < HD4) {
          let at = (j * p.KV + c) * HD4 + d;
          dk[at] = prior4(dk[at]) + dka[a * EQ + e] * p.scale;
          dv[at] = prior4(dv[at]) + dva[a * EQ + e];
        }
      }
    }
  }
}
