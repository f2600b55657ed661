// The subgroup-matrix attention forward body, included by attention.forward_sgmatrix.wgsl (WGSL's
// subgroup matrices: Dawn/Chrome's chromium_experimental_subgroup_matrix; never compiled where it
// was written) and attention.forward_sgmatrix_emu.wgsl (each matrix held whole by one invocation,
// plain WGSL). They declare before the include:
//   const SM_M, SM_N, SM_K: u32     the configuration (left SM_M×SM_K · right SM_K×SM_N), each
//                                   dividing 16
//   alias SmT                       the operands' type in workgroup memory (f32)
//   SmLeft, SmRight, SmAcc          the matrix types (f32 results)
//   fn smZero() -> SmAcc; smLoadQ / smLoadP(off, stride) -> SmLeft (from Qs / Ps);
//      smLoadKV(off, stride) -> SmRight (from KVs); smLoadO(off, stride) -> SmAcc (from Os);
//      smMma(l, r, acc) -> l·r + acc; smStoreS / smStoreO(off, stride, acc) (into Ss / Os);
//      all row-major, offsets and strides in elements
//   fn leads(lid: u32) -> bool      whether this invocation's subgroup is the one that multiplies
// Computes what attention.forward_fa2 does: o = softmax(scale·q·kᵀ, masked by the pattern)·v per
// query head and lse [H, Tq]; q, o [Tq, H, hd]; k, v [Tk, KV, hd]; hd % 4 == 0, hd <= 64.
// Threads: a workgroup of SG_LANES invocations (the adapter's largest subgroup size, which subgroup
// matrices require of workgroup_size.x) holds BR = 16 rows, each a (query, head) pair of RH query
// heads sharing kv head c (attention_fa2_rows.wgsl: the row block, the key runs, the tiles). The
// head dimension is padded with zeros to HDP, a multiple of 16. All lanes stage the rows of q
// (scaled) in Qs [BR, HDP] and zero the output block Os [BR, HDP] (f32, workgroup memory: subgroup
// matrices cannot rescale single rows, so O lives there). Per tile of BK = 16 keys:
//   S    all lanes stage K transposed in KVs [HDP, BK]; the subgroup holding invocation 0 forms each
//        SM_M × SM_N block of S = Q·Kᵀ over HDP / SM_K steps and stores it in Ss [BR, BK];
//   P    all lanes stage V in KVs [BK, HDP]; meanwhile lanes take rows r (stride SG_LANES): mask S's
//        row (only where the tile is not wholly visible), run the online softmax (running max and
//        sum in Ml, Ll), write P to Ps [BR, BK] and the rescale factor to Al;
//   O    all lanes scale Os's rows by Al; the leading subgroup loads each SM_M × SM_N block of Os
//        as an accumulator, adds P·V over BK / SM_K steps and stores it back.
// At the end every lane writes o = Os / l for live rows and lse = m + log(l).
// Overwrites o and lse (over key blocks: this block's partial, merged by attention.merge; a row that
// sees none of the block's keys gets o = 0 and lse = NEG).
// Workgroup memory (f32): Qs, KVs, Os 4 KiB each, Ss and Ps 1 KiB each, Al, Ml, Ll 192 B:
// 14.2 KiB of the default 16 KiB.

// Head size / 4 (1..16); 0: p.hd / 4 (one pipeline for every head size, where compiling dominates).
override FIXED_HD4: u32 = 0u;
// Query heads per workgroup; 0: rhOf(H / KV), as fa2.
override FIXED_RH: u32 = 0u;
override SG_LANES: u32 = 32u;
const BR: u32 = 16u;
const BK: u32 = 16u;
const MAX_HDP: u32 = 64u;
const NEG: f32 = -3.0e38;

@group(0) @binding(0) var<storage, read> q: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> k: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> v: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> o: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> lse: array<f32>;
@group(0) @binding(5) var<uniform> p: Params;

var<workgroup> Qs: array<SmT, BR * MAX_HDP>;   // [BR][HDP]
var<workgroup> KVs: array<SmT, BK * MAX_HDP>;  // K as [HDP][BK], then V as [BK][HDP]
var<workgroup> Os: array<f32, BR * MAX_HDP>;   // [BR][HDP]
var<workgroup> Ss: array<f32, BR * BK>;        // [BR][BK]
var<workgroup> Ps: array<SmT, BR * BK>;        // [BR][BK]
var<workgroup> Al: array<f32, BR>;
var<workgroup> Ml: array<f32, BR>;
var<workgroup> Ll: array<f32, BR>;

// #include attention.pattern

// #include attention_fa2_rows

