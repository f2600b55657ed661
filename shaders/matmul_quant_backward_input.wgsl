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
// #include matmul_quant_backward_input_rows

// The 8 weights of oct u of sub-block j of the block at word o, dequantized (qDequantU).
fn weights(o: u32, j: u32, u: u32) -> Oct {
  return qDequantU(qOctU(o, u), qScale(o, j));
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
  let r = arows(m0);
  var acc: Acc;
  for (var k = 0u; k < p.K; k++) {
    let w = weights((k * nb + blk) * QW, j, u);
    // A at k of the rows the lane computes (the others are not read).
    var a = vec4<f32>(A[r.r0 + k], 0.0, 0.0, 0.0);
    var b = vec4<f32>(0.0);
    if (!ONE_ROW) {
      a = vec4<f32>(a.x, A[r.r1 + k], A[r.r2 + k], A[r.r3 + k]);
    }
    if (ROWS8) {
      b = vec4<f32>(A[r.r4 + k], A[r.r5 + k], A[r.r6 + k], A[r.r7 + k]);
    }
    macRows(&acc, a, b, w);
  }
  storeRows(&acc, m0, n0);
}
