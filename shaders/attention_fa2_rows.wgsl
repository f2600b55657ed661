// The row block and key tiles of the fa2 forward and dq kernels (attention.forward_fa2,
// attention.backward_dq_fa2 and their subgroup forms _fa2_sg), included after attention.pattern
// and after the includer's FIXED_HD4, FIXED_RH, BR (rows per workgroup), BK (keys per tile) and its
// bindings k and v. Not a kernel of its own.
// A workgroup holds BR rows, each a (query, head) pair: row r is head slot r / BQH and query
// r % BQH of the block, the slots being RH of the R = H / KV query heads of kv head c (at most 8,
// in ceil(R / 8) equal chunks: rhOf, as fa2Tiles in attention.ts), so every staged K/V tile serves
// all of them (GQA). The rows see at most two runs of keys (the union of their heads' runs; the
// second is s2roll's wrapped tail), walked BK keys at a time.

fn rhOf(R: u32) -> u32 {
  let chunks = (R + 7u) / 8u;
  return (R + chunks - 1u) / chunks;
}

struct RowBlock {
  HD4: u32,  // head size / 4
  c: u32,  // kv head
  h0: u32,  // head of slot 0
  nh: u32,  // live head slots
  BQH: u32,  // queries per head slot
  i0: u32,  // first and last query (local)
  i1: u32,
}

fn rowBlock(wg: vec3<u32>) -> RowBlock {
  let HD4 = select(p.hd / 4u, FIXED_HD4, FIXED_HD4 != 0u);
  let R = p.H / p.KV;
  let RH = select(rhOf(R), FIXED_RH, FIXED_RH != 0u);
  let BQH = BR / RH;
  let chunks = (R + RH - 1u) / RH;
  let c = wg.y / chunks;
  let h0 = c * R + (wg.y % chunks) * RH;
  let i0 = wg.x * BQH;
  return RowBlock(HD4, c, h0, min(RH, c * R + R - h0), BQH, i0, min(i0 + BQH, p.Tq) - 1u);
}

// Row r's head and (local) query; live when both exist.
fn rowHead(b: RowBlock, r: u32) -> u32 { return b.h0 + r / b.BQH; }
fn rowQuery(b: RowBlock, r: u32) -> u32 { return b.i0 + r % b.BQH; }
fn rowLive(b: RowBlock, r: u32) -> bool { return r / b.BQH < b.nh && rowQuery(b, r) < p.Tq; }
// Index of row r's first vec4 in q, o, dO and dq ([Tq, H, hd]).
fn rowAt(b: RowBlock, r: u32) -> u32 { return (rowQuery(b, r) * p.H + rowHead(b, r)) * b.HD4; }

// The key runs of a block: [lo, hi) in n1 tiles, then [lo2, Tk); steps tiles in all.
struct KeySteps {
  lo: u32,
  hi: u32,
  lo2: u32,
  n1: u32,
  steps: u32,
}

fn keySteps(b: RowBlock) -> KeySteps {
  var lo = 0u;
  var hi = p.Tk;
  var lo2 = p.Tk;
  if (p.skip != 0u) {
    lo = p.Tk;
    hi = 0u;
    for (var s = 0u; s < b.nh; s++) {
      let run = keyRuns(b.i0, b.i1, b.h0 + s);
      if (run.y > run.x) {
        lo = min(lo, run.x);
        hi = max(hi, run.y);
      }
      lo2 = min(lo2, run.z);
    }
  }
  let n1 = select(0u, (hi - lo + BK - 1u) / BK, hi > lo);
  return KeySteps(lo, hi, lo2, n1, n1 + (p.Tk - lo2 + BK - 1u) / BK);
}

// Tile t: keys kb … kb + n − 1 (local); whole when every row sees every one of them, so no
// per-element mask is needed (the first query sees the last key, and the queries and the keys each
// lie in one group: then the corners decide).
struct KeyTile {
  kb: u32,
  n: u32,
  whole: bool,
}

fn keyTile(b: RowBlock, s: KeySteps, t: u32) -> KeyTile {
  let second = t >= s.n1;
  let kb = select(s.lo + t * BK, s.lo2 + (t - s.n1) * BK, second);
  let n = min(BK, select(s.hi, p.Tk, second) - kb);
  var whole = p.skip != 0u;
  let a = b.i0 + p.qBase;
  let z = b.i1 + p.qBase;
  let j0 = kb + p.kBase;
  let j1 = kb + n - 1u + p.kBase;
  for (var slot = 0u; slot < b.nh; slot++) {
    let h = b.h0 + slot;
    whole = whole && gVisible(a, j1, h) && sameGroup(a, z, h) && sameGroup(j0, j1, h);
  }
  return KeyTile(kb, n, whole);
}

// Element e of the tile's staged K (kTile) or V (vTile), [BK, HD4] row-major: key kb + e / HD4 of
// kv head c, vec4 e % HD4; zero past the tile's n keys.
fn kTile(b: RowBlock, t: KeyTile, e: u32) -> vec4<f32> {
  let jj = e / b.HD4;
  if (jj >= t.n) { return vec4<f32>(0.0); }
  return k[((t.kb + jj) * p.KV + b.c) * b.HD4 + e % b.HD4];
}

fn vTile(b: RowBlock, t: KeyTile, e: u32) -> vec4<f32> {
  let jj = e / b.HD4;
  if (jj >= t.n) { return vec4<f32>(0.0); }
  return v[((t.kb + jj) * p.KV + b.c) * b.HD4 + e % b.HD4];
}