@compute @workgroup_size(SG_LANES)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
  let b = rowBlock(wg);
  let HD4 = b.HD4;
  let HDP = (HD4 * 4u + 15u) / 16u * 16u;
  let HDP4 = HDP / 4u;
  let lead = leads(lane);

  // q's rows (scaled) and zeros past hd or for dead rows; O starts at zero.
  for (var e = lane; e < BR * HDP4; e += SG_LANES) {
    let r = e / HDP4;
    let d4 = e % HDP4;
    var x = vec4<f32>(0.0);
    if (rowLive(b, r) && d4 < HD4) { x = q[rowAt(b, r) + d4] * p.scale; }
    for (var c = 0u; c < 4u; c++) {
      Qs[r * HDP + 4u * d4 + c] = SmT(x[c]);
      Os[r * HDP + 4u * d4 + c] = 0.0;
    }
  }
  for (var r = lane; r < BR; r += SG_LANES) {
    Ml[r] = NEG;
    Ll[r] = 0.0;
  }
  let ks = keySteps(b);

  for (var t = 0u; t < ks.steps; t++) {
    let tile = keyTile(b, ks, t);
    let n = tile.n;
    workgroupBarrier();
    // K transposed: KVs[d][jj].
    for (var e = lane; e < BK * HDP4; e += SG_LANES) {
      let jj = e / HDP4;
      let d4 = e % HDP4;
      var x = vec4<f32>(0.0);
      if (d4 < HD4) { x = kTile(b, tile, jj * HD4 + d4); }
      for (var c = 0u; c < 4u; c++) { KVs[(4u * d4 + c) * BK + jj] = SmT(x[c]); }
    }
    workgroupBarrier();
    if (lead) {
      for (var i = 0u; i < BR; i += SM_M) {
        for (var j = 0u; j < BK; j += SM_N) {
          var s = smZero();
          for (var kk = 0u; kk < HDP; kk += SM_K) {
            s = smMma(smLoadQ(i * HDP + kk, HDP), smLoadKV(kk * BK + j, BK), s);
          }
          smStoreS(i * BK + j, BK, s);
        }
      }
    }
    workgroupBarrier();
    // V: KVs[jj][d].
    for (var e = lane; e < BK * HDP4; e += SG_LANES) {
      let jj = e / HDP4;
      let d4 = e % HDP4;
      var x = vec4<f32>(0.0);
      if (d4 < HD4) { x = vTile(b, tile, jj * HD4 + d4); }
      for (var c = 0u; c < 4u; c++) { KVs[jj * HDP + 4u * d4 + c] = SmT(x[c]); }
    }
    for (var r = lane; r < BR; r += SG_LANES) {
      let live = rowLive(b, r);
      var mx = NEG;
      for (var jj = 0u; jj < BK; jj++) {
        var ok = live && jj < n;
        if (ok && !tile.whole) { ok = visible(rowQuery(b, r), tile.kb + jj, rowHead(b, r)); }
        let s = select(NEG, Ss[r * BK + jj], ok);
        Ss[r * BK + jj] = s;
        mx = max(mx, s);
      }
      let m = Ml[r];
      let mNew = max(m, mx);
      let alpha = exp(m - mNew);
      var sum = 0.0;
      for (var jj = 0u; jj < BK; jj++) {
        let s = Ss[r * BK + jj];
        let pj = select(exp(s - mNew), 0.0, s <= NEG);
        Ps[r * BK + jj] = SmT(pj);
        sum += pj;
      }
      Ll[r] = Ll[r] * alpha + sum;
      Ml[r] = mNew;
      Al[r] = alpha;
    }
    workgroupBarrier();
    for (var e = lane; e < BR * HDP; e += SG_LANES) { Os[e] *= Al[e / HDP]; }
    workgroupBarrier();
    if (lead) {
      for (var i = 0u; i < BR; i += SM_M) {
        for (var j = 0u; j < HDP; j += SM_N) {
          var acc = smLoadO(i * HDP + j, HDP);
          for (var kk = 0u; kk < BK; kk += SM_K) {
            acc = smMma(smLoadP(i * BK + kk, BK), smLoadKV(kk * HDP + j, HDP), acc);
          }
          smStoreO(i * HDP + j, HDP, acc);
        }
      }
    }
  }
  workgroupBarrier();
  for (var e = lane; e < BR * HD4; e += SG_LANES) {
    let r = e / HD4;
    let d4 = e % HD4;
    if (rowLive(b, r)) {
      let rl = Ll[r];
      let il = select(0.0, 1.0 / rl, rl > 0.0);
      let at = r * HDP + 4u * d4;
      o[rowAt(b, r) + d4] = vec4<f32>(Os[at], Os[at + 1u], Os[at + 2u], Os[at + 3u]) * il;
    }
  }
  for (var r = lane; r < BR; r += SG_LANES) {
    if (rowLive(b, r)) {
      let l = Ll[r];
      lse[rowStat(rowHead(b, r), rowQuery(b, r))] = select(NEG, Ml[r] + log(l), l > 0.0);
    }
  }
}
