// Linear layer with 8×4 blocks per lane that share their A values across each quad of lanes.
//   NT (forward):        C[M, N] (+)= alpha · A[M, K] · W[N, K]ᵀ   (y = x·Wᵀ, W is [out, in])
//   NN (backward input): C[M, N] (+)= alpha · A[M, K] · W[K, N]     (dx = dy·W, W is [out, in])
// A and C are f32 row-major; W is f32, or bf16 / f16 packed two per u32 (16-byte loads of 4 f32 or
// 8 halves). The launcher guarantees K % 16 == 0 and W's contiguous dimension (K for NT, N for NN)
// % 4 (f32) or % 8 (halves) == 0.
// Why: on CPU adapters (SwiftShader) every load from a buffer is a per-lane gather that costs
// ~15× a multiply-add, while a quad broadcast is a register shuffle. In `direct8` the four lanes of a
// SIMD group each load the same A values (their rows are the same, their columns differ); here lane j
// of a quad loads only the A values at k + 4j … k + 4j + 3 of a 16-wide step, and quadBroadcast hands
// each lane the other three quarters, which halves the loads per multiply-add.
// Threads: a 1-D workgroup of WG_X lanes shares its 8 rows (8 · workgroup_id.y …); lane i computes
// columns 4i … 4i + 3 in eight vec4 accumulators, or, for NN with 16-bit W (COLS8), columns
// 8i … 8i + 7 in sixteen: one 16-byte load of W then feeds 8 columns instead of 4 (half of it was
// thrown away), measured 1.6× faster on SwiftShader (256×576×1536, bf16). Every lane of a quad has the same rows whatever
// lanes the quad holds, so correctness rests only on quadBroadcast's definition. No lane returns
// early (quad operations need the whole quad): lanes past M or N load clamped indices and store
// nothing. Each accumulator adds its 4-wide k steps in order with the same expressions as the
// direct kernels, so on adapters that do not fuse multiply-adds it gives direct8's bits.
// C is overwritten, or accumulated into when p.accum is 1.

enable subgroups;

override WDT: u32 = 0u;      // 0 = f32, 1 = bf16, 2 = f16
override B_NN: bool = false; // false: W[n, k] (NT); true: W[k, n] (NN)
override WG_X: u32 = 16u;
override COLS8: bool = false; // NN with 16-bit W only: 8 columns per lane

// #params Params

@group(0) @binding(0) var<storage, read> A: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> W: array<vec4<u32>>;
@group(0) @binding(2) var<storage, read_write> C: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

// #include quad_lanes

// #include halves8

// One 4-wide k step of W for a lane's 4 columns: NT: w_i = W[col + i, k…k+3];
// NN: w_i = W[k + i, col…col+3].
struct Four {
  w0: vec4<f32>,
  w1: vec4<f32>,
  w2: vec4<f32>,
  w3: vec4<f32>,
}

// Two consecutive 4-wide k steps (8 values of k).
struct Pair {
  lo: Four,
  hi: Four,
}

// Where a lane reads W: NT: the first vec4 index of each of its (clamped) columns' rows;
// NN: its column block's vec4 index within a row, and for halves whether it is the block's high half.
struct WBase {
  n0: u32,
  n1: u32,
  n2: u32,
  n3: u32,
  high: bool,
}

// NN: W[k, the lane's 4 columns] as f32.
fn wn(wb: WBase, k: u32) -> vec4<f32> {
  if (WDT == 0u) {
    return bitcast<vec4<f32>>(W[k * (p.N / 4u) + wb.n0]);
  }
  let e = halves(W[k * (p.N / 8u) + wb.n0]);
  return select(e.lo, e.hi, wb.high);
}

