// Naive linear layer, kept beside the fast kernels so the benchmark shows what tiling buys.
//   NT (forward):        C[M, N] (+)= alpha · A[M, K] · W[N, K]ᵀ   (y = x·Wᵀ, W is [out, in])
//   NN (backward input): C[M, N] (+)= alpha · A[M, K] · W[K, N]     (dx = dy·W, W is [out, in])
// A and C are f32 row-major. W is bound as raw u32 words and decoded per element: f32 (bitcast),
// or bf16 / f16 packed two per u32 (element e in word e>>1, low half when e is even).
// Threads: one invocation per output element; a 16×16 workgroup covers a 16×16 block of C and
// each lane walks K alone, reading A and W straight from global memory.
// C is overwritten, or accumulated into when p.accum is 1.

override WDT: u32 = 0u;       // 0 = f32, 1 = bf16, 2 = f16
override B_NN: bool = false;  // false: W[n, k] (NT); true: W[k, n] (NN)

// #params Params

@group(0) @binding(0) var<storage, read> A: array<f32>;
@group(0) @binding(1) var<storage, read> W: array<u32>;
@group(0) @binding(2) var<storage, read_write> C: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

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
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let row = gid.y;
  let col = gid.x;
  if (row >= p.M || col >= p.N) {
    return;
  }
  var acc = 0.0;
  for (var k = 0u; k < p.K; k++) {
    let e = select(col * p.K + k, k * p.N + col, B_NN);
    acc += A[row * p.K + k] * wAt(e);
  }
  let i = row * p.N + col;
  if (p.accum != 0u) {
    C[i] += p.alpha * acc;
  } else {
    C[i] = p.alpha * acc;
  }
}
