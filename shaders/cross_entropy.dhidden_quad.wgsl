// Output-layer backward, input gradient, for CPU adapters with subgroups: dhidden_direct8's 8×4
// blocks with each quad of lanes sharing its loads of G through quadBroadcast. For an f32 W and D a
// multiple of 4:
//   dHidden[row0 + r, d] (= or +=) Σ_{v < vRows} G[r, v0 + v] · W[v, d] for r < rows, d < D,
// G = dlogits [rows, V] f32, W = one row block [vRows, D] f32 (rows v0 … of the [V, D] output
// layer). dHidden [T, D] rows of this chunk are OVERWRITTEN (=) when p.accumulate is 0 (the first
// block) and ACCUMULATE (+=) otherwise, walking v in order with each element's products added as
// cross_entropy.dhidden_direct adds them (the same bits).
// Threads: a 1-D workgroup of 16 lanes shares its 8 rows (8 · workgroup_id.y …); lane i computes
// d = 4i … 4i + 3. In each 4-wide step of v, lane j of a quad loads G[r, v + j] for its 8 rows and
// quadBroadcast hands it the other three lanes' values: 8 scalar loads of G per 4 values of v
// where dhidden_direct8 makes 32 (on SwiftShader each load is a per-lane gather, a broadcast a
// register shuffle). A quad's lanes share their rows whatever lanes it holds, and none returns early
// (quad operations need the whole quad): lanes past D load a clamped column and store nothing;
// rows past the chunk's end load its last row again and are not stored.

enable subgroups;

// #params Params

@group(0) @binding(0) var<storage, read> G: array<f32>;
@group(0) @binding(1) var<storage, read> W: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> dHidden: array<vec4<f32>>;
@group(0) @binding(3) var<uniform> p: Params;

// #include quad_lanes

fn store(r: u32, d0: u32, c: vec4<f32>) {
  if (r >= p.rows || d0 >= p.D) {
    return;
  }
  dHidden[((p.row0 + r) * p.D + d0) / 4u] = c;
}

fn prior(r: u32, d0: u32) -> vec4<f32> {
  return dHidden[((p.row0 + r) * p.D + d0) / 4u];
}

@compute @workgroup_size(16)
fn main(
  @builtin(global_invocation_id) gid: vec3<u32>,
  @builtin(workgroup_id) wg: vec3<u32>,
  @builtin(subgroup_invocation_id) sg: u32,
) {
  let r0 = wg.y * 8u;
  let d0 = gid.x * 4u;
  let dp = min(d0, p.D - 4u); // this lane's first column, clamped
  let dc = dp / 4u;
  let dq = p.D / 4u;
  let j = sg & 3u;
  let last = p.rows - 1u;
  let r1 = min(r0 + 1u, last);
  let r2 = min(r0 + 2u, last);
  let r3 = min(r0 + 3u, last);
  let r4 = min(r0 + 4u, last);
  let r5 = min(r0 + 5u, last);
  let r6 = min(r0 + 6u, last);
  let r7 = min(r0 + 7u, last);
  let g0 = min(r0, last) * p.V + p.v0;
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
    c0 = prior(min(r0, last), dp);
    c1 = prior(r1, dp);
    c2 = prior(r2, dp);
    c3 = prior(r3, dp);
    c4 = prior(r4, dp);
    c5 = prior(r5, dp);
    c6 = prior(r6, dp);
    c7 = prior(r7, dp);
  }
  var v = 0u;
  for (; v + 4u <= p.vRows; v += 4u) {
    // Lane j's share: G[r, v + j] of each row.
    let x0 = G[g0 + v + j];
    let x1 = G[g1 + v + j];
    let x2 = G[g2 + v + j];
    let x3 = G[g3 + v + j];
    let x4 = G[g4 + v + j];
    let x5 = G[g5 + v + j];
    let x6 = G[g6 + v + j];
    let x7 = G[g7 + v + j];
    // Each W row just before its eight multiply-adds (fewer values live at once).
    let b0 = W[v * dq + dc];
    c0 += lane0s(x0) * b0;
    c1 += lane0s(x1) * b0;
    c2 += lane0s(x2) * b0;
    c3 += lane0s(x3) * b0;
    c4 += lane0s(x4) * b0;
    c5 += lane0s(x5) * b0;
    c6 += lane0s(x6) * b0;
    c7 += lane0s(x7) * b0;
    let b1 = W[(v + 1u) * dq + dc];
    c0 += lane1s(x0) * b1;
    c1 += lane1s(x1) * b1;
    c2 += lane1s(x2) * b1;
    c3 += lane1s(x3) * b1;
    c4 += lane1s(x4) * b1;
    c5 += lane1s(x5) * b1;
    c6 += lane1s(x6) * b1;
    c7 += lane1s(x7) * b1;
    let b2 = W[(v + 2u) * dq + dc];
    c0 += lane2s(x0) * b2;
    c1 += lane2s(x1) * b2;
    c2 += lane2s(x2) * b2;
    c3 += lane2s(x3) * b2;
    c4 += lane2s(x4) * b2;
    c5 += lane2s(x5) * b2;
    c6 += lane2s(x6) * b2;
    c7 += lane2s(x7) * b2;
    let b3 = W[(v + 3u) * dq + dc];
    c0 += lane3s(x0) * b3;
    c1 += lane3s(x1) * b3;
    c2 += lane3s(x2) * b3;
    c3 += lane3s(x3) * b3;
    c4 += lane3s(x4) * b3;
    c5 += lane3s(x5) * b3;
    c6 += lane3s(x6) * b3;
    c7 += lane3s(x7) * b3;
  }
  // The last vRows % 4 values of v, each lane loading its own.
  for (; v < p.vRows; v++) {
    let b = W[v * dq + dc];
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
