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

@group(0) @binding(0) var<storage, read> q: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> k: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> v: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> o: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> lse: array<f32>;
@group(0) @binding(5) var<uniform> p: Params;

var<workgroup> Qs: array<vec4<f32>, 512>;
var<workgroup> KVs: array<vec4<f32>, 256>;
var<workgroup> Ps: array<f32, 512>;
var<workgroup> Al: array<f32, 32>;

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
  let h0 = c * R + (wg.y % chunks) * RH;  // head of slot 0
  let nh = min(RH, c * R + R - h0);  // live head slots
  let i0 = wg.x * BQH;
  let i1 = min(i0 + BQH, p.Tq) - 1u;

  // Stage the block's q rows (scaled); dead rows are zero.
  for (var e = lane; e < BR * HD4; e += LANES) {
    let r = e / HD4;
    let i = i0 + r % BQH;
    var x = vec4<f32>(0.0);
    if (r / BQH < nh && i < p.Tq) { x = q[(i * p.H + h0 + r / BQH) * HD4 + e % HD4] * p.scale; }
    Qs[e] = x;
  }

  // Keys the rows can see: [lo, hi) plus, for s2roll's first tokens, the tail [lo2, Tk).
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

  var m = NEG;  // lane r < BR: row r's running max and sum
  var l = 0.0;
  var acc: array<vec4<f32>, 16>;  // [TR][4]: rows rg·TR + a, head vec4s dg + 8e
  for (var x = 0u; x < 16u; x++) { acc[x] = vec4<f32>(0.0); }
  let rg = lane / 8u;
  let cg = lane % 8u;

  for (var t = 0u; t < steps; t++) {
    let second = t >= n1;
    let kb = select(lo + t * BK, lo2 + (t - n1) * BK, second);
    let n = min(BK, select(hi, p.Tk, second) - kb);
    // Wholly visible to every row: no per-element mask (every pattern's groups are contiguous
    // runs, so the corners decide).
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
      if (jj < n) { x = k[((kb + jj) * p.KV + c) * HD4 + e % HD4]; }
      KVs[e] = x;
    }
    workgroupBarrier();
    // S: rows rg·TR + a, keys cg + 8b.
    var sv: array<f32, 8>;
    for (var x = 0u; x < 8u; x++) { sv[x] = 0.0; }
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
        Ps[r * BK + jj] = select(NEG, sv[a * TK + b], ok);
      }
    }
    workgroupBarrier();
    for (var e = lane; e < BK * HD4; e += LANES) {
      let jj = e / HD4;
      var x = vec4<f32>(0.0);
      if (jj < n) { x = v[((kb + jj) * p.KV + c) * HD4 + e % HD4]; }
      KVs[e] = x;
    }
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
    let slot = r / BQH;
    let i = i0 + r % BQH;
    if (slot < nh && i < p.Tq) {
      let rl = Al[r];
      let il = select(0.0, 1.0 / rl, rl > 0.0);
      for (var e = 0u; e < 4u; e++) {
        let d = cg + 8u * e;
        if (d < HD4) { o[(i * p.H + h0 + slot) * HD4 + d] = acc[a * 4u + e] * il; }
      }
    }
  }
  if (lane < BR) {
    let slot = lane / BQH;
    let i = i0 + lane % BQH;
    if (slot < nh && i < p.Tq) { lse[rowStat(h0 + slot, i)] = select(NEG, m + log(l), l > 0.0); }
  }
}
