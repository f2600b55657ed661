// Attention forward, FlashAttention-2 style (GPUs): o = softmax(scale·q·kᵀ, masked by the pattern)·v
// per query head, plus the log-sum-exp of each query row (saved for the backward).
// q, o [Tq, H, hd]; k, v [Tk, KV, hd]; lse [H, Tq]. hd % 4 == 0, hd <= 128 (HD4 = hd / 4).
// Threads: one workgroup of 64 lanes per (block of rows, kv head c, chunk of RH of c's query heads).
// A row is a (query, head) pair: row r is head slot r / BQH and query r % BQH of the block, so the
// RH query heads that share kv head c read each staged key/value tile once (GQA). The block's BR
// rows of q (scaled) stay in workgroup memory; the visible key ranges (the union of the heads' runs,
// at most two intervals) are walked BK keys at a time, each tile staged in workgroup memory:
//   S    lane (rg, kg) = (lane / 8, lane % 8) computes a TR×TK register block of S = Q·Kᵀ (rows
//        rg·TR.., keys kg + 8b), masks it only when the tile is not wholly visible to every row,
//        and writes it to Ps;
//   V    all lanes stage V over K's tile; meanwhile lane r < BR runs row r's online softmax on Ps
//        (running max m and sum l in its registers), leaving P in Ps and the rescale factor in Al;
//   O    lane (rg, dg) = (lane / 8, lane % 8) rescales and accumulates its TR rows × the head
//        dimensions' vec4s dg, dg + 8, … (registers) from P and V.
// The row block, the key runs and the tiles' staging are attention_fa2_rows.wgsl's (shared with dq).
// Overwrites o and lse (over key blocks: this block's partial, merged by attention.merge; a row that
// sees none of the block's keys gets o = 0 and lse = NEG).
// Workgroup memory: Qs 8 KiB, KVs 4 KiB, Ps 2 KiB, Al 128 B (14.1 KiB of the default 16 KiB) for
// the launcher's two shapes: hd <= 64 TR 4, TK 2 (32 rows, 16 keys); hd <= 128 TR 2, TK 1 (16, 8).

// Head size / 4 (1..32); 0: p.hd / 4 (one pipeline for every head size, where compiling dominates).
override FIXED_HD4: u32 = 0u;
override TR: u32 = 4u;
override TK: u32 = 2u;
// Query heads per workgroup, a chunk of the R = H / KV heads that share a kv head; 0: the most
// that fit 8, in equal chunks (rhOf, as fa2Tiles in attention.ts).
override FIXED_RH: u32 = 0u;
const LANES: u32 = 64u;
override BR: u32 = 8u * TR;
override BK: u32 = 8u * TK;
const NEG: f32 = -3.0e38;

// #include attention_forward_io

var<workgroup> Qs: array<vec4<f32>, 512>;
var<workgroup> KVs: array<vec4<f32>, 256>;
var<workgroup> Ps: array<f32, 512>;
var<workgroup> Al: array<f32, 32>;

// #include attention.pattern

// #include attention_fa2_rows

@compute @workgroup_size(LANES)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
  let b = rowBlock(wg);
  let HD4 = b.HD4;

  // Stage the block's q rows (scaled); dead rows are zero.
  for (var e = lane; e < BR * HD4; e += LANES) {
    let r = e / HD4;
    var x = vec4<f32>(0.0);
    if (rowLive(b, r)) { x = q[rowAt(b, r) + e % HD4] * p.scale; }
    Qs[e] = x;
  }
  let ks = keySteps(b);

  var m = NEG;  // lane r < BR: row r's running max and sum
  var l = 0.0;
  var acc: array<vec4<f32>, 16>;  // [TR][4]: rows rg·TR + a, head vec4s dg + 8e
  for (var x = 0u; x < 16u; x++) { acc[x] = vec4<f32>(0.0); }
  let rg = lane / 8u;
  let cg = lane % 8u;

  for (var t = 0u; t < ks.steps; t++) {
    let tile = keyTile(b, ks, t);
    let n = tile.n;
    workgroupBarrier();
    for (var e = lane; e < BK * HD4; e += LANES) { KVs[e] = kTile(b, tile, e); }
    workgroupBarrier();
    // S: rows rg·TR + a, keys cg + 8j.
    var sv: array<f32, 8>;
    for (var x = 0u; x < 8u; x++) { sv[x] = 0.0; }
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
        Ps[r * BK + jj] = select(NEG, sv[a * TK + j], ok);
      }
    }
    workgroupBarrier();
    for (var e = lane; e < BK * HD4; e += LANES) { KVs[e] = vTile(b, tile, e); }
    if (lane < BR) {
      var mx = NEG;
      for (var jj = 0u; jj < n; jj++) { mx = max(mx, Ps[lane * BK + jj]); }
      let mNew = max(m, mx);
      let alpha = exp(m - mNew);
      var sum = 0.0;
      for (var jj = 0u; jj < n; jj++) {
        let s = Ps[lane * BK + jj];
        let pj = select(exp(s - mNew), 0.0, s <= NEG);
        Ps[lane * BK + jj] = pj;
        sum += pj;
      }
      l = l * alpha + sum;
      m = mNew;
      Al[lane] = alpha;
    }
    workgroupBarrier();
    // O: rows rg·TR + a, head vec4s cg + 8e.
    for (var a = 0u; a < TR; a++) {
      let r = rg * TR + a;
      let alpha = Al[r];
      for (var e = 0u; e < 4u; e++) { acc[a * 4u + e] *= alpha; }
      for (var jj = 0u; jj < n; jj++) {
        let pj = Ps[r * BK + jj];
        for (var e = 0u; e < 4u; e++) {
          let d = cg + 8u * e;
          if (d < HD4) { acc[a * 4u + e] += pj * KVs[jj * HD4 + d]; }
        }
      }
    }
  }
  workgroupBarrier();
  if (lane < BR) { Al[lane] = l; }
  workgroupBarrier();
  for (var a = 0u; a < TR; a++) {
    let r = rg * TR + a;
    if (rowLive(b, r)) {
      let rl = Al[r];
      let il = select(0.0, 1.0 / rl, rl > 0.0);
      for (var e = 0u; e < 4u; e++) {
        let d = cg + 8u * e;
        if (d < HD4) { o[rowAt(b, r) + d] = acc[a * 4u + e] * il; }
      }
    }
  }
  if (lane < BR && rowLive(b, lane)) {
    lse[rowStat(rowHead(b, lane), rowQuery(b, lane))] = select(NEG, m + log(l), l > 0.0);
  }
}
