// The direct matmul kernels' body, included by matmul.direct.wgsl (4 rows per lane) and
// matmul.direct8.wgsl (8 rows per lane), which declare `const ROWS8` before the include.
//
// Register-blocked linear layer with vec4 loads and no workgroup memory.
//   NT (forward):        C[M, N] (+)= alpha · A[M, K] · W[N, K]ᵀ   (y = x·Wᵀ, W is [out, in])
//   NN (backward input): C[M, N] (+)= alpha · A[M, K] · W[K, N]     (dx = dy·W, W is [out, in])
// A and C are f32 row-major; W is f32, or bf16 / f16 packed two per u32, read 16 bytes at a time
// (4 f32 or 8 halves). Alignment the launcher guarantees: K % 4 == 0; W's contiguous dimension
// (K for NT, N for NN) % 4 (f32) or % 8 (halves) == 0.
// Threads: each lane computes a 4×4 block of C (rows 4·gid.y…, columns 4·gid.x…; with ROWS8 an
// 8×4 block, rows 8·gid.y…) in four (eight) vec4 accumulators, reading A and W straight from
// global memory with 16-byte loads; a WG_X × WG_Y workgroup covers 4·WG_Y (8·WG_Y) rows × 4·WG_X
// columns (8×8 by default; 64×1 for 1–4 rows, so no lane idles; ONE_ROW drops the three unused
// rows when M == 1). No barriers: on CPU-backed adapters (SwiftShader) the caches do the tiling
// and barriers are costly; on GPUs the shared-memory `regblock` kernel usually wins (the autotune
// picks).
// C is overwritten, or accumulated into when p.accum is 1.

override WDT: u32 = 0u;      // 0 = f32, 1 = bf16, 2 = f16
override B_NN: bool = false; // false: W[n, k] (NT); true: W[k, n] (NN)
override WG_X: u32 = 8u;
override WG_Y: u32 = 8u;
override ONE_ROW: bool = false; // M == 1: only the first row of each block is computed
override FULL: bool = false;    // M is a multiple of the lane's rows and N of 4 (8 for NN halves):
                                // every lane past the early return has all its rows and columns in
                                // range, so loads and stores skip their clamps and selects, which
                                // SwiftShader executes on every load (the launcher sets it for
                                // forward launches, where it measured ~25 % faster)

// #params Params

@group(0) @binding(0) var<storage, read> A: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> W: array<vec4<u32>>;
@group(0) @binding(2) var<storage, read_write> C: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

// #include halves8

fn a4(row: u32, k: u32) -> vec4<f32> {
  if (FULL) {
    return A[(row * p.K + k) / 4u];
  }
  return select(vec4<f32>(0.0), A[(min(row, p.M - 1u) * p.K + k) / 4u], row < p.M);
}

// NT f32: W[n, k…k+3]
fn wt4(n: u32, k: u32) -> vec4<f32> {
  if (FULL) {
    return bitcast<vec4<f32>>(W[(n * p.K + k) / 4u]);
  }
  return select(vec4<f32>(0.0), bitcast<vec4<f32>>(W[(min(n, p.N - 1u) * p.K + k) / 4u]), n < p.N);
}
// NT halves: W[n, k…k+7]
fn wt8(n: u32, k: u32) -> Eight {
  if (FULL) {
    return halves(W[(n * p.K + k) / 8u]);
  }
  let e = halves(W[(min(n, p.N - 1u) * p.K + k) / 8u]);
  let ok = n < p.N;
  return Eight(select(vec4<f32>(0.0), e.lo, ok), select(vec4<f32>(0.0), e.hi, ok));
}
// NN: W[k, n…n+3] (f32) — n < N guaranteed by alignment except past the edge
fn wn4(k: u32, n: u32) -> vec4<f32> {
  if (FULL) {
    if (WDT == 0u) {
      return bitcast<vec4<f32>>(W[(k * p.N + n) / 4u]);
    }
    let e = halves(W[(k * p.N + n - n % 8u) / 8u]);
    return select(e.lo, e.hi, (n % 8u) != 0u);
  }
  if (WDT == 0u) {
    let v = bitcast<vec4<f32>>(W[(k * p.N + min(n, p.N - 4u)) / 4u]);
    return select(vec4<f32>(0.0), v, n < p.N);
  }
  let e = halves(W[(k * p.N + min(n - n % 8u, p.N - 8u)) / 8u]);
  return select(vec4<f32>(0.0), select(e.lo, e.hi, (n % 8u) != 0u), n < p.N);
}

fn dots(a: vec4<f32>, b0: vec4<f32>, b1: vec4<f32>, b2: vec4<f32>, b3: vec4<f32>) -> vec4<f32> {
  return vec4<f32>(dot(a, b0), dot(a, b1), dot(a, b2), dot(a, b3));
}

// Row `row` of A at k…k+7 dotted with eight halves of four W rows.
fn dots8(row: u32, k: u32, w0: Eight, w1: Eight, w2: Eight, w3: Eight) -> vec4<f32> {
  return dots(a4(row, k), w0.lo, w1.lo, w2.lo, w3.lo) +
    dots(a4(row, k + 4u), w0.hi, w1.hi, w2.hi, w3.hi);
}

