// Register-blocked linear layer with vectorised (vec4) loads.
//   NT (forward):        C[M, N] (+)= alpha · A[M, K] · W[N, K]ᵀ   (y = x·Wᵀ, W is [out, in])
//   NN (backward input): C[M, N] (+)= alpha · A[M, K] · W[K, N]     (dx = dy·W, W is [out, in])
// A and C are f32 row-major; W is f32, or bf16 / f16 packed two per u32, read 16 bytes at a time
// (4 f32 or 8 halves) and decoded while the tile is staged. Alignment the launcher guarantees:
// K % 4 == 0; for W, its contiguous dimension % 4 (f32) or % 8 (halves) == 0.
// Threads: a 16×16 workgroup computes a 64×64 tile of C; each lane owns a 4×4 block (rows
// 4·ty…4·ty+3, columns 4·tx…4·tx+3) held in four vec4 accumulators. K is walked in tiles of 16:
// each lane stages one vec4 of A (and of W) into workgroup memory laid out k-major, so the inner
// loop reads one vec4 of A rows and one vec4 of W columns per k and issues four vec4 FMAs.
// Edges (M, N not multiples of 64, K not a multiple of 16) stage zeros; stores are scalar and
// guarded.
// C is overwritten, or accumulated into when p.accum is 1.

override WDT: u32 = 0u;       // 0 = f32, 1 = bf16, 2 = f16
override B_NN: bool = false;  // false: W[n, k] (NT); true: W[k, n] (NN)

// #params Params

@group(0) @binding(0) var<storage, read> A: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> W: array<vec4<u32>>;
@group(0) @binding(2) var<storage, read_write> C: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

const KT: u32 = 16u;
var<workgroup> As: array<vec4<f32>, 256>; // [k * 16 + row group]: rows 4g…4g+3 at k
var<workgroup> Bs: array<vec4<f32>, 256>; // [k * 16 + col group]: cols 4g…4g+3 at k

// Eight halves of a 16-byte word group, in element order.
fn halves(w: vec4<u32>) -> array<f32, 8> {
  if (WDT == 1u) {
    let lo = bitcast<vec4<f32>>(w << vec4<u32>(16u));
    let hi = bitcast<vec4<f32>>(w & vec4<u32>(0xffff0000u));
    return array<f32, 8>(lo.x, hi.x, lo.y, hi.y, lo.z, hi.z, lo.w, hi.w);
  }
  let a = unpack2x16float(w.x);
  let b = unpack2x16float(w.y);
  let c = unpack2x16float(w.z);
  let d = unpack2x16float(w.w);
  return array<f32, 8>(a.x, a.y, b.x, b.y, c.x, c.y, d.x, d.y);
}

fn stageW(tid: u32, n0: u32, k0: u32) {
  if (!B_NN) {
    // W[n, k]: 16-byte loads run along k; scatter them to the k-major tile.
    if (WDT == 0u) {
      let n = tid / 4u;
      let kq = (tid % 4u) * 4u;
      let gn = n0 + n;
      let gk = k0 + kq;
      var v = vec4<f32>(0.0);
      if (gn < p.N && gk < p.K) {
        v = bitcast<vec4<f32>>(W[(gn * p.K + gk) / 4u]);
      }
      for (var c = 0u; c < 4u; c++) {
        Bs[(kq + c) * 16u + n / 4u][n % 4u] = v[c];
      }
    } else if (tid < 128u) {
      let n = tid / 2u;
      let kh = (tid % 2u) * 8u;
      let gn = n0 + n;
      let gk = k0 + kh;
      var h = array<f32, 8>(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
      if (gn < p.N && gk < p.K) {
        h = halves(W[(gn * p.K + gk) / 8u]);
      }
      for (var c = 0u; c < 8u; c++) {
        Bs[(kh + c) * 16u + n / 4u][n % 4u] = h[c];
      }
    }
  } else {
    // W[k, n]: 16-byte loads run along n, which is already the vec4 direction of the tile.
    if (WDT == 0u) {
      let k = tid / 16u;
      let nq = tid % 16u;
      let gk = k0 + k;
      let gn = n0 + nq * 4u;
      var v = vec4<f32>(0.0);
      if (gk < p.K && gn < p.N) {
        v = bitcast<vec4<f32>>(W[(gk * p.N + gn) / 4u]);
      }
      Bs[k * 16u + nq] = v;
    } else if (tid < 128u) {
      let k = tid / 8u;
      let no = tid % 8u;
      let gk = k0 + k;
      let gn = n0 + no * 8u;
      var h = array<f32, 8>(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
      if (gk < p.K && gn < p.N) {
        h = halves(W[(gk * p.N + gn) / 8u]);
      }
      Bs[k * 16u + no * 2u] = vec4<f32>(h[0], h[1], h[2], h[3]);
      Bs[k * 16u + no * 2u + 1u] = vec4<f32>(h[4], h[5], h[6], h[7]);
    }
  }
}

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let tid = lid.y * 16u + lid.x;
  let m0 = wg.y * 64u;
  let n0 = wg.x * 64u;
  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
  for (var k0 = 0u; k0 < p.K; k0 += KT) {
    // A[m, k]: one vec4 along k per lane, scattered to the k-major tile.
    let m = tid / 4u;
    let kq = (tid % 4u) * 4u;
    var a = vec4<f32>(0.0);
    if (m0 + m < p.M && k0 + kq < p.K) {
      a = A[((m0 + m) * p.K + k0 + kq) / 4u];
    }
    for (var c = 0u; c < 4u; c++) {
      As[(kq + c) * 16u + m / 4u][m % 4u] = a[c];
    }
    stageW(tid, n0, k0);
    workgroupBarrier();
    for (var k = 0u; k < KT; k++) {
      let av = As[k * 16u + lid.y];
      let bv = Bs[k * 16u + lid.x];
      acc0 += av.x * bv;
      acc1 += av.y * bv;
      acc2 += av.z * bv;
      acc3 += av.w * bv;
    }
    workgroupBarrier();
  }
  let accs = array<vec4<f32>, 4>(acc0, acc1, acc2, acc3);
  for (var i = 0u; i < 4u; i++) {
    let row = m0 + lid.y * 4u + i;
    for (var j = 0u; j < 4u; j++) {
      let col = n0 + lid.x * 4u + j;
      if (row < p.M && col < p.N) {
        let o = row * p.N + col;
        if (p.accum != 0u) {
          C[o] += p.alpha * accs[i][j];
        } else {
          C[o] = p.alpha * accs[i][j];
        }
      }
    }
  }
}
