// The body of the linear input gradient with a quantized weight, dequantized inside the product:
//   C[M, N] (+)= alpha · A[M, K] · W[K, N]   (dx = dy·W, W is [out, in], quantized by rows of N)
// Included by matmul.backward_input_<type>[_rows8].wgsl after `const ROWS8` and the type's decoder
// (quant_<type>.wgsl). W is in the GPU layout of quant-layout.ts; the launcher guarantees
// N % QB == 0, so a lane's 8 columns are one oct of one sub-block.
// A (dy) is read from A[m·aStride + aCol + k] (any alignment), C (dx) written at
// C[m·cStride + cCol + n] (quant_store.wgsl).
// Threads: each lane computes a 4×8 block of C (rows 4·gid.y…, columns 8·gid.x…; with ROWS8 an
// 8×8 block) in f32; a WG_X × WG_Y workgroup (8×8; 64×1 for 1–4 rows, ONE_ROW when M == 1) covers
// 8·WG_X columns. For each k it dequantizes its 8 weights (q/255·(255·scale) − (QOFF·scale + min):
// the dequantized values up to an ulp; one word of quants and the sub-block's scale) and adds A[row, k] times them
// to its rows. Rows past the edge repeat the last one and are not stored. No workgroup memory, no
// barriers.
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

// The 8 weights of oct u of sub-block j of the block at word o: (q/255)·(255·scale) − (QOFF·scale
// + min), the offset folded into the min.
fn weights(o: u32, j: u32, u: u32) -> Oct {
  let s = qScale(o, j);
  let q = qOctU(o, u);
  let sc = 255.0 * s.x;
  if (QMIN || QOFF != 0.0) {
    let mn = vec4<f32>(QOFF * s.x + s.y);
    return Oct(q.lo * sc - mn, q.hi * sc - mn);
  }
  return Oct(q.lo * sc, q.hi * sc);
}

@compute @workgroup_size(WG_X, WG_Y)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let n0 = gid.x * 8u;
  let m0 = gid.y * select(4u, 8u, ROWS8);
  if (n0 >= p.N || m0 >= p.M) {
    return;
  }
  let nb = p.N / QB;
  let blk = n0 / QB;
  let u = (n0 % QB) / 8u;
  let j = (n0 % QB) / QSUB;
  let r0 = arow(m0);
  let r1 = arow(m0 + 1u);
  let r2 = arow(m0 + 2u);
  let r3 = arow(m0 + 3u);
  let r4 = arow(m0 + 4u);
  let r5 = arow(m0 + 5u);
  let r6 = arow(m0 + 6u);
  let r7 = arow(m0 + 7u);
  // c_r: row m0 + r, columns n0…n0 + 3; e_r: columns n0 + 4…n0 + 7.
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
  for (var k = 0u; k < p.K; k++) {
    let w = weights((k * nb + blk) * QW, j, u);
    let a0 = A[r0 + k];
    c0 += a0 * w.lo;
    e0 += a0 * w.hi;
    if (!ONE_ROW) {
      let a1 = A[r1 + k];
      let a2 = A[r2 + k];
      let a3 = A[r3 + k];
      c1 += a1 * w.lo;
      e1 += a1 * w.hi;
      c2 += a2 * w.lo;
      e2 += a2 * w.hi;
      c3 += a3 * w.lo;
      e3 += a3 * w.hi;
    }
    if (ROWS8) {
      let a4 = A[r4 + k];
      let a5 = A[r5 + k];
      let a6 = A[r6 + k];
      let a7 = A[r7 + k];
      c4 += a4 * w.lo;
      e4 += a4 * w.hi;
      c5 += a5 * w.lo;
      e5 += a5 * w.hi;
      c6 += a6 * w.lo;
      e6 += a6 * w.hi;
      c7 += a7 * w.lo;
      e7 += a7 * w.hi;
    }
  }
  store(m0, n0, c0);
  store(m0, n0 + 4u, e0);
  if (!ONE_ROW) {
    store(m0 + 1u, n0, c1);
    store(m0 + 1u, n0 + 4u, e1);
    store(m0 + 2u, n0, c2);
    store(m0 + 2u, n0 + 4u, e2);
    store(m0 + 3u, n0, c3);
    store(m0 + 3u, n0 + 4u, e3);
  }
  if (ROWS8) {
    store(m0 + 4u, n0, c4);
    store(m0 + 4u, n0 + 4u, e4);
    store(m0 + 5u, n0, c5);
    store(m0 + 5u, n0 + 4u, e5);
    store(m0 + 6u, n0, c6);
    store(m0 + 6u, n0 + 4u, e6);
    store(m0 + 7u, n0, c7);
    store(m0 + 7u, n0 + 4u, e7);
  }
}
