// The body of the linear input gradient with a quantized weight, dequantized inside the product:
//   C[M, N] (+)= alpha · A[M, K] · W[K, N]   (dx = dy·W, W is [out, in], quantized by rows of N)
// Included by matmul.backward_input_<type>[_rows8].wgsl after `const ROWS8` and the type's decoder
// (quant_<type>.wgsl: QB, QW, QSUB, QMIN, qScale, qQuad). W is in the GPU layout of
// quant-layout.ts; the launcher guarantees N % QB == 0, so a lane's 4 columns are one quad of one
// sub-block.
// A (dy) is read from A[m·aStride + aCol + k] (any alignment), C (dx) written at
// C[m·cStride + cCol + n] (quant_store.wgsl).
// Threads: each lane computes a 4×4 block of C (rows 4·gid.y…, columns 4·gid.x…; with ROWS8 an 8×4
// block) in f32; a WG_X × WG_Y workgroup (8×8; 64×1 for 1–4 rows, ONE_ROW when M == 1) covers
// 4·WG_X columns. For each k it dequantizes its 4 weights (scale·q − min: exactly the dequantized
// values) and adds A[row, k] times them to its rows. Rows past the edge repeat the last one and are
// not stored. No workgroup memory, no barriers.
// C is overwritten, or accumulated into when p.accum is 1.

override WG_X: u32 = 8u;
override WG_Y: u32 = 8u;
override ONE_ROW: bool = false;

// #params Params

@group(0) @binding(0) var<storage, read> A: array<f32>;
@group(0) @binding(1) var<storage, read> W: array<u32>;
@group(0) @binding(2) var<storage, read_write> C: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

// #include quant_blocks
// #include quant_store

// Row m's first element of A (rows past M repeat the last).
fn arow(m: u32) -> u32 {
  return min(m, p.M - 1u) * p.aStride + p.aCol;
}

@compute @workgroup_size(WG_X, WG_Y)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let n0 = gid.x * 4u;
  let m0 = gid.y * select(4u, 8u, ROWS8);
  if (n0 >= p.N || m0 >= p.M) {
    return;
  }
  let nb = p.N / QB;
  let blk = n0 / QB;
  let v = n0 % QB;
  let j = v / QSUB;
  let r0 = arow(m0);
  let r1 = arow(m0 + 1u);
  let r2 = arow(m0 + 2u);
  let r3 = arow(m0 + 3u);
  let r4 = arow(m0 + 4u);
  let r5 = arow(m0 + 5u);
  let r6 = arow(m0 + 6u);
  let r7 = arow(m0 + 7u);
  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
  var acc4 = vec4<f32>(0.0);
  var acc5 = vec4<f32>(0.0);
  var acc6 = vec4<f32>(0.0);
  var acc7 = vec4<f32>(0.0);
  for (var k = 0u; k < p.K; k++) {
    let o = (k * nb + blk) * QW;
    let s = qScale(o, j);
    var w = qQuad(o, v) * s.x;
    if (QMIN) {
      w -= vec4<f32>(s.y);
    }
    acc0 += A[r0 + k] * w;
    if (ONE_ROW) {
      continue;
    }
    acc1 += A[r1 + k] * w;
    acc2 += A[r2 + k] * w;
    acc3 += A[r3 + k] * w;
    if (ROWS8) {
      acc4 += A[r4 + k] * w;
      acc5 += A[r5 + k] * w;
      acc6 += A[r6 + k] * w;
      acc7 += A[r7 + k] * w;
    }
  }
  store(m0, n0, acc0);
  if (!ONE_ROW) {
    store(m0 + 1u, n0, acc1);
    store(m0 + 2u, n0, acc2);
    store(m0 + 3u, n0, acc3);
  }
  if (ROWS8) {
    store(m0 + 4u, n0, acc4);
    store(m0 + 5u, n0, acc5);
    store(m0 + 6u, n0, acc6);
    store(m0 + 7u, n0, acc7);
  }
}
