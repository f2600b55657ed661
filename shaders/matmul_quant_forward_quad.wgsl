// The body of the linear forward with a quantized weight whose lanes share their A loads across
// each quad (adapters with subgroups):
//   C[M, N] (+)= alpha · A[M, K] · W[N, K]ᵀ   (y = x·Wᵀ, W is [out, in], quantized by rows of K)
// Included by matmul.forward_<type>_quad.wgsl after `enable subgroups;` and the type's decoder
// (quant_<type>.wgsl). W is in the GPU layout of quant-layout.ts; the launcher guarantees
// K % QB == 0. A is read as vec4 from A[m·aStride + aCol …] (aStride, aCol % 4 == 0: the launcher
// checks); C written at C[m·cStride + cCol + n] (quant_store.wgsl).
// Why: on CPU adapters (SwiftShader) every load from a buffer is a per-lane gather costing many
// multiply-adds (matmul.quad8.wgsl), and the 4 lanes of a quad read the same rows of A. So lane j
// of a quad loads only A[row, k + 4j … k + 4j + 3] of each 16 values and quadBroadcast hands every
// lane the other three quarters: a quarter of the direct kernels' A loads.
// Threads: a 1-D workgroup of WG_X lanes shares its 8 rows (8 · workgroup_id.y …); lane i computes
// columns (weight rows) 4i … 4i + 3 in eight vec4 accumulators. The loop is
// matmul_quant_forward_steps.wgsl's (32 values a step, two unrolled halves, quants as q/255), with
// Σ A for the min term summed over the quad. No lane returns early (quad operations need the whole
// quad): lanes past M or N read clamped rows and store nothing.
// C is overwritten, or accumulated into when p.accum is 1.

override WG_X: u32 = 16u;
const ROWS8 = true;
const ONE_ROW = false;

// #params Params

@group(0) @binding(0) var<storage, read> A: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> W: array<u32>;
@group(0) @binding(2) var<storage, read_write> C: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

// #include quad_lanes
// #include quant_blocks
// #include quant_store
// #include matmul_quant_forward_steps

// acc += (the row's 16 values · the step's quants) · sc, this lane holding A[at] (its quarter:
// quad lane T holds values 4T … 4T + 3); returns the sum of its quarter (for the min term).
fn row(acc: ptr<function, vec4<f32>>, at: u32, s: Step, sc: vec4<f32>) -> f32 {
  let x = A[at];
  let d = dots(lane0(x), s.q0.lo, s.q1.lo, s.q2.lo, s.q3.lo) +
    dots(lane1(x), s.q0.hi, s.q1.hi, s.q2.hi, s.q3.hi) +
    dots(lane2(x), s.r0.lo, s.r1.lo, s.r2.lo, s.r3.lo) +
    dots(lane3(x), s.r0.hi, s.r1.hi, s.r2.hi, s.r3.hi);
  *acc += d * sc;
  return dot(x, vec4<f32>(1.0));
}

// The sum of t over the lane's quad.
fn laneSum(t: vec4<f32>) -> vec4<f32> {
  let x = t + quadSwapX(t);
  return x + quadSwapY(x);
}

@compute @workgroup_size(WG_X)
fn main(
  @builtin(global_invocation_id) gid: vec3<u32>,
  @builtin(workgroup_id) wg: vec3<u32>,
  @builtin(subgroup_invocation_id) sg: u32,
) {
  // Lane sg & 3 of a quad reads the quarter 4·(sg & 3) … of each 16 values.
  product(gid.x * 4u, wg.y * 8u, sg & 3u);
}
