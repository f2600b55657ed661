// The body of the linear input gradient with a quantized weight whose lanes share their loads of
// A and of the scales across each quad (adapters with subgroups):
//   C[M, N] (+)= alpha · A[M, K] · W[K, N]   (dx = dy·W, W is [out, in], quantized by rows of N)
// Included by matmul.backward_input_<type>_quad.wgsl after `enable subgroups;` and the type's
// decoder (quant_<type>.wgsl). W is in the GPU layout of quant-layout.ts; the launcher guarantees
// N % QB == 0. A (dy) is read from A[m·aStride + aCol + k] (any alignment, any K), C (dx) written
// at C[m·cStride + cCol + n] (quant_store.wgsl).
// Why: per-lane loads dominate on CPU adapters (matmul.quad8.wgsl). A quad's 4 lanes hold 4
// consecutive octs — 32 columns of one sub-block (QSUB 32) or of two (QSUB 16) — and the same rows:
// for each 4 values of k lane j loads A[row, k + j] of the 8 rows and the scales (and the high-bit
// words of the quad's octs) of W's row k + j, and quadBroadcast hands them to the other lanes; each
// lane loads only its own low quant bits.
// Threads: a 1-D workgroup of WG_X lanes shares its 8 rows (8 · workgroup_id.y …); lane i computes
// columns 8i … 8i + 7 (one oct) in sixteen vec4 accumulators: per k it dequantizes its 8 weights
// (q/255·(255·scale) − (QOFF·scale + min), the dequantized values up to an ulp) and adds A[row, k] times them.
// No lane returns early (quad operations need the whole quad); lanes past M, N or K read clamped
// indices (past K with A taken as 0) and store nothing.
// C is overwritten, or accumulated into when p.accum is 1.

override WG_X: u32 = 16u;

// #params Params

@group(0) @binding(0) var<storage, read> A: array<f32>;
@group(0) @binding(1) var<storage, read> W: array<u32>;
@group(0) @binding(2) var<storage, read_write> C: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

// #include quad_lanes
// #include quant_blocks
// #include quant_store

// The 8 rows × 8 columns a lane accumulates: c_r columns 0–3 of row r, e_r columns 4–7.
struct Acc {
  c0: vec4<f32>,
  c1: vec4<f32>,
  c2: vec4<f32>,
  c3: vec4<f32>,
  c4: vec4<f32>,
  c5: vec4<f32>,
  c6: vec4<f32>,
  c7: vec4<f32>,
  e0: vec4<f32>,
  e1: vec4<f32>,
  e2: vec4<f32>,
  e3: vec4<f32>,
  e4: vec4<f32>,
  e5: vec4<f32>,
  e6: vec4<f32>,
  e7: vec4<f32>,
}

// acc += A[rows, k] · W[k, the lane's 8 columns]: a (b) rows 0–3 (4–7) of A at k, s the (scale,
// min) of W's row k at this lane's sub-block, o the word of W's row k's block, u the lane's oct, hq
// the high-bit words of the quad's octs in that row (QHIGH).
fn mac(
  acc: ptr<function, Acc>,
  a: vec4<f32>,
  b: vec4<f32>,
  s: vec2<f32>,
  o: u32,
  u: u32,
  hq: vec2<u32>,
) {
  var r: vec2<u32>;
  if (QHIGH) {
    r = qRawH(o, u, select(hq.x, hq.y, (u & 2u) != 0u));
  } else {
    r = qRaw(o, u);
  }
  let q = Oct(unpack4x8unorm(r.x), unpack4x8unorm(r.y));
  let sc = 255.0 * s.x;
  var lo = q.lo * sc;
  var hi = q.hi * sc;
  if (QMIN || QOFF != 0.0) {
    let mn = vec4<f32>(QOFF * s.x + s.y);
    lo -= mn;
    hi -= mn;
  }
  (*acc).c0 += a.x * lo;
  (*acc).e0 += a.x * hi;
  (*acc).c1 += a.y * lo;
  (*acc).e1 += a.y * hi;
  (*acc).c2 += a.z * lo;
  (*acc).e2 += a.z * hi;
  (*acc).c3 += a.w * lo;
  (*acc).e3 += a.w * hi;
  (*acc).c4 += b.x * lo;
  (*acc).e4 += b.x * hi;
  (*acc).c5 += b.y * lo;
  (*acc).e5 += b.y * hi;
  (*acc).c6 += b.z * lo;
  (*acc).e6 += b.z * hi;
  (*acc).c7 += b.w * lo;
  (*acc).e7 += b.w * hi;
}

// Quad lane T's u32 pair (the high-bit words), as quad_lanes.wgsl's laneT for f32.
fn lane0u(x: vec2<u32>) -> vec2<u32> {
  if (SG4) {
    return subgroupBroadcast(x, 0u);
  }
  return quadBroadcast(x, 0u);
}

