// Linear layer forward with a Q4_K weight, dequantized inside the product:
//   C[M, N] (+)= alpha · A[M, K] · W[N, K]ᵀ   (y = x·Wᵀ, W is [out, in], quantized by rows of K)
// A and C are f32 row-major; W is in the GPU layout of quant-layout.ts (38 words per super-block
// of 256: d, dmin, the 8 scales and 8 mins, the nibbles; see quant_blocks.wgsl). The launcher
// guarantees K % 256 == 0.
// Threads: each lane computes a 4×4 block of C (rows 4·gid.y…, columns 4·gid.x…) in f32; an 8×8
// workgroup covers 32×32. Per sub-block j of 32 values it sums A·q and A for its 4 rows, then adds
// (d·sc_j)·Σ A·q − (dmin·m_j)·Σ A for the 4 weight rows: the same product as with the dequantized
// weights (d·sc_j)·q − dmin·m_j, in another order of rounding. Rows and columns past the edge
// repeat the last one and are not stored. No workgroup memory, no barriers.
// C is overwritten, or accumulated into when p.accum is 1.

// #params Params

@group(0) @binding(0) var<storage, read> A: array<vec4<f32>>;
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
  let k4 = p.K / 4u;
  let nb = p.K / 256u;
  let r0 = min(m0, p.M - 1u) * k4;
  let r1 = min(m0 + 1u, p.M - 1u) * k4;
  let r2 = min(m0 + 2u, p.M - 1u) * k4;
  let r3 = min(m0 + 3u, p.M - 1u) * k4;
  let w0 = min(n0, p.N - 1u) * nb * Q4K_WORDS;
  let w1 = min(n0 + 1u, p.N - 1u) * nb * Q4K_WORDS;
  let w2 = min(n0 + 2u, p.N - 1u) * nb * Q4K_WORDS;
  let w3 = min(n0 + 3u, p.N - 1u) * nb * Q4K_WORDS;
  let one = vec4<f32>(1.0);
  // acc_r: row m0 + r, component c: column n0 + c.
  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
  for (var b = 0u; b < nb; b++) {
    let o0 = w0 + b * Q4K_WORDS;
    let o1 = w1 + b * Q4K_WORDS;
    let o2 = w2 + b * Q4K_WORDS;
    let o3 = w3 + b * Q4K_WORDS;
    for (var j = 0u; j < 8u; j++) {
      let hi = (j & 1u) * 4u;
      let qo = 6u + 8u * (j >> 1u);
      let ka = b * 64u + j * 8u;
      var s0 = vec4<f32>(0.0);
      var s1 = vec4<f32>(0.0);
      var s2 = vec4<f32>(0.0);
      var s3 = vec4<f32>(0.0);
      var t = vec4<f32>(0.0); // component r: Σ A over the sub-block, row m0 + r
      for (var i = 0u; i < 8u; i++) {
        let q0 = q4Quads(W[o0 + qo + i], hi);
        let q1 = q4Quads(W[o1 + qo + i], hi);
        let q2 = q4Quads(W[o2 + qo + i], hi);
        let q3 = q4Quads(W[o3 + qo + i], hi);
        let a0 = A[r0 + ka + i];
        let a1 = A[r1 + ka + i];
        let a2 = A[r2 + ka + i];
        let a3 = A[r3 + ka + i];
        s0 += vec4<f32>(dot(a0, q0), dot(a0, q1), dot(a0, q2), dot(a0, q3));
        s1 += vec4<f32>(dot(a1, q0), dot(a1, q1), dot(a1, q2), dot(a1, q3));
        s2 += vec4<f32>(dot(a2, q0), dot(a2, q1), dot(a2, q2), dot(a2, q3));
        s3 += vec4<f32>(dot(a3, q0), dot(a3, q1), dot(a3, q2), dot(a3, q3));
        t += vec4<f32>(dot(a0, one), dot(a1, one), dot(a2, one), dot(a3, one));
      }
      let c0 = q4kScales(o0, j);
      let c1 = q4kScales(o1, j);
      let c2 = q4kScales(o2, j);
      let c3 = q4kScales(o3, j);
      let ds = vec4<f32>(c0.x, c1.x, c2.x, c3.x);
      let dm = vec4<f32>(c0.y, c1.y, c2.y, c3.y);
      acc0 += s0 * ds - t.x * dm;
      acc1 += s1 * ds - t.y * dm;
      acc2 += s2 * ds - t.z * dm;
      acc3 += s3 * ds - t.w * dm;
    }
  }
  store(m0, n0, acc0);
  store(m0 + 1u, n0, acc1);
  store(m0 + 2u, n0, acc2);
  store(m0 + 3u, n0, acc3);
}
