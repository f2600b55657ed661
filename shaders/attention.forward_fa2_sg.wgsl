// Attention forward, fa2 with quad operations (adapters with subgroups): what
// attention.forward_fa2.wgsl computes, o = softmax(scale·q·kᵀ, masked by the pattern)·v per query
// head and the log-sum-exp of each query row, with the softmax and P kept in registers.
// q, o [Tq, H, hd]; k, v [Tk, KV, hd]; lse [H, Tq]. hd % 4 == 0, hd <= 128 (HD4 = hd / 4).
// Threads: one workgroup of 64 lanes (16 quads) per (block of BR rows, kv head, chunk of its query
// heads), rows and key tiles as fa2 (attention_fa2_rows.wgsl). Quad g (its slot, attention_quads)
// owns rows g·TR … g·TR + TR − 1; lane s of the quad holds their scaled q's head vec4s s, s + 4, …
// and their output accumulators for the same vec4s (registers). Per tile of BK keys, K and V are
// staged once (two barriers a tile, fa2 has four):
//   S    lane s computes its rows × keys s, s + 4, … (TK of them): each q vec4 comes from the lane
//        that holds it by quad broadcast, K from workgroup memory; masked only where the tile is
//        not wholly visible;
//   P    the rows' running max and sum (online softmax) by quadMax and quadSum: no workgroup
//        memory, no barrier; every lane of the quad keeps the same m and l;
//   O    lane s accumulates its vec4s of the rows from P (each key's P broadcast from the lane that
//        computed it) and V.
// Overwrites o and lse (over key blocks: this block's partial, merged by attention.merge; a row that
// sees none of the block's keys gets o = 0 and lse = NEG).
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
const NEG: f32 = -3.0e38;

// #include attention_forward_io

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

  var qr: array<vec4<f32>, 8>;  // [TR][EQ]: rows g·TR + a, head vec4s s0 + 4e (q scaled)
  var acc: array<vec4<f32>, 8>;
  var m: array<f32, 2>;  // rows' running max and sum
  var l: array<f32, 2>;
  for (var a = 0u; a < TR; a++) {
    let r = g * TR + a;
    m[a] = NEG;
    l[a] = 0.0;
    for (var e = 0u; e < EQ; e++) {
      let d = s0 + 4u * e;
      var x = vec4<f32>(0.0);
      if (rowLive(b, r) && d < HD4) { x = q[rowAt(b, r) + d] * p.scale; }
      qr[a * EQ + e] = x;
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
    // S: rows g·TR + a, keys s0 + 4j; head vec4 d = 4e + s of q from quad lane s.
    var sv: array<f32, 8>;  // [TR][TK]
    for (var x = 0u; x < 8u; x++) { sv[x] = 0.0; }
    for (var e = 0u; e < EQ; e++) {
      for (var a = 0u; a < TR; a++) {
        let q4 = quadAll(qr[a * EQ + e]);
        for (var s = 0u; s < 4u; s++) {
          let d = 4u * e + s;
          if (d < HD4) {
            for (var j = 0u; j < TK; j++) {
              sv[a * TK + j] += dot(q4[s], Ks[(s0 + 4u * j) * HD4 + d]);
            }
          }
        }
      }
    }
    // P: the online softmax of each row over the quad's keys.
    var alpha: array<f32, 2>;
    for (var a = 0u; a < TR; a++) {
      let r = g * TR + a;
      let live = rowLive(b, r);
      var mx = NEG;
      for (var j = 0u; j < TK; j++) {
        let jj = s0 + 4u * j;
        var ok = live && jj < n;
        if (ok && !tile.whole) { ok = visible(rowQuery(b, r), tile.kb + jj, rowHead(b, r)); }
        sv[a * TK + j] = select(NEG, sv[a * TK + j], ok);
        mx = max(mx, sv[a * TK + j]);
      }
      let mNew = max(m[a], quadMax(mx));
      alpha[a] = exp(m[a] - mNew);
      var sum = 0.0;
      for (var j = 0u; j < TK; j++) {
        let x = sv[a * TK + j];
        let pj = select(exp(x - mNew), 0.0, x <= NEG);
        sv[a * TK + j] = pj;
        sum += pj;
      }
      l[a] = l[a] * alpha[a] + quadSum(sum);
      m[a] = mNew;
    }
    // O: rows g·TR + a, head vec4s s0 + 4e; key 4j + s's P from quad lane s.
    for (var a = 0u; a < TR; a++) {
      for (var e = 0u; e < EQ; e++) { acc[a * EQ + e] *= alpha[a]; }
      for (var j = 0u; j < TK; j++) {
        let p4 = quadAlls(sv[a * TK + j]);
        for (var s = 0u; s < 4u; s++) {
          let jj = 4u * j + s;
          if (jj < n) {
            for (var e = 0u; e < EQ; e++) {
              let d = s0 + 4u * e;
              if (d < HD4) { acc[a * EQ + e] += p4[s] * Vs[jj * HD4 + d]; }
            }
          }
        }
      }
    }
  }
  for (var a = 0u; a < TR; a++) {
    let r = g * TR + a;
    if (rowLive(b, r)) {
      let il = select(0.0, 1.0 / l[a], l[a] > 0.0);
      for (var e = 0u; e < EQ; e++) {
        let d = s0 + 4u * e;
        if (d < HD4) { o[rowAt(b, r) + d] = acc[a * EQ + e] * il; }
      }
      if (s0 == 0u) {
        lse[rowStat(rowHead(b, r), rowQuery(b, r))] = select(NEG, m[a] + log(l[a]), l[a] > 0.0);
      }
    }
  }
}
