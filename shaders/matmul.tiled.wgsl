// Tiled linear layer with workgroup memory.
//   NT (forward):        C[M, N] (+)= alpha · A[M, K] · W[N, K]ᵀ   (y = x·Wᵀ, W is [out, in])
//   NN (backward input): C[M, N] (+)= alpha · A[M, K] · W[K, N]     (dx = dy·W, W is [out, in])
// A and C are f32 row-major; W is raw u32 words: f32, or bf16 / f16 packed two per u32 (element e
// in word e>>1, low half when e is even), decoded once while the tile is loaded.
// Threads: one 16×16 workgroup computes a 16×16 tile of C, one output per lane. K is walked in
// tiles of 16: each lane loads one element of the A tile and one of the W tile into workgroup
// memory (lanes along x read consecutive addresses in both layouts), then every lane accumulates
// its output from the shared tiles. Edges (M, N, K not multiples of 16) load zeros.
// C is overwritten, or accumulated into when p.accum is 1.

override WDT: u32 = 0u;       // 0 = f32, 1 = bf16, 2 = f16
override B_NN: bool = false;  // false: W[n, k] (NT); true: W[k, n] (NN)

// #params Params

@group(0) @binding(0) var<storage, read> A: array<f32>;
@group(0) @binding(1) var<storage, read> W: array<u32>;
@group(0) @binding(2) var<storage, read_write> C: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

const T: u32 = 16u;
var<workgroup> As: array<array<f32, 16>, 16>; // [m][k]
var<workgroup> Bs: array<array<f32, 16>, 16>; // [n][k]

fn wAt(e: u32) -> f32 {
  if (WDT == 0u) {
    return bitcast<f32>(W[e]);
  }
  let word = W[e >> 1u];
  let odd = (e & 1u) == 1u;
  if (WDT == 1u) {
    return bitcast<f32>(select(word << 16u, word & 0xffff0000u, odd));
  }
  let h = unpack2x16float(word);
  return select(h.x, h.y, odd);
}

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let row = wg.y * T + lid.y; // index into M
  let col = wg.x * T + lid.x; // index into N
  var acc = 0.0;
  let tiles = (p.K + T - 1u) / T;
  for (var t = 0u; t < tiles; t++) {
    let k = t * T + lid.x;
    As[lid.y][lid.x] = select(0.0, A[row * p.K + k], row < p.M && k < p.K);
    if (B_NN) {
      let kb = t * T + lid.y;
      Bs[lid.x][lid.y] = select(0.0, wAt(kb * p.N + col), col < p.N && kb < p.K);
    } else {
      let n = wg.x * T + lid.y;
      Bs[lid.y][lid.x] = select(0.0, wAt(n * p.K + k), n < p.N && k < p.K);
    }
    workgroupBarrier();
    for (var i = 0u; i < T; i++) {
      acc += As[lid.y][i] * Bs[lid.x][i];
    }
    workgroupBarrier();
  }
  if (row < p.M && col < p.N) {
    let o = row * p.N + col;
    if (p.accum != 0u) {
      C[o] += p.alpha * acc;
    } else {
      C[o] = p.alpha * acc;
    }
  }
}
