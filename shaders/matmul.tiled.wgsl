// C[M, N] = A[M, K] · B[N, K]ᵀ, all f32 row-major (the "x · Wᵀ" of a linear layer).
// One 16×16 workgroup computes a 16×16 tile of C. The K dimension is walked in tiles of 16: each
// lane loads one element of the A tile and one of the B tile into workgroup memory, then every lane
// accumulates its output from the shared tiles. Edges (M, N, K not multiples of 16) load zeros.

struct Params {
  M: u32,
  N: u32,
  K: u32,
}

@group(0) @binding(0) var<storage, read> A: array<f32>;
@group(0) @binding(1) var<storage, read> B: array<f32>;
@group(0) @binding(2) var<storage, read_write> C: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

const T: u32 = 16u;
var<workgroup> As: array<array<f32, 16>, 16>;
var<workgroup> Bs: array<array<f32, 16>, 16>;

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let row = wg.y * T + lid.y;  // index into M
  let col = wg.x * T + lid.x;  // index into N
  let bRow = wg.x * T + lid.y; // row of B this lane loads
  var acc = 0.0;
  let tiles = (p.K + T - 1u) / T;
  for (var t = 0u; t < tiles; t++) {
    let k = t * T + lid.x;
    As[lid.y][lid.x] = select(0.0, A[row * p.K + k], row < p.M && k < p.K);
    Bs[lid.y][lid.x] = select(0.0, B[bRow * p.K + k], bRow < p.N && k < p.K);
    workgroupBarrier();
    for (var i = 0u; i < T; i++) {
      acc += As[lid.y][i] * Bs[lid.x][i];
    }
    workgroupBarrier();
  }
  if (row < p.M && col < p.N) {
    C[row * p.N + col] = acc;
  }
}
