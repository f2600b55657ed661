// The body of the linear forward with a quantized weight, dequantized inside the product:
//   C[M, N] (+)= alpha · A[M, K] · W[N, K]ᵀ   (y = x·Wᵀ, W is [out, in], quantized by rows of K)
// Included by matmul.forward_<type>[_rows8].wgsl after `const ROWS8` and the type's decoder
// (quant_<type>.wgsl). W is in the GPU layout of quant-layout.ts; the launcher guarantees
// K % QB == 0. A is read as vec4 from A[m·aStride + aCol …] (aStride, aCol % 4 == 0: the launcher
// checks); C written at C[m·cStride + cCol + n] (quant_store.wgsl).
// Threads: each lane computes a 4×4 block of C (rows 4·gid.y…, columns 4·gid.x…; with ROWS8 an 8×4
// block, rows 8·gid.y…) in f32; a WG_X × WG_Y workgroup (8×8; 64×1 for 1–4 rows, ONE_ROW when
// M == 1) covers 4·WG_X columns. The loop is matmul_quant_forward_steps.wgsl's, each lane reading
// its rows' values whole. No workgroup memory, no barriers.
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
// #include matmul_quant_forward_steps

// acc += (A[at … at + 3] · the step's quants) · sc; returns Σ A[at … at + 3] (for the min term).
fn row(acc: ptr<function, vec4<f32>>, at: u32, s: Step, sc: vec4<f32>) -> f32 {
  let x0 = A[at];
  let x1 = A[at + 1u];
  let x2 = A[at + 2u];
  let x3 = A[at + 3u];
  let d = dots(x0, s.q0.lo, s.q1.lo, s.q2.lo, s.q3.lo) +
    dots(x1, s.q0.hi, s.q1.hi, s.q2.hi, s.q3.hi) +
    dots(x2, s.r0.lo, s.r1.lo, s.r2.lo, s.r3.lo) +
    dots(x3, s.r0.hi, s.r1.hi, s.r2.hi, s.r3.hi);
  *acc += d * sc;
  return dot(x0 + x1 + x2 + x3, vec4<f32>(1.0));
}

// A lane reads its rows whole: its sums are the rows' sums.
fn laneSum(t: vec4<f32>) -> vec4<f32> {
  return t;
}

@compute @workgroup_size(WG_X, WG_Y)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let n0 = gid.x * 4u;
  let m0 = gid.y * select(4u, 8u, ROWS8);
  if (n0 >= p.N || m0 >= p.M) {
    return;
  }
  product(n0, m0, 0u);
}
