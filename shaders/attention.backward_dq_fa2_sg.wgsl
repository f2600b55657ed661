// Attention backward, dq part, fa2 with quad operations (adapters with subgroups): what
// attention.backward_dq_fa2.wgsl computes, dq_i = scale · Σ_j dS_ij k_j with P_ij =
// exp(scale·q_i·k_j − lse_i) from the forward's saved lse, dP_ij = dO_i·v_j, dS_ij = P_ij (dP_ij −
// D_i), D_i = dO_i·o_i (attention.backward_prep), with dS kept in registers.
// Shapes as attention.forward_fa2.wgsl; D [H, Tq]; hd % 4 == 0, hd <= 128.
// Threads: as attention.forward_fa2_sg.wgsl, one workgroup of 64 lanes (16 quads) per (block of BR
// rows, kv head, chunk of its query heads), rows and key tiles as fa2 (attention_fa2_rows.wgsl);
// quad g owns rows g·TR …, lane s of it their q, dO and dq accumulators for head vec4s s, s + 4, …
// (registers), and every lane the rows' lse and D. Per tile of BK keys, K and V are staged once (two
// barriers a tile, fa2 has four):
//   S    lane s computes its rows × keys s, s + 4, … of S = Q·Kᵀ and dP = dO·Vᵀ, q and dO vec4s from
//        the lanes that hold them by quad broadcast, then P and dS (masked only where the tile is
//        not wholly visible), in registers;
//   dq   lane s accumulates dS·K for its vec4s (each key's dS broadcast from the lane that has it).
// dq is OVERWRITTEN (=), or ACCUMULATED (+=) with p.acc (key blocks after a query block's first);
// the sum over keys runs in a fixed order (deterministic, no atomics).
// Workgroup memory: Ks, Vs 4 KiB each (8 KiB) for the launcher's two shapes: hd <= 64 TR 2, TK 4
// (32 rows, 16 keys); hd <= 128 TR 1, TK 2 (16 rows, 8 keys).
enable subgroups;

// Head size / 4 (1..32); 0: p.hd / 4 (one pipeline for every head size, where compiling dominates).
override FIXED_HD4: u32 = 0u;
override TR: u32 = 2u;
override TK: u32 = 4u;
// Query heads per workgroup (attention_fa2_rows: rowBlock); 0: the most that fit 8.
override FIXED_RH: u32 = 0u;
const LANES: u32 = 64u;
override BR: u32 = 16u * TR;
override BK: u32 = 4u * TK;

// #include attention_backward_inputs
@group(0) @binding(6) var<storage, read_write> dq: array<vec4<f32>>;
@group(0) @binding(7) var<uniform> p: Params;

var<workgroup> Ks: array<vec4<f32>, 256>;
var<workgroup> Vs: array<vec4<f32>, 256>;

// #include attention.pattern

// #include attention_fa2_rows

// #include quad_lanes

// #include attention_quads

@compute @workgroup_size(LANES)
fn main(
  @builtin(workgroup_id) wg: vec3<u32>,
  @builtin(local_invocation_index) lane: u32,
  @builtin(subgroup_invocation_id) sgLane: u32,
) {
  let b = rowBlock(wg);
  let HD4 = b.HD4;
  let EQ = (HD4 + 3u) / 4u;  // head vec4s per lane
  let g = quadSlot(sgLane);
  let s0 = sgLane % 4u;

  var qr: array<vec4<f32>, 8>;  // [TR][EQ]: rows g·TR + a, head vec4s s0 + 4e
  var gr: array<vec4<f32>, 8>;
  var acc: array<vec4<f32>, 8>;
  var Lr: array<f32, 2>;  // rows' lse and D
  var Dr: array<f32, 2>;
  for (var a = 0u; a < TR; a++) {
    let r = g * TR + a;
    let live = rowLive(b, r);
    Lr[a] = 0.0;
    Dr[a] = 0.0;
    if (live) {
      let at = rowStat(rowHead(b, r), rowQuery(b, r));
      Lr[a] = lse[at];
      Dr[a] = D[at];
    }
    for (var e = 0u; e < EQ; e++) {
      let d = s0 + 4u * e;
      var x = vec4<f32>(0.0);
      var y = vec4<f32>(0.0);
      if (live && d < HD4) {
        x = q[rowAt(b, r) + d];
        y = dO[rowAt(b, r) + d];
      }
      qr[a * EQ + e] = x;
      gr[a * EQ + e] = y;
      acc[a * EQ + e] = vec4<f32>(0.0);
    }
  }
  let ks = keySteps(b);

  for (var t = 0u; t < ks.steps; t++) {
    let tile = keyTile(b, ks, t);
    let n = tile.n;
    workgroupBarrier();
    for (var e = lane; e < BK * HD4; e += LANES) {
      Ks[e] = kTile(b, tile, e);
      Vs[e] = vTile(b, tile, e);
    }
    workgroupBarrier();
    // S and dP: rows g·TR + a, keys s0 + 4j; head vec4 d = 4e + s of q and dO from quad lane s.
    var sv: array<f32, 8>;  // [TR][TK]
    var dp: array<f32, 8>;
    for (var x = 0u; x < 8u; x++) {
      sv[x] = 0.0;
      dp[x] = 0.0;
    }
    for (var e = 0u; e < EQ; e++) {
      for (var a = 0u; a < TR; a++) {
        let q4 = quadAll(qr[a * EQ + e]);
        let g4 = quadAll(gr[a * EQ + e]);
        for (var s = 0u; s < 4u; s++) {
          let d = 4u * e + s;
          if (d < HD4) {
            for (var j = 0u; j < TK; j++) {
              let at = (s0 + 4u * j) * HD4 + d;
              sv[a * TK + j] += dot(q4[s], Ks[at]);
              dp[a * TK + j] += dot(g4[s], Vs[at]);
            }
          }
        }
      }
    }
    // dS into sv.
    for (var a = 0u; a < TR; a++) {
      let r = g * TR + a;
      let live = rowLive(b, r);
      for (var j = 0u; j < TK; j++) {
        let jj = s0 + 4u * j;
        var ok = live && jj < n;
        if (ok && !tile.whole) { ok = visible(rowQuery(b, r), tile.kb + jj, rowHead(b, r)); }
        let pij = exp(sv[a * TK + j] * p.scale - Lr[a]);
        sv[a * TK + j] = select(0.0, pij * (dp[a * TK + j] - Dr[a]), ok);
      }
    }
    // dq: rows g·TR + a, head vec4s s0 + 4e; key 4j + s's dS from quad lane s.
    for (var a = 0u; a < TR; a++) {
      for (var j = 0u; j < TK; j++) {
        let ds4 = quadAlls(sv[a * TK + j]);
        for (var s = 0u; s < 4u; s++) {
          let jj = 4u * j + s;
          if (jj < n) {
            for (var e = 0u; e < EQ; e++) {
              let d = s0 + 4u * e;
              if (d < HD4) { acc[a * EQ + e] += ds4[s] * Ks[jj * HD4 + d]; }
            }
          }
        }
      }
    }
  }
  for (var a = 0u; a < TR; a++) {
    let r = g * TR + a;
    if (rowLive(b, r)) {
      for (var e = 0u; e < EQ; e++) {
        let d = s0 + 4u * e;
        if (d < HD4) {
          let at = rowAt(b, r) + d;
          dq[at] = prior4(dq[at]) + acc[a * EQ + e] * p.scale;
        }
      }
    }
  }
}
