// Skinny linear layer using subgroup reductions (only launched where the adapter has `subgroups`).
//   NT (forward):        C[M, N] (+)= alpha · A[M, K] · W[N, K]ᵀ   (y = x·Wᵀ, W is [out, in])
//   NN (backward input): C[M, N] (+)= alpha · A[M, K] · W[K, N]     (dx = dy·W, W is [out, in])
// A and C are f32 row-major; W is f32, or bf16 / f16 packed two per u32, decoded per element.
// Threads: one 64-lane workgroup computes a 4×4 block of C (rows 4·wg.y…, columns 4·wg.x…). The
// lanes split K (lane l takes k = l, l + 64, …) and keep 16 partial sums; subgroupAdd folds each
// subgroup, the first lane of every subgroup writes its sums to workgroup memory (other lanes
// write zeros, so no assumption about how lanes map to subgroups is needed), and 16 lanes add the
// 64 slots in a fixed order. Deterministic for a given adapter; suited to small M (generation).
// C is overwritten, or accumulated into when p.accum is 1.
enable subgroups;

override WDT: u32 = 0u;       // 0 = f32, 1 = bf16, 2 = f16
override B_NN: bool = false;  // false: W[n, k] (NT); true: W[k, n] (NN)

// #params Params

@group(0) @binding(0) var<storage, read> A: array<f32>;
@group(0) @binding(1) var<storage, read> W: array<u32>;
@group(0) @binding(2) var<storage, read_write> C: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

var<workgroup> red: array<array<vec4<f32>, 4>, 64>; // [lane][row] → 4 columns

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

fn wCol(n: u32, k: u32) -> f32 {
  if (n >= p.N) {
    return 0.0;
  }
  return wAt(select(n * p.K + k, k * p.N + n, B_NN));
}

fn aRow(m: u32, k: u32) -> f32 {
  return select(0.0, A[m * p.K + k], m < p.M);
}

@compute @workgroup_size(64)
fn main(
  @builtin(workgroup_id) wg: vec3<u32>,
  @builtin(local_invocation_index) lane: u32,
  @builtin(subgroup_invocation_id) sgLane: u32,
) {
  let m0 = wg.y * 4u;
  let n0 = wg.x * 4u;
  var acc = array<vec4<f32>, 4>(vec4<f32>(0.0), vec4<f32>(0.0), vec4<f32>(0.0), vec4<f32>(0.0));
  // The trip count is uniform (subgroupAdd below needs uniform control flow); lanes past K idle.
  for (var k0 = 0u; k0 < p.K; k0 += 64u) {
    let k = k0 + lane;
    if (k < p.K) {
      let b = vec4<f32>(wCol(n0, k), wCol(n0 + 1u, k), wCol(n0 + 2u, k), wCol(n0 + 3u, k));
      for (var i = 0u; i < 4u; i++) {
        acc[i] += aRow(m0 + i, k) * b;
      }
    }
  }
  for (var i = 0u; i < 4u; i++) {
    let s = subgroupAdd(acc[i]);
    red[lane][i] = select(vec4<f32>(0.0), s, sgLane == 0u);
  }
  workgroupBarrier();
  if (lane < 16u) {
    let i = lane / 4u;
    let j = lane % 4u;
    var total = 0.0;
    for (var l = 0u; l < 64u; l++) {
      total += red[l][i][j];
    }
    let row = m0 + i;
    let col = n0 + j;
    if (row < p.M && col < p.N) {
      let o = row * p.N + col;
      if (p.accum != 0u) {
        C[o] += p.alpha * total;
      } else {
        C[o] = p.alpha * total;
      }
    }
  }
}