// W for k … k+7 (k a multiple of 8).
fn wpair(wb: WBase, k: u32) -> Pair {
  if (B_NN) {
    return Pair(
      Four(wn(wb, k), wn(wb, k + 1u), wn(wb, k + 2u), wn(wb, k + 3u)),
      Four(wn(wb, k + 4u), wn(wb, k + 5u), wn(wb, k + 6u), wn(wb, k + 7u)),
    );
  }
  if (WDT == 0u) {
    let q = k / 4u;
    return Pair(
      Four(
        bitcast<vec4<f32>>(W[wb.n0 + q]),
        bitcast<vec4<f32>>(W[wb.n1 + q]),
        bitcast<vec4<f32>>(W[wb.n2 + q]),
        bitcast<vec4<f32>>(W[wb.n3 + q]),
      ),
      Four(
        bitcast<vec4<f32>>(W[wb.n0 + q + 1u]),
        bitcast<vec4<f32>>(W[wb.n1 + q + 1u]),
        bitcast<vec4<f32>>(W[wb.n2 + q + 1u]),
        bitcast<vec4<f32>>(W[wb.n3 + q + 1u]),
      ),
    );
  }
  let o = k / 8u;
  let e0 = halves(W[wb.n0 + o]);
  let e1 = halves(W[wb.n1 + o]);
  let e2 = halves(W[wb.n2 + o]);
  let e3 = halves(W[wb.n3 + o]);
  return Pair(Four(e0.lo, e1.lo, e2.lo, e3.lo), Four(e0.hi, e1.hi, e2.hi, e3.hi));
}

// c + a · (one 4-wide k step of W), in the direct kernels' expressions.
fn mac(c: vec4<f32>, a: vec4<f32>, w: Four) -> vec4<f32> {
  if (B_NN) {
    return c + (a.x * w.w0 + a.y * w.w1 + a.z * w.w2 + a.w * w.w3);
  }
  return c + vec4<f32>(dot(a, w.w0), dot(a, w.w1), dot(a, w.w2), dot(a, w.w3));
}

fn store(row: u32, col: u32, v: vec4<f32>) {
  if (row >= p.M) {
    return;
  }
  let o = row * p.N + col;
  let acc = p.accum != 0u;
  if (col < p.N) { C[o] = p.alpha * v.x + select(0.0, C[o], acc); }
  if (col + 1u < p.N) { C[o + 1u] = p.alpha * v.y + select(0.0, C[o + 1u], acc); }
  if (col + 2u < p.N) { C[o + 2u] = p.alpha * v.z + select(0.0, C[o + 2u], acc); }
  if (col + 3u < p.N) { C[o + 3u] = p.alpha * v.w + select(0.0, C[o + 3u], acc); }
}

fn store8(row: u32, col: u32, lo: vec4<f32>, hi: vec4<f32>) {
  if (col < p.N) {
    store(row, col, lo);
    store(row, col + 4u, hi);
  }
}

