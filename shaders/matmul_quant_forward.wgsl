// The body of the linear forward with a quantized weight, dequantized inside the product:
//   C[M, N] (+)= alpha · A[M, K] · W[N, K]ᵀ   (y = x·Wᵀ, W is [out, in], quantized by rows of K)
// Included by matmul.forward_<type>[_rows8].wgsl after `const ROWS8` and the type's decoder
// (quant_<type>.wgsl: QB, QW, QSUB, QMIN, qScale, qQuad). W is in the GPU layout of
// quant-layout.ts; the launcher guarantees K % QB == 0.
// A is read as vec4 from A[m·aStride + aCol …] (aStride, aCol % 4 == 0: the launcher checks),
// C written at C[m·cStride + cCol + n] (quant_store.wgsl).
// Threads: each lane computes a 4×4 block of C (rows 4·gid.y…, columns 4·gid.x…; with ROWS8 an 8×4
// block, rows 8·gid.y…) in f32; a WG_X × WG_Y workgroup (8×8; 64×1 for 1–4 rows, ONE_ROW when
// M == 1) covers 4·WG_X columns. Per sub-block j it sums A·q over the sub-block's values for its
// rows and 4 weight rows (each decoded quad of quants feeds 4 or 8 multiply-adds), and Σ A when the
// type has mins, then adds scale_j·Σ A·q − min_j·Σ A: the product with the dequantized weights
// scale_j·q − min_j, in another order of rounding. Rows and columns past the edge repeat the last
// one and are not stored. No workgroup memory, no barriers.
// C is overwritten, or accumulated into when p.accum is 1.

override WG_X: u32 = 8u;
override WG_Y: u32 = 8u;
override ONE_ROW: bool = false;

// #params Params

@group(0) @binding(0) var<storage, read> A: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> W: array<u32>;
@group(0) @binding(2) var<storage, read_write> C: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

// #include quant_blocks
// #include quant_store

fn dots(a: vec4<f32>, q0: vec4<f32>, q1: vec4<f32>, q2: vec4<f32>, q3: vec4<f32>) -> vec4<f32> {
  return vec4<f32>(dot(a, q0), dot(a, q1), dot(a, q2), dot(a, q3));
}

// The vec4 index of row m's first element of A (rows past M repeat the last).
fn arow(m: u32) -> u32 {
  return (min(m, p.M - 1u) * p.aStride + p.aCol) / 4u;
}

// Word offset of weight row n's blocks (rows past N repeat the last).
fn wrow(n: u32) -> u32 {
  return min(n, p.N - 1u) * (p.K / QB) * QW;
}

@compute @workgroup_size(WG_X, WG_Y)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let n0 = gid.x * 4u;
  let m0 = gid.y * select(4u, 8u, ROWS8);
  if (n0 >= p.N || m0 >= p.M) {
    return;
  }
  let r0 = arow(m0);
  let r1 = arow(m0 + 1u);
  let r2 = arow(m0 + 2u);
  let r3 = arow(m0 + 3u);
  let r4 = arow(m0 + 4u);
  let r5 = arow(m0 + 5u);
  let r6 = arow(m0 + 6u);
  let r7 = arow(m0 + 7u);
  let w0 = wrow(n0);
  let w1 = wrow(n0 + 1u);
  let w2 = wrow(n0 + 2u);
  let w3 = wrow(n0 + 3u);
  let one = vec4<f32>(1.0);
  // acc_r: row m0 + r, component c: column n0 + c.
  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
  var acc4 = vec4<f32>(0.0);
  var acc5 = vec4<f32>(0.0);
  var acc6 = vec4<f32>(0.0);
  var acc7 = vec4<f32>(0.0);
  for (var b = 0u; b < p.K / QB; b++) {
    let o0 = w0 + b * QW;
    let o1 = w1 + b * QW;
    let o2 = w2 + b * QW;
    let o3 = w3 + b * QW;
    for (var j = 0u; j < QB / QSUB; j++) {
      // s_r: Σ A·q of row r against the 4 weight rows; t (t8): Σ A of rows 0–3 (4–7).
      var s0 = vec4<f32>(0.0);
      var s1 = vec4<f32>(0.0);
      var s2 = vec4<f32>(0.0);
      var s3 = vec4<f32>(0.0);
      var s4 = vec4<f32>(0.0);
      var s5 = vec4<f32>(0.0);
      var s6 = vec4<f32>(0.0);
      var s7 = vec4<f32>(0.0);
      var t = vec4<f32>(0.0);
      var t8 = vec4<f32>(0.0);
      for (var i = 0u; i < QSUB / 4u; i++) {
        let v = j * QSUB + 4u * i;
        let q0 = qQuad(o0, v);
        let q1 = qQuad(o1, v);
        let q2 = qQuad(o2, v);
        let q3 = qQuad(o3, v);
        let ka = (b * QB + v) / 4u;
        let a0 = A[r0 + ka];
        s0 += dots(a0, q0, q1, q2, q3);
        if (ONE_ROW) {
          if (QMIN) {
            t.x += dot(a0, one);
          }
          continue;
        }
        let a1 = A[r1 + ka];
        let a2 = A[r2 + ka];
        let a3 = A[r3 + ka];
        s1 += dots(a1, q0, q1, q2, q3);
        s2 += dots(a2, q0, q1, q2, q3);
        s3 += dots(a3, q0, q1, q2, q3);
        if (QMIN) {
          t += vec4<f32>(dot(a0, one), dot(a1, one), dot(a2, one), dot(a3, one));
        }
        if (ROWS8) {
          let a4 = A[r4 + ka];
          let a5 = A[r5 + ka];
          let a6 = A[r6 + ka];
          let a7 = A[r7 + ka];
          s4 += dots(a4, q0, q1, q2, q3);
          s5 += dots(a5, q0, q1, q2, q3);
          s6 += dots(a6, q0, q1, q2, q3);
          s7 += dots(a7, q0, q1, q2, q3);
          if (QMIN) {
            t8 += vec4<f32>(dot(a4, one), dot(a5, one), dot(a6, one), dot(a7, one));
          }
        }
      }
      let c0 = qScale(o0, j);
      let c1 = qScale(o1, j);
      let c2 = qScale(o2, j);
      let c3 = qScale(o3, j);
      let sc = vec4<f32>(c0.x, c1.x, c2.x, c3.x);
      acc0 += s0 * sc;
      acc1 += s1 * sc;
      acc2 += s2 * sc;
      acc3 += s3 * sc;
      acc4 += s4 * sc;
      acc5 += s5 * sc;
      acc6 += s6 * sc;
      acc7 += s7 * sc;
      if (QMIN) {
        let mn = vec4<f32>(c0.y, c1.y, c2.y, c3.y);
        acc0 -= t.x * mn;
        acc1 -= t.y * mn;
        acc2 -= t.z * mn;
        acc3 -= t.w * mn;
        acc4 -= t8.x * mn;
        acc5 -= t8.y * mn;
        acc6 -= t8.z * mn;
        acc7 -= t8.w * mn;
      }
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