fn store(row: u32, col: u32, v: vec4<f32>) {
  let o = row * p.N + col;
  let acc = p.accum != 0u;
  if (FULL) {
    C[o] = p.alpha * v.x + select(0.0, C[o], acc);
    C[o + 1u] = p.alpha * v.y + select(0.0, C[o + 1u], acc);
    C[o + 2u] = p.alpha * v.z + select(0.0, C[o + 2u], acc);
    C[o + 3u] = p.alpha * v.w + select(0.0, C[o + 3u], acc);
    return;
  }
  if (row >= p.M) {
    return;
  }
  if (col < p.N) { C[o] = p.alpha * v.x + select(0.0, C[o], acc); }
  if (col + 1u < p.N) { C[o + 1u] = p.alpha * v.y + select(0.0, C[o + 1u], acc); }
  if (col + 2u < p.N) { C[o + 2u] = p.alpha * v.z + select(0.0, C[o + 2u], acc); }
  if (col + 3u < p.N) { C[o + 3u] = p.alpha * v.w + select(0.0, C[o + 3u], acc); }
}

@compute @workgroup_size(WG_X, WG_Y)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let row = gid.y * select(4u, 8u, ROWS8);
  let col = gid.x * 4u;
  if (row >= p.M || col >= p.N) {
    return;
  }
  var c0 = vec4<f32>(0.0);
  var c1 = vec4<f32>(0.0);
  var c2 = vec4<f32>(0.0);
  var c3 = vec4<f32>(0.0);
  var c4 = vec4<f32>(0.0);
  var c5 = vec4<f32>(0.0);
  var c6 = vec4<f32>(0.0);
  var c7 = vec4<f32>(0.0);
  if (B_NN) {
    for (var k = 0u; k < p.K; k += 4u) {
      let w0 = wn4(k, col);
      let w1 = wn4(k + 1u, col);
      let w2 = wn4(k + 2u, col);
      let w3 = wn4(k + 3u, col);
      let a0 = a4(row, k);
      c0 += a0.x * w0 + a0.y * w1 + a0.z * w2 + a0.w * w3;
      if (!ONE_ROW) {
        let a1 = a4(row + 1u, k);
        let a2 = a4(row + 2u, k);
        let a3 = a4(row + 3u, k);
        c1 += a1.x * w0 + a1.y * w1 + a1.z * w2 + a1.w * w3;
        c2 += a2.x * w0 + a2.y * w1 + a2.z * w2 + a2.w * w3;
        c3 += a3.x * w0 + a3.y * w1 + a3.z * w2 + a3.w * w3;
      }
      if (ROWS8) {
        let a4_ = a4(row + 4u, k);
        let a5 = a4(row + 5u, k);
        let a6 = a4(row + 6u, k);
        let a7 = a4(row + 7u, k);
        c4 += a4_.x * w0 + a4_.y * w1 + a4_.z * w2 + a4_.w * w3;
        c5 += a5.x * w0 + a5.y * w1 + a5.z * w2 + a5.w * w3;
        c6 += a6.x * w0 + a6.y * w1 + a6.z * w2 + a6.w * w3;
        c7 += a7.x * w0 + a7.y * w1 + a7.z * w2 + a7.w * w3;
      }
    }
  } else if (WDT == 0u) {
    for (var k = 0u; k < p.K; k += 4u) {
      let w0 = wt4(col, k);
      let w1 = wt4(col + 1u, k);
      let w2 = wt4(col + 2u, k);
      let w3 = wt4(col + 3u, k);
      c0 += dots(a4(row, k), w0, w1, w2, w3);
      if (!ONE_ROW) {
        c1 += dots(a4(row + 1u, k), w0, w1, w2, w3);
        c2 += dots(a4(row + 2u, k), w0, w1, w2, w3);
        c3 += dots(a4(row + 3u, k), w0, w1, w2, w3);
      }
      if (ROWS8) {
        c4 += dots(a4(row + 4u, k), w0, w1, w2, w3);
        c5 += dots(a4(row + 5u, k), w0, w1, w2, w3);
        c6 += dots(a4(row + 6u, k), w0, w1, w2, w3);
        c7 += dots(a4(row + 7u, k), w0, w1, w2, w3);
      }
    }
  } else {
    for (var k = 0u; k < p.K; k += 8u) {
      let w0 = wt8(col, k);
      let w1 = wt8(col + 1u, k);
      let w2 = wt8(col + 2u, k);
      let w3 = wt8(col + 3u, k);
      c0 += dots8(row, k, w0, w1, w2, w3);
      if (!ONE_ROW) {
        c1 += dots8(row + 1u, k, w0, w1, w2, w3);
        c2 += dots8(row + 2u, k, w0, w1, w2, w3);
        c3 += dots8(row + 3u, k, w0, w1, w2, w3);
      }
      if (ROWS8) {
        c4 += dots8(row + 4u, k, w0, w1, w2, w3);
        c5 += dots8(row + 5u, k, w0, w1, w2, w3);
        c6 += dots8(row + 6u, k, w0, w1, w2, w3);
        c7 += dots8(row + 7u, k, w0, w1, w2, w3);
      }
    }
  }
  store(row, col, c0);
  if (!ONE_ROW) {
    store(row + 1u, col, c1);
    store(row + 2u, col, c2);
    store(row + 3u, col, c3);
  }
  if (ROWS8) {
    store(row + 4u, col, c4);
    store(row + 5u, col, c5);
    store(row + 6u, col, c6);
    store(row + 7u, col, c7);
  }
}