// NN with 16-bit W, 8 columns per lane (COLS8): C[row…row+7, col…col+7], col = 8 · gid.x.
fn nnHalves8(row: u32, col: u32, j: u32) {
  let last = p.M - 1u;
  let kq = p.K / 4u;
  let n8 = p.N / 8u;
  let cb = min(col / 8u, n8 - 1u);
  let a0 = min(row, last) * kq + j;
  let a1 = min(row + 1u, last) * kq + j;
  let a2 = min(row + 2u, last) * kq + j;
  let a3 = min(row + 3u, last) * kq + j;
  let a4 = min(row + 4u, last) * kq + j;
  let a5 = min(row + 5u, last) * kq + j;
  let a6 = min(row + 6u, last) * kq + j;
  let a7 = min(row + 7u, last) * kq + j;
  var c0 = vec4<f32>(0.0);
  var c1 = vec4<f32>(0.0);
  var c2 = vec4<f32>(0.0);
  var c3 = vec4<f32>(0.0);
  var c4 = vec4<f32>(0.0);
  var c5 = vec4<f32>(0.0);
  var c6 = vec4<f32>(0.0);
  var c7 = vec4<f32>(0.0);
  var e0 = vec4<f32>(0.0);
  var e1 = vec4<f32>(0.0);
  var e2 = vec4<f32>(0.0);
  var e3 = vec4<f32>(0.0);
  var e4 = vec4<f32>(0.0);
  var e5 = vec4<f32>(0.0);
  var e6 = vec4<f32>(0.0);
  var e7 = vec4<f32>(0.0);
  for (var k = 0u; k < p.K; k += 16u) {
    let q = k / 4u;
    let x0 = A[a0 + q];
    let x1 = A[a1 + q];
    let x2 = A[a2 + q];
    let x3 = A[a3 + q];
    let x4 = A[a4 + q];
    let x5 = A[a5 + q];
    let x6 = A[a6 + q];
    let x7 = A[a7 + q];
    // Rows k + 4t … k + 4t + 3 of W at the lane's 8 columns, with A's chunk t from quad lane t.
    {
      let kt = k + 0u;
      let w0 = halves(W[kt * n8 + cb]);
      let w1 = halves(W[(kt + 1u) * n8 + cb]);
      let w2 = halves(W[(kt + 2u) * n8 + cb]);
      let w3 = halves(W[(kt + 3u) * n8 + cb]);
      let lo = Four(w0.lo, w1.lo, w2.lo, w3.lo);
      let hi = Four(w0.hi, w1.hi, w2.hi, w3.hi);
      let b0 = lane0(x0);
      c0 = mac(c0, b0, lo);
      e0 = mac(e0, b0, hi);
      let b1 = lane0(x1);
      c1 = mac(c1, b1, lo);
      e1 = mac(e1, b1, hi);
      let b2 = lane0(x2);
      c2 = mac(c2, b2, lo);
      e2 = mac(e2, b2, hi);
      let b3 = lane0(x3);
      c3 = mac(c3, b3, lo);
      e3 = mac(e3, b3, hi);
      let b4 = lane0(x4);
      c4 = mac(c4, b4, lo);
      e4 = mac(e4, b4, hi);
      let b5 = lane0(x5);
      c5 = mac(c5, b5, lo);
      e5 = mac(e5, b5, hi);
      let b6 = lane0(x6);
      c6 = mac(c6, b6, lo);
      e6 = mac(e6, b6, hi);
      let b7 = lane0(x7);
      c7 = mac(c7, b7, lo);
      e7 = mac(e7, b7, hi);
    }
    {
      let kt = k + 4u;
      let w0 = halves(W[kt * n8 + cb]);
      let w1 = halves(W[(kt + 1u) * n8 + cb]);
      let w2 = halves(W[(kt + 2u) * n8 + cb]);
      let w3 = halves(W[(kt + 3u) * n8 + cb]);
      let lo = Four(w0.lo, w1.lo, w2.lo, w3.lo);
      let hi = Four(w0.hi, w1.hi, w2.hi, w3.hi);
      let b0 = lane1(x0);
      c0 = mac(c0, b0, lo);
      e0 = mac(e0, b0, hi);
      let b1 = lane1(x1);
      c1 = mac(c1, b1, lo);
      e1 = mac(e1, b1, hi);
      let b2 = lane1(x2);
      c2 = mac(c2, b2, lo);
      e2 = mac(e2, b2, hi);
      let b3 = lane1(x3);
      c3 = mac(c3, b3, lo);
      e3 = mac(e3, b3, hi);
      let b4 = lane1(x4);
      c4 = mac(c4, b4, lo);
      e4 = mac(e4, b4, hi);
      let b5 = lane1(x5);
      c5 = mac(c5, b5, lo);
      e5 = mac(e5, b5, hi);
      let b6 = lane1(x6);
      c6 = mac(c6, b6, lo);
      e6 = mac(e6, b6, hi);
      let b7 = lane1(x7);
      c7 = mac(c7, b7, lo);
      e7 = mac(e7, b7, hi);
    }
    {
      let kt = k + 8u;
      let w0 = halves(W[kt * n8 + cb]);
      let w1 = halves(W[(kt + 1u) * n8 + cb]);
      let w2 = halves(W[(kt + 2u) * n8 + cb]);
      let w3 = halves(W[(kt + 3u) * n8 + cb]);
      let lo = Four(w0.lo, w1.lo, w2.lo, w3.lo);
      let hi = Four(w0.hi, w1.hi, w2.hi, w3.hi);
      let b0 = lane2(x0);
      c0 = mac(c0, b0, lo);
      e0 = mac(e0, b0, hi);
      let b1 = lane2(x1);
      c1 = mac(c1, b1, lo);
      e1 = mac(e1, b1, hi);
      let b2 = lane2(x2);
      c2 = mac(c2, b2, lo);
      e2 = mac(e2, b2, hi);
      let b3 = lane2(x3);
      c3 = mac(c3, b3, lo);
      e3 = mac(e3, b3, hi);
      let b4 = lane2(x4);
      c4 = mac(c4, b4, lo);
      e4 = mac(e4, b4, hi);
      let b5 = lane2(x5);
      c5 = mac(c5, b5, lo);
      e5 = mac(e5, b5, hi);
      let b6 = lane2(x6);
      c6 = mac(c6, b6, lo);
      e6 = mac(e6, b6, hi);
      let b7 = lane2(x7);
      c7 = mac(c7, b7, lo);
      e7 = mac(e7, b7, hi);
    }
    {
      let kt = k + 12u;
      let w0 = halves(W[kt * n8 + cb]);
      let w1 = halves(W[(kt + 1u) * n8 + cb]);
      let w2 = halves(W[(kt + 2u) * n8 + cb]);
      let w3 = halves(W[(kt + 3u) * n8 + cb]);
      let lo = Four(w0.lo, w1.lo, w2.lo, w3.lo);
      let hi = Four(w0.hi, w1.hi, w2.hi, w3.hi);
      let b0 = lane3(x0);
      c0 = mac(c0, b0, lo);
      e0 = mac(e0, b0, hi);
      let b1 = lane3(x1);
      c1 = mac(c1, b1, lo);
      e1 = mac(e1, b1, hi);
      let b2 = lane3(x2);
      c2 = mac(c2, b2, lo);
      e2 = mac(e2, b2, hi);
      let b3 = lane3(x3);
      c3 = mac(c3, b3, lo);
      e3 = mac(e3, b3, hi);
      let b4 = lane3(x4);
      c4 = mac(c4, b4, lo);
      e4 = mac(e4, b4, hi);
      let b5 = lane3(x5);
      c5 = mac(c5, b5, lo);
      e5 = mac(e5, b5, hi);
      let b6 = lane3(x6);
      c6 = mac(c6, b6, lo);
      e6 = mac(e6, b6, hi);
      let b7 = lane3(x7);
      c7 = mac(c7, b7, lo);
      e7 = mac(e7, b7, hi);
    }
  }
  store8(row, col, c0, e0);
  store8(row + 1u, col, c1, e1);
  store8(row + 2u, col, c2, e2);
  store8(row + 3u, col, c3, e3);
  store8(row + 4u, col, c4, e4);
  store8(row + 5u, col, c5, e5);
  store8(row + 6u, col, c6, e6);
  store8(row + 7u, col, c7, e7);
}

