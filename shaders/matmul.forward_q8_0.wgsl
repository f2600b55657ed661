// Linear layer forward with a Q8_0 weight, dequantized inside the product:
//   C[M, N] (+)= alpha · A[M, K] · W[N, K]ᵀ   (y = x·Wᵀ, W is [out, in], quantized by rows of K)
// A and C are f32 row-major; W is in the GPU layout of quant-layout.ts (9 words per block of 32:
// d, then the 32 int8 quants; see quant_blocks.wgsl). The launcher guarantees K % 32 == 0.
// Threads: each lane computes a 4×4 block of C (rows 4·gid.y…, columns 4·gid.x…) in f32; an 8×8
// workgroup covers 32×32. Per block of 32 along K it sums A·q for its 4 rows and 4 weight rows
// (one int8 word feeds four multiply-adds), then scales the sums by the 4 rows' d. Rows and columns
// past the edge repeat the last one and are not stored. No workgroup memory, no barriers.
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
  let nb = p.K / 32u;
  let r0 = min(m0, p.M - 1u) * k4;
  let r1 = min(m0 + 1u, p.M - 1u) * k4;
  let r2 = min(m0 + 2u, p.M - 1u) * k4;
  let r3 = min(m0 + 3u, p.M - 1u) * k4;
  let w0 = min(n0, p.N - 1u) * nb * Q8_WORDS;
  let w1 = min(n0 + 1u, p.N - 1u) * nb * Q8_WORDS;
  let w2 = min(n0 + 2u, p.N - 1u) * nb * Q8_WORDS;
  let w3 = min(n0 + 3u, p.N - 1u) * nb * Q8_WORDS;
  // acc_r: row m0 + r, component c: column n0 + c.
  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
  for (var b = 0u; b < nb; b++) {
    let o0 = w0 + b * Q8_WORDS;
    let o1 = w1 + b * Q8_WORDS;
    let o2 = w2 + b * Q8_WORDS;
    let o3 = w3 + b * Q8_WORDS;
    var s0 = vec4<f32>(0.0);
    var s1 = vec4<f32>(0.0);
    var s2 = vec4<f32>(0.0);
    var s3 = vec4<f32>(0.0);
    for (var i = 0u; i < 8u; i++) {
      let q0 = q8Quads(W[o0 + 1u + i]);
      let q1 = q8Quads(W[o1 + 1u + i]);
      let q2 = q8Quads(W[o2 + 1u + i]);
      let q3 = q8Quads(W[o3 + 1u + i]);
      let ka = b * 8u + i;
      let a0 = A[r0 + ka];
      let a1 = A[r1 + ka];
      let a2 = A[r2 + ka];
      let a3 = A[r3 + ka];
      s0 += vec4<f32>(dot(a0, q0), dot(a0, q1), dot(a0, q2), dot(a0, q3));
      s1 += vec4<f32>(dot(a1, q0), dot(a1, q1), dot(a1, q2), dot(a1, q3));
      s2 += vec4<f32>(dot(a2, q0), dot(a2, q1), dot(a2, q2), dot(a2, q3));
      s3 += vec4<f32>(dot(a3, q0), dot(a3, q1), dot(a3, q2), dot(a3, q3));
    }
    let d = vec4<f32>(
      bitcast<f32>(W[o0]),
      bitcast<f32>(W[o1]),
      bitcast<f32>(W[o2]),
      bitcast<f32>(W[o3]),
    );
    acc0 += s0 * d;
    acc1 += s1 * d;
    acc2 += s2 * d;
    acc3 += s3 * d;
  }
  store(m0, n0, acc0);
  store(m0 + 1u, n0, acc1);
  store(m0 + 2u, n0, acc2);
  store(m0 + 3u, n0, acc3);
}
