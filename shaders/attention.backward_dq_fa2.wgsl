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
// The row block, the key runs and the tiles' staging are attention_fa2_rows.wgsl's (shared with the
// forward).
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

// #include attention_backward_inputs
@group(0) @binding(6) var<storage, read_write> dq: array<vec4<f32>>;
@group(0) @binding(7) var<uniform> p: Params;

var<workgroup> Qs: array<vec4<f32>, 256>;
var<workgroup> Gs: array<vec4<f32>, 256>;
var<workgroup> KVs: array<vec4<f32>, 256>;
var<workgroup> Ps: array<f32, 256>;
var<workgroup> Lr: array<f32, 16>;
var<workgroup> Dr: array<f32, 16>;

// #include attention.pattern

// #include attention_fa2_rows

@compute @workgroup_size(LANES)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
  let b = rowBlock(wg);
  let HD4 = b.HD4;

  for (var e = lane; e < BR * HD4; e += LANES) {
    let r = e / HD4;
    var x = vec4<f32>(0.0);
    var g = vec4<f32>(0.0);
    if (rowLive(b, r)) {
      let at = rowAt(b, r) + e % HD4;
      x = q[at];
      g = dO[at];
    }
    Qs[e] = x;
    Gs[e] = g;
  }
  if (lane < BR) {
    var a = 0.0;
    var z = 0.0;
    if (rowLive(b, lane)) {
      let at = rowStat(rowHead(b, lane), rowQuery(b, lane));
      a = lse[at];
      z = D[at];
    }
    Lr[lane] = a;
    Dr[lane] = z;
  }
  let ks = keySteps(b);

  var acc: array<vec4<f32>, 8>;  // [TR][4]: rows rg·TR + a, head vec4s dg + 8e
  for (var x = 0u; x < 8u; x++) { acc[x] = vec4<f32>(0.0); }
  let rg = lane / 8u;
  let cg = lane % 8u;

  for (var t = 0u; t < ks.steps; t++) {
    let tile = keyTile(b, ks, t);
    let n = tile.n;
    workgroupBarrier();
    for (var e = lane; e < BK * HD4; e += LANES) { KVs[e] = vTile(b, tile, e); }
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
        for (var j = 0u; j < TK; j++) { dp[a * TK + j] += dot(ga, KVs[(cg + 8u * j) * HD4 + d]); }
      }
    }
    workgroupBarrier();
    for (var e = lane; e < BK * HD4; e += LANES) { KVs[e] = kTile(b, tile, e); }
    workgroupBarrier();
    for (var d = 0u; d < HD4; d++) {
      for (var a = 0u; a < TR; a++) {
        let qa = Qs[(rg * TR + a) * HD4 + d];
        for (var j = 0u; j < TK; j++) { sv[a * TK + j] += dot(qa, KVs[(cg + 8u * j) * HD4 + d]); }
      }
    }
    for (var a = 0u; a < TR; a++) {
      let r = rg * TR + a;
      let live = rowLive(b, r);
      for (var j = 0u; j < TK; j++) {
        let jj = cg + 8u * j;
        var ok = live && jj < n;
        if (ok && !tile.whole) { ok = visible(rowQuery(b, r), tile.kb + jj, rowHead(b, r)); }
        let pij = exp(sv[a * TK + j] * p.scale - Lr[r]);
        Ps[r * BK + jj] = select(0.0, pij * (dp[a * TK + j] - Dr[r]), ok);
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
    if (rowLive(b, r)) {
      for (var e = 0u; e < 4u; e++) {
        let d = cg + 8u * e;
        if (d < HD4) {
          let at = rowAt(b, r) + d;
          dq[at] = prior4(dq[at]) + acc[a * 4u + e] * p.scale;
        }
      }
    }
  }
}
