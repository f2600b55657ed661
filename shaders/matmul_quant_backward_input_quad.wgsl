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
const ROWS8 = true;
const ONE_ROW = false;

// #params Params

@group(0) @binding(0) var<storage, read> A: array<f32>;
@group(0) @binding(1) var<storage, read> W: array<u32>;
@group(0) @binding(2) var<storage, read_write> C: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

// #include quad_lanes
// #include quant_blocks
// #include quant_store
// #include matmul_quant_backward_input_rows

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
  macRows(acc, a, b, qDequantU(Oct(unpack4x8unorm(r.x), unpack4x8unorm(r.y)), s));
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
  let r = arows(m0);
  var acc: Acc;
  let kl = p.K - 1u;
  for (var k = 0u; k < p.K; k += 4u) {
    // Lane jq's share: A at k + jq for the 8 rows, and the scales of W's row k + jq.
    let kj = min(k + jq, kl);
    let live = k + jq < p.K;
    let a = select(vec4<f32>(0.0), vec4<f32>(A[r.r0 + kj], A[r.r1 + kj], A[r.r2 + kj], A[r.r3 + kj]), live);
    let b = select(vec4<f32>(0.0), vec4<f32>(A[r.r4 + kj], A[r.r5 + kj], A[r.r6 + kj], A[r.r7 + kj]), live);
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
    storeRows(&acc, m0, n0);
  }
}
