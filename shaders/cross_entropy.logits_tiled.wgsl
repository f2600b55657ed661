// Output layer over one row block of W: logits[r, v0 + v] = Σ_k hidden[row0 + r, k] · W[v, k] for
// r < rows, v < vRows (x · Wᵀ).
// hidden: [T, D] f32; W: the block, [vRows, D] as raw u32 words: f32 (DTYPE 0) or bf16 (1) / f16 (2)
// packed two per u32, unpacked here; it holds rows v0 … v0 + vRows − 1 of the [V, D] output layer (a
// whole matrix is one block: v0 0, vRows V). logits: [rows, V] f32 (a chunk of tokens); this block's
// columns are overwritten.
// One 16×16 workgroup computes a 16×16 tile of logits (grid x over vRows, y over rows), walking D in
// tiles of 16 through workgroup memory; edges load zeros.

override DTYPE: u32 = 0u;

// #params Params

@group(0) @binding(0) var<storage, read> hidden: array<f32>;
@group(0) @binding(1) var<storage, read> W: array<u32>;
@group(0) @binding(2) var<storage, read_write> logits: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

const TS: u32 = 16u;
var<workgroup> As: array<array<f32, 16>, 16>;
var<workgroup> Bs: array<array<f32, 16>, 16>;

// #include packed16

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let r = wg.y * TS + lid.y;
  let v = wg.x * TS + lid.x;
  let bRow = wg.x * TS + lid.y;
  var acc = 0.0;
  let tiles = (p.D + TS - 1u) / TS;
  for (var t = 0u; t < tiles; t++) {
    let k = t * TS + lid.x;
    var a = 0.0;
    if (r < p.rows && k < p.D) {
      a = hidden[(p.row0 + r) * p.D + k];
    }
    var b = 0.0;
    if (bRow < p.vRows && k < p.D) {
      b = loadW(bRow * p.D + k);
    }
    As[lid.y][lid.x] = a;
    Bs[lid.y][lid.x] = b;
    workgroupBarrier();
    for (var i = 0u; i < TS; i++) {
      acc += As[lid.y][i] * Bs[lid.x][i];
    }
    workgroupBarrier();
  }
  if (r < p.rows && v < p.vRows) {
    logits[r * p.V + p.v0 + v] = acc;
  }
}
