// Output-layer backward, input gradient over one row block of W:
//   dHidden[row0 + r, d] (= or +=) Σ_{v < vRows} G[r, v0 + v] · W[v, d] for r < rows, d < D,
// where G = dlogits [rows, V] f32 and W = the block [vRows, D] (rows v0 … of the [V, D] output layer)
// as raw u32 words (f32 DTYPE 0, bf16 1, f16 2 packed two per u32). dHidden [T, D] rows of this chunk
// are OVERWRITTEN (=) when p.accumulate is 0 (the first block) and ACCUMULATE (+=) otherwise: the sum
// continues from the stored value in the same v order, so a split matrix gives the same bits as a
// whole one.
// One 16×16 workgroup computes a 16×16 tile (grid x over D, y over rows), walking vRows in tiles of
// 16 through workgroup memory; loads are coalesced along v for G and along d for W.

override DTYPE: u32 = 0u;

// #params Params

@group(0) @binding(0) var<storage, read> G: array<f32>;
@group(0) @binding(1) var<storage, read> W: array<u32>;
@group(0) @binding(2) var<storage, read_write> dHidden: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

const TS: u32 = 16u;
var<workgroup> As: array<array<f32, 16>, 16>;
var<workgroup> Bs: array<array<f32, 16>, 16>;

// #include packed16

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let r = wg.y * TS + lid.y;
  let d = wg.x * TS + lid.x;
  var acc = 0.0;
  if (p.accumulate == 1u && r < p.rows && d < p.D) {
    acc = dHidden[(p.row0 + r) * p.D + d];
  }
  let tiles = (p.vRows + TS - 1u) / TS;
  for (var t = 0u; t < tiles; t++) {
    let ka = t * TS + lid.x; // v index of the G element this lane loads
    let kb = t * TS + lid.y; // v index of the W element this lane loads
    var a = 0.0;
    if (r < p.rows && ka < p.vRows) {
      a = G[r * p.V + p.v0 + ka];
    }
    var b = 0.0;
    if (kb < p.vRows && d < p.D) {
      b = loadW(kb * p.D + d);
    }
    As[lid.y][lid.x] = a;
    Bs[lid.y][lid.x] = b;
    workgroupBarrier();
    for (var i = 0u; i < TS; i++) {
      acc += As[lid.y][i] * Bs[i][lid.x];
    }
    workgroupBarrier();
  }
  if (r < p.rows && d < p.D) {
    dHidden[(p.row0 + r) * p.D + d] = acc;
  }
}