fn lane1u(x: vec2<u32>) -> vec2<u32> {
  if (SG4) {
    return subgroupBroadcast(x, 1u);
  }
  return quadBroadcast(x, 1u);
}

fn lane2u(x: vec2<u32>) -> vec2<u32> {
  if (SG4) {
    return subgroupBroadcast(x, 2u);
  }
  return quadBroadcast(x, 2u);
}

fn lane3u(x: vec2<u32>) -> vec2<u32> {
  if (SG4) {
    return subgroupBroadcast(x, 3u);
  }
  return quadBroadcast(x, 3u);
}

// Row m's first element of A (rows past M repeat the last).
fn arow(m: u32) -> u32 {
  return min(m, p.M - 1u) * p.aStride + p.aCol;
}

// This lane's (scale, min) from quad lane T's pair of sub-blocks (j0, j0 + 1 of QSUB 16).
fn pick(sc: vec4<f32>, second: bool) -> vec2<f32> {
  return select(sc.xy, sc.zw, second);
}

@compute @workgroup_size(WG_X)
fn main(
  @builtin(global_invocation_id) gid: vec3<u32>,
  @builtin(workgroup_id) wg: vec3<u32>,
  @builtin(subgroup_invocation_id) sg: u32,
) {
  let m0 = wg.y * 8u;
  let n0 = min(gid.x * 8u, p.N - 8u);
  let jq = sg & 3u; // this lane's place in its quad
  let nb = p.N / QB;
  let blk = n0 / QB;
  let u = (n0 % QB) / 8u;
  let j = (n0 % QB) / QSUB;
  let j0 = ((n0 % QB) & ~31u) / QSUB; // the quad's first sub-block
  let second = j != j0;
  let r0 = arow(m0);
  let r1 = arow(m0 + 1u);
  let r2 = arow(m0 + 2u);
  let r3 = arow(m0 + 3u);
  let r4 = arow(m0 + 4u);
  let r5 = arow(m0 + 5u);
  let r6 = arow(m0 + 6u);
  let r7 = arow(m0 + 7u);
  var acc: Acc;
  let kl = p.K - 1u;
  for (var k = 0u; k < p.K; k += 4u) {
    // Lane jq's share: A at k + jq for the 8 rows, and the scales of W's row k + jq.
    let kj = min(k + jq, kl);
    let live = k + jq < p.K;
    let a = select(vec4<f32>(0.0), vec4<f32>(A[r0 + kj], A[r1 + kj], A[r2 + kj], A[r3 + kj]), live);
    let b = select(vec4<f32>(0.0), vec4<f32>(A[r4 + kj], A[r5 + kj], A[r6 + kj], A[r7 + kj]), live);
    let oj = (kj * nb + blk) * QW;
    let hd = qHead(oj);
    var sc = vec4<f32>(qSub(oj, j0, hd), 0.0, 0.0);
    if (QSUB == 16u) {
      sc = vec4<f32>(sc.xy, qSub(oj, j0 + 1u, hd));
    }
    var hq = vec2<u32>(0u);
    if (QHIGH) {
      hq = qHighQuad(oj, u & ~3u);
    }
    mac(&acc, lane0(a), lane0(b), pick(lane0(sc), second), (min(k, kl) * nb + blk) * QW, u, lane0u(hq));
    mac(&acc, lane1(a), lane1(b), pick(lane1(sc), second), (min(k + 1u, kl) * nb + blk) * QW, u, lane1u(hq));
    mac(&acc, lane2(a), lane2(b), pick(lane2(sc), second), (min(k + 2u, kl) * nb + blk) * QW, u, lane2u(hq));
    mac(&acc, lane3(a), lane3(b), pick(lane3(sc), second), (min(k + 3u, kl) * nb + blk) * QW, u, lane3u(hq));
  }
  if (gid.x * 8u < p.N) {
    store(m0, n0, acc.c0);
    store(m0, n0 + 4u, acc.e0);
    store(m0 + 1u, n0, acc.c1);
    store(m0 + 1u, n0 + 4u, acc.e1);
    store(m0 + 2u, n0, acc.c2);
    store(m0 + 2u, n0 + 4u, acc.e2);
    store(m0 + 3u, n0, acc.c3);
    store(m0 + 3u, n0 + 4u, acc.e3);
    store(m0 + 4u, n0, acc.c4);
    store(m0 + 4u, n0 + 4u, acc.e4);
    store(m0 + 5u, n0, acc.c5);
    store(m0 + 5u, n0 + 4u, acc.e5);
    store(m0 + 6u, n0, acc.c6);
    store(m0 + 6u, n0 + 4u, acc.e6);
    store(m0 + 7u, n0, acc.c7);
    store(m0 + 7u, n0 + 4u, acc.e7);
  }
}