@compute @workgroup_size(WG_X)
fn main(
  @builtin(global_invocation_id) gid: vec3<u32>,
  @builtin(workgroup_id) wg: vec3<u32>,
  @builtin(subgroup_invocation_id) sg: u32,
) {
  let row = wg.y * 8u;
  let j = sg & 3u; // this lane's place in its quad
  if (COLS8) {
    nnHalves8(row, gid.x * 8u, j);
    return;
  }
  let col = gid.x * 4u;
  let last = p.M - 1u;
  let kq = p.K / 4u;
  let a0 = min(row, last) * kq + j;
  let a1 = min(row + 1u, last) * kq + j;
  let a2 = min(row + 2u, last) * kq + j;
  let a3 = min(row + 3u, last) * kq + j;
  let a4 = min(row + 4u, last) * kq + j;
  let a5 = min(row + 5u, last) * kq + j;
  let a6 = min(row + 6u, last) * kq + j;
  let a7 = min(row + 7u, last) * kq + j;
  var wb: WBase;
  if (B_NN) {
    if (WDT == 0u) {
      wb.n0 = min(col, p.N - 4u) / 4u;
    } else {
      wb.n0 = min(col - col % 8u, p.N - 8u) / 8u;
      wb.high = col % 8u != 0u;
    }
  } else {
    let rowq = select(p.K / 8u, kq, WDT == 0u); // 16-byte units per W row
    let nl = p.N - 1u;
    wb.n0 = min(col, nl) * rowq;
    wb.n1 = min(col + 1u, nl) * rowq;
    wb.n2 = min(col + 2u, nl) * rowq;
    wb.n3 = min(col + 3u, nl) * rowq;
  }
  var c0 = vec4<f32>(0.0);
  var c1 = vec4<f32>(0.0);
  var c2 = vec4<f32>(0.0);
  var c3 = vec4<f32>(0.0);
  var c4 = vec4<f32>(0.0);
  var c5 = vec4<f32>(0.0);
  var c6 = vec4<f32>(0.0);
  var c7 = vec4<f32>(0.0);
  for (var k = 0u; k < p.K; k += 16u) {
    // Lane j's quarter of the 16-wide step of each row: A[row + r, k + 4j … k + 4j + 3].
    let q = k / 4u;
    let x0 = A[a0 + q];
    let x1 = A[a1 + q];
    let x2 = A[a2 + q];
    let x3 = A[a3 + q];
    let x4 = A[a4 + q];
    let x5 = A[a5 + q];
    let x6 = A[a6 + q];
    let x7 = A[a7 + q];
    let w = wpair(wb, k);
    c0 = mac(c0, lane0(x0), w.lo);
    c1 = mac(c1, lane0(x1), w.lo);
    c2 = mac(c2, lane0(x2), w.lo);
    c3 = mac(c3, lane0(x3), w.lo);
    c4 = mac(c4, lane0(x4), w.lo);
    c5 = mac(c5, lane0(x5), w.lo);
    c6 = mac(c6, lane0(x6), w.lo);
    c7 = mac(c7, lane0(x7), w.lo);
    c0 = mac(c0, lane1(x0), w.hi);
    c1 = mac(c1, lane1(x1), w.hi);
    c2 = mac(c2, lane1(x2), w.hi);
    c3 = mac(c3, lane1(x3), w.hi);
    c4 = mac(c4, lane1(x4), w.hi);
    c5 = mac(c5, lane1(x5), w.hi);
    c6 = mac(c6, lane1(x6), w.hi);
    c7 = mac(c7, lane1(x7), w.hi);
    let v = wpair(wb, k + 8u);
    c0 = mac(c0, lane2(x0), v.lo);
    c1 = mac(c1, lane2(x1), v.lo);
    c2 = mac(c2, lane2(x2), v.lo);
    c3 = mac(c3, lane2(x3), v.lo);
    c4 = mac(c4, lane2(x4), v.lo);
    c5 = mac(c5, lane2(x5), v.lo);
    c6 = mac(c6, lane2(x6), v.lo);
    c7 = mac(c7, lane2(x7), v.lo);
    c0 = mac(c0, lane3(x0), v.hi);
    c1 = mac(c1, lane3(x1), v.hi);
    c2 = mac(c2, lane3(x2), v.hi);
    c3 = mac(c3, lane3(x3), v.hi);
    c4 = mac(c4, lane3(x4), v.hi);
    c5 = mac(c5, lane3(x5), v.hi);
    c6 = mac(c6, lane3(x6), v.hi);
    c7 = mac(c7, lane3(x7), v.hi);
  }
  store(row, col, c0);
  store(row + 1u, col, c1);
  store(row + 2u, col, c2);
  store(row + 3u, col, c3);
  store(row + 4u, col, c4);
  store(row + 5u, col, c5);
  store(row + 6u, col, c6);
  store(row + 7u, col, c7);
}
