// Output-layer backward, input gradient, barrier-free variant for CPU adapters with 16-byte loads of
// an f32 W, for D a multiple of 4:
//   dHidden[row0 + r, d] (= or +=) Σ_{v < vRows} G[r, v0 + v] · W[v, d] for r < rows, d < D,
// G = dlogits [rows, V] f32, W = one row block [vRows, D] f32 (rows v0 … of the [V, D] output
// layer). dHidden [T, D] rows of this chunk are OVERWRITTEN (=) when p.accumulate is 0 (the first
// block) and ACCUMULATE (+=) otherwise, walking v in order with each element's products added as
// cross_entropy.dhidden_direct adds them (the same bits).
// Threads: each invocation computes an 8×4 block (rows 8·gid.y…, columns d = 4·gid.x…) in eight
// vec4 accumulators from one vec4 load of W and eight scalar loads of G per v (dhidden_direct: four
// of each per 16 multiply-adds; here nine loads per 32); 8×8 workgroups, no workgroup memory.
// Rows past the chunk's end load its last row again and are not stored.
// #params Params

@group(0) @binding(0) var<storage, read> G: array<f32>;
@group(0) @binding(1) var<storage, read> W: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> dHidden: array<vec4<f32>>;
@group(0) @binding(3) var<uniform> p: Params;

fn store(r: u32, d0: u32, c: vec4<f32>) {
  if (r >= p.rows) {
    return;
  }
  dHidden[((p.row0 + r) * p.D + d0) / 4u] = c;
}

fn prior(r: u32, d0: u32) -> vec4<f32> {
  return dHidden[((p.row0 + r) * p.D + d0) / 4u];
}

@compute @workgroup_size(8, 8)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let r0 = gid.y * 8u;
  let d0 = gid.x * 4u;
  if (r0 >= p.rows || d0 >= p.D) {
    return;
  }
  let last = p.rows - 1u;
  let r1 = min(r0 + 1u, last);
  let r2 = min(r0 + 2u, last);
  let r3 = min(r0 + 3u, last);
  let r4 = min(r0 + 4u, last);
  let r5 = min(r0 + 5u, last);
  let r6 = min(r0 + 6u, last);
  let r7 = min(r0 + 7u, last);
  let g0 = r0 * p.V + p.v0;
  let g1 = r1 * p.V + p.v0;
  let g2 = r2 * p.V + p.v0;
  let g3 = r3 * p.V + p.v0;
  let g4 = r4 * p.V + p.v0;
  let g5 = r5 * p.V + p.v0;
  let g6 = r6 * p.V + p.v0;
  let g7 = r7 * p.V + p.v0;
  var c0 = vec4<f32>(0.0);
  var c1 = vec4<f32>(0.0);
  var c2 = vec4<f32>(0.0);
  var c3 = vec4<f32>(0.0);
  var c4 = vec4<f32>(0.0);
  var c5 = vec4<f32>(0.0);
  var c6 = vec4<f32>(0.0);
  var c7 = vec4<f32>(0.0);
  if (p.accumulate == 1u) {
    c0 = prior(r0, d0);
    c1 = prior(r1, d0);
    c2 = prior(r2, d0);
    c3 = prior(r3, d0);
    c4 = prior(r4, d0);
    c5 = prior(r5, d0);
    c6 = prior(r6, d0);
    c7 = prior(r7, d0);
  }
  for (var v = 0u; v < p.vRows; v++) {
    let b = W[(v * p.D + d0) / 4u];
    c0 += G[g0 + v] * b;
    c1 += G[g1 + v] * b;
    c2 += G[g2 + v] * b;
    c3 += G[g3 + v] * b;
    c4 += G[g4 + v] * b;
    c5 += G[g5 + v] * b;
    c6 += G[g6 + v] * b;
    c7 += G[g7 + v] * b;
  }
  store(r0, d0, c0);
  store(r0 + 1u, d0, c1);
  store(r0 + 2u, d0, c2);
  store(r0 + 3u, d0, c3);
  store(r0 + 4u, d0, c4);
  store(r0 + 5u, d0, c5);
  store(r0 + 6u, d0, c6);
  store(r0 + 7u, d0, c7);
}
