// Output-layer backward, weight gradient over one row block: dW[v, d] += Σ_r G[r, v0 + v] ·
// hidden[row0 + r, d] for v < vRows, d < D, summing the chunk's rows r = 0 … rows−1 in a fixed order
// (deterministic: each dW element is owned by one lane; chunks are added one after another).
// dW: the block [vRows, D] f32 (rows v0 … of the [V, D] gradient; a whole one has v0 0, vRows V),
// ACCUMULATES (+=). G = dlogits [rows, V] f32.
// One 16×16 workgroup computes a 16×16 tile (grid x over D, y over vRows), walking the chunk's rows
// in tiles of 16 through workgroup memory; loads are coalesced along v for G and along d for hidden.

// #params Params

@group(0) @binding(0) var<storage, read> G: array<f32>;
@group(0) @binding(1) var<storage, read> hidden: array<f32>;
@group(0) @binding(2) var<storage, read_write> dW: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

const TS: u32 = 16u;
var<workgroup> As: array<array<f32, 16>, 16>; // As[v_local][r_local]
var<workgroup> Bs: array<array<f32, 16>, 16>; // Bs[r_local][d_local]

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let v = wg.y * TS + lid.y;
  let d = wg.x * TS + lid.x;
  let vLoad = wg.y * TS + lid.x;
  var acc = 0.0;
  let tiles = (p.rows + TS - 1u) / TS;
  for (var t = 0u; t < tiles; t++) {
    let k = t * TS + lid.y; // chunk row this lane loads
    var a = 0.0;
    var b = 0.0;
    if (k < p.rows && vLoad < p.vRows) {
      a = G[k * p.V + p.v0 + vLoad];
    }
    if (k < p.rows && d < p.D) {
      b = hidden[(p.row0 + k) * p.D + d];
    }
    As[lid.x][lid.y] = a;
    Bs[lid.y][lid.x] = b;
    workgroupBarrier();
    for (var i = 0u; i < TS; i++) {
      acc += As[lid.y][i] * Bs[i][lid.x];
    }
    workgroupBarrier();
  }
  if (v < p.vRows && d < p.D) {
    let i = v * p.D + d;
    dW[i] = dW[i] + acc;
  }
}
