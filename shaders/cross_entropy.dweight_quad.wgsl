// Output-layer backward, weight gradient, for CPU adapters with subgroups: dweight_direct8's 8×4
// blocks with each quad of lanes sharing its loads of G through quadBroadcast. For aligned shapes
// (V, the block's first row v0, its row count vRows and D all multiples of 4):
//   dW[v, d] += Σ_r G[r, v0 + v] · hidden[row0 + r, d] for v < vRows, d < D,
// summing the chunk's rows r = 0 … rows−1 in order, each element's products added in the same order
// as cross_entropy.dweight_direct (the same bits). dW: one row block [vRows, D] f32 (rows v0 … of the
// [V, D] gradient; a whole one has v0 0, vRows V), ACCUMULATES (+=). G = dlogits [rows, V] f32.
// Threads: a 1-D workgroup of 16 lanes shares its 8 rows of dW (v = 8 · workgroup_id.y …); lane i
// computes d = 4i … 4i + 3. In each 4-row step of r, lane j of a quad loads G[r + j, v…v+7] and
// quadBroadcast hands it the other three rows: two vec4 loads of G per 4 rows where dweight_direct8
// makes eight. A quad's lanes share their v whatever lanes it holds, and none returns early (quad
// operations need the whole quad): lanes past D load a clamped column and store nothing; the second
// half of a block past vRows loads its first half again and is not stored.

enable subgroups;

// #params Params

@group(0) @binding(0) var<storage, read> G: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> hidden: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> dW: array<vec4<f32>>;
@group(0) @binding(3) var<uniform> p: Params;

// #include quad_lanes

fn store(v: u32, d0: u32, c: vec4<f32>) {
  if (v >= p.vRows || d0 >= p.D) {
    return;
  }
  let o = (v * p.D + d0) / 4u;
  dW[o] += c;
}

@compute @workgroup_size(16)
fn main(
  @builtin(global_invocation_id) gid: vec3<u32>,
  @builtin(workgroup_id) wg: vec3<u32>,
  @builtin(subgroup_invocation_id) sg: u32,
) {
  let v0 = wg.y * 8u;
  let d0 = gid.x * 4u;
  let dc = min(d0, p.D - 4u) / 4u; // this lane's column block, clamped
  let dq = p.D / 4u;
  let j = sg & 3u;
  // Columns v0…v0+3 and v4…v4+3 of G (v4 = v0 when the block ends after the first four).
  let v4 = select(v0, v0 + 4u, v0 + 4u < p.vRows);
  let ga0 = (p.v0 + v0) / 4u;
  let gb0 = (p.v0 + v4) / 4u;
  let vq = p.V / 4u;
  let h0 = p.row0 * dq + dc;
  var c0 = vec4<f32>(0.0);
  var c1 = vec4<f32>(0.0);
  var c2 = vec4<f32>(0.0);
  var c3 = vec4<f32>(0.0);
  var c4 = vec4<f32>(0.0);
  var c5 = vec4<f32>(0.0);
  var c6 = vec4<f32>(0.0);
  var c7 = vec4<f32>(0.0);
  var r = 0u;
  for (; r + 4u <= p.rows; r += 4u) {
    // Lane j's share: row r + j of G at v…v+7.
    let xa = G[(r + j) * vq + ga0];
    let xb = G[(r + j) * vq + gb0];
    // Each hidden row just before its eight multiply-adds (fewer values live at once).
    let b0 = hidden[h0 + r * dq];
    var ga = lane0(xa);
    var gb = lane0(xb);
    c0 += ga.x * b0;
    c1 += ga.y * b0;
    c2 += ga.z * b0;
    c3 += ga.w * b0;
    c4 += gb.x * b0;
    c5 += gb.y * b0;
    c6 += gb.z * b0;
    c7 += gb.w * b0;
    let b1 = hidden[h0 + (r + 1u) * dq];
    ga = lane1(xa);
    gb = lane1(xb);
    c0 += ga.x * b1;
    c1 += ga.y * b1;
    c2 += ga.z * b1;
    c3 += ga.w * b1;
    c4 += gb.x * b1;
    c5 += gb.y * b1;
    c6 += gb.z * b1;
    c7 += gb.w * b1;
    let b2 = hidden[h0 + (r + 2u) * dq];
    ga = lane2(xa);
    gb = lane2(xb);
    c0 += ga.x * b2;
    c1 += ga.y * b2;
    c2 += ga.z * b2;
    c3 += ga.w * b2;
    c4 += gb.x * b2;
    c5 += gb.y * b2;
    c6 += gb.z * b2;
    c7 += gb.w * b2;
    let b3 = hidden[h0 + (r + 3u) * dq];
    ga = lane3(xa);
    gb = lane3(xb);
    c0 += ga.x * b3;
    c1 += ga.y * b3;
    c2 += ga.z * b3;
    c3 += ga.w * b3;
    c4 += gb.x * b3;
    c5 += gb.y * b3;
    c6 += gb.z * b3;
    c7 += gb.w * b3;
  }
  // The last rows % 4 rows, each lane loading its own.
  for (; r < p.rows; r++) {
    let b = hidden[h0 + r * dq];
    let ga = G[r * vq + ga0];
    let gb = G[r * vq + gb0];
    c0 += ga.x * b;
    c1 += ga.y * b;
    c2 += ga.z * b;
    c3 += ga.w * b;
    c4 += gb.x * b;
    c5 += gb.y * b;
    c6 += gb.z * b;
    c7 += gb.w * b;
  }
  store(v0, d0, c0);
  store(v0 + 1u, d0, c1);
  store(v0 + 2u, d0, c2);
  store(v0 + 3u, d0, c3);
  if (v4 != v0) {
    store(v4, d0, c4);
    store(v4 + 1u, d0, c5);
    store(v4 + 2u, d0, c6);
    store(v4 + 3u, d0, c7);
  }
}
