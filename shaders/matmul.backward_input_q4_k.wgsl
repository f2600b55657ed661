// Linear layer input gradient with a Q4_K weight, dequantized inside the product:
//   C[M, N] (+)= alpha · A[M, K] · W[K, N]   (dx = dy·W, W is [out, in], quantized by rows of N)
// A (dy) and C (dx) are f32 row-major; W is in the GPU layout of quant-layout.ts (38 words per
// super-block of 256: d, dmin, the 8 scales and 8 mins, the nibbles; see quant_blocks.wgsl). The
// launcher guarantees N % 256 == 0, so a lane's 4 columns are one nibble word of one sub-block.
// Threads: each lane computes a 4×4 block of C (rows 4·gid.y…, columns 4·gid.x…) in f32; an 8×8
// workgroup covers 32×32. For each k it dequantizes its 4 weights ((d·sc_j)·q − dmin·m_j, the
// dequantized values) and adds A[row, k] times them to its 4 rows. Rows past the edge repeat the
// last one and are not stored. No workgroup memory, no barriers.
// C is overwritten, or accumulated into when p.accum is 1.

// #params Params

@group(0) @binding(0) var<storage, read> A: array<f32>;
@group(0) @binding(1) var<storage, read> W: array<u32>;
@group(0) @binding(2) var<storage, read_write> C: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

// #include quant_blocks
// #include quant_store

@compute @workgroup_size(8, 8)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let n0 = gid.x * 4u;
  let m0 = gid.y * 4u;
  if (n0 >= p.N || m0 >= p.M) {
    return;
  }
  let nb = p.N / 256u;
  let blk = n0 / 256u;
  let j = (n0 % 256u) / 32u;            // the sub-block
  let qo = 6u + 8u * (j >> 1u) + (n0 % 32u) / 4u;
  let hi = (j & 1u) * 4u;
  let r0 = min(m0, p.M - 1u) * p.K;
  let r1 = min(m0 + 1u, p.M - 1u) * p.K;
  let r2 = min(m0 + 2u, p.M - 1u) * p.K;
  let r3 = min(m0 + 3u, p.M - 1u) * p.K;
  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
  for (var k = 0u; k < p.K; k++) {
    let o = (k * nb + blk) * Q4K_WORDS;
    let s = q4kScales(o, j);
    let w = q4Quads(W[o + qo], hi) * s.x - s.y;
    acc0 += A[r0 + k] * w;
    acc1 += A[r1 + k] * w;
    acc2 += A[r2 + k] * w;
    acc3 += A[r3 + k] * w;
  }
  store(m0, n0, acc0);
  store(m0 + 1u, n0, acc1);
  store(m0 + 2u, n0, acc2);
  store(m0 + 3u, n0, acc3);
}
