// The f16 matmul body, included by matmul.half.wgsl (f16 arithmetic, `shader-f16`) and
// matmul.half_emu.wgsl (f32 arithmetic rounded to f16 where the f16 build rounds, for adapters
// without it); they declare before the include:
//   alias H, H4                   f16 / vec4<f16>, or f32 / vec4<f32>
//   fn toH(x: f32) -> H            x rounded to f16
//   fn hfma4(a: H, b: H4, c: H4)   c + a·b with f16 rounding of the product and of the sum
// Register-blocked linear layer, regblock's tiles with f16 operands:
//   NT (forward):        C[M, N] (+)= alpha · A[M, K] · W[N, K]ᵀ   (y = x·Wᵀ, W is [out, in])
//   NN (backward input): C[M, N] (+)= alpha · A[M, K] · W[K, N]     (dx = dy·W, W is [out, in])
// A and C are f32 row-major; W is bf16 / f16 packed two per u32 (f32 W also works: each value is
// rounded to f16), read 16 bytes at a time. Alignment the launcher guarantees: K % 4 == 0; W's
// contiguous dimension (K for NT, N for NN) % 8 (halves) or % 4 (f32) == 0.
// Threads: a 16×16 workgroup computes a 64×64 tile of C, each lane a 4×4 block (rows 4·ty…,
// columns 4·tx…). First the rows' scales (matmul_rowscale: A's rows times 2^-e, in range for f16).
// K is walked in tiles of 16, staged into workgroup memory as f16 (A scaled, W decoded); each lane
// keeps four vec4<H> partial sums, adding a·w in f16 for RUN consecutive k (RUN divides 16), then
// flushes them into four vec4<f32> accumulators: f16 products and short f16 sums, f32 across K.
// The store multiplies a row by alpha·2^e. Edges (M, N not multiples of 64, K not a multiple of
// 16) stage zeros; stores are scalar and guarded. bf16 weights are rounded to f16 (8 → 11 bits of
// mantissa: exact above 6.1e-5 in magnitude); a weight beyond f16's range (|w| > 65504) would not
// fit, none in a trained model does.
// C is overwritten, or accumulated into when p.accum is 1.

override WDT: u32 = 1u;       // 0 = f32, 1 = bf16, 2 = f16
override B_NN: bool = false;  // false: W[n, k] (NT); true: W[k, n] (NN)
override RUN: u32 = 16u;      // k steps per f16 partial sum (1, 2, 4, 8 or 16; the launcher sets HALF_RUN)

// #params Params

@group(0) @binding(0) var<storage, read> A: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> W: array<vec4<u32>>;
@group(0) @binding(2) var<storage, read_write> C: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

const KT: u32 = 16u;
const RS_ROWS: u32 = 64u;
const RS_LANES: u32 = 256u;

// #include matmul_rowscale

var<workgroup> As: array<H4, 256>; // [k * 16 + row group]: rows 4g…4g+3 at k, scaled
var<workgroup> Bs: array<H4, 256>; // [k * 16 + col group]: cols 4g…4g+3 at k

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
      var v = vec4<f32>(0.0);
      if (n0 + n < p.N && k0 + kq < p.K) {
        v = bitcast<vec4<f32>>(W[((n0 + n) * p.K + k0 + kq) / 4u]);
      }
      for (var c = 0u; c < 4u; c++) {
        Bs[(kq + c) * 16u + n / 4u][n % 4u] = toH(v[c]);
      }
    } else if (tid < 128u) {
      let n = tid / 2u;
      let kh = (tid % 2u) * 8u;
      var h = array<f32, 8>(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
      if (n0 + n < p.N && k0 + kh < p.K) {
        h = halves(W[((n0 + n) * p.K + k0 + kh) / 8u]);
      }
      for (var c = 0u; c < 8u; c++) {
        Bs[(kh + c) * 16u + n / 4u][n % 4u] = toH(h[c]);
      }
    }
  } else {
    // W[k, n]: 16-byte loads run along n, already the vec4 direction of the tile.
    if (WDT == 0u) {
      let k = tid / 16u;
      let nq = tid % 16u;
      var v = vec4<f32>(0.0);
      if (k0 + k < p.K && n0 + nq * 4u < p.N) {
        v = bitcast<vec4<f32>>(W[((k0 + k) * p.N + n0 + nq * 4u) / 4u]);
      }
      Bs[k * 16u + nq] = H4(toH(v.x), toH(v.y), toH(v.z), toH(v.w));
    } else if (tid < 128u) {
      let k = tid / 8u;
      let no = tid % 8u;
      var h = array<f32, 8>(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
      if (k0 + k < p.K && n0 + no * 8u < p.N) {
        h = halves(W[((k0 + k) * p.N + n0 + no * 8u) / 8u]);
      }
      Bs[k * 16u + no * 2u] = H4(toH(h[0]), toH(h[1]), toH(h[2]), toH(h[3]));
      Bs[k * 16u + no * 2u + 1u] = H4(toH(h[4]), toH(h[5]), toH(h[6]), toH(h[7]));
    }
  }
}

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let tid = lid.y * 16u + lid.x;
  let m0 = wg.y * 64u;
  let n0 = wg.x * 64u;
  rowScales(m0, tid);
  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
  var h0 = H4();
  var h1 = H4();
  var h2 = H4();
  var h3 = H4();
  for (var k0 = 0u; k0 < p.K; k0 += KT) {
    // A[m, k] · 2^-e: one vec4 along k per lane, scattered to the k-major tile.
    let m = tid / 4u;
    let kq = (tid % 4u) * 4u;
    var a = vec4<f32>(0.0);
    if (m0 + m < p.M && k0 + kq < p.K) {
      a = A[((m0 + m) * p.K + k0 + kq) / 4u] * rsScale[m];
    }
    for (var c = 0u; c < 4u; c++) {
      As[(kq + c) * 16u + m / 4u][m % 4u] = toH(a[c]);
    }
    stageW(tid, n0, k0);
    workgroupBarrier();
    for (var k = 0u; k < KT; k++) {
      let av = As[k * 16u + lid.y];
      let bv = Bs[k * 16u + lid.x];
      h0 = hfma4(av.x, bv, h0);
      h1 = hfma4(av.y, bv, h1);
      h2 = hfma4(av.z, bv, h2);
      h3 = hfma4(av.w, bv, h3);
      if ((k + 1u) % RUN == 0u) {
        acc0 += vec4<f32>(h0);
        acc1 += vec4<f32>(h1);
        acc2 += vec4<f32>(h2);
        acc3 += vec4<f32>(h3);
        h0 = H4();
        h1 = H4();
        h2 = H4();
        h3 = H4();
      }
    }
    workgroupBarrier();
  }
  let accs = array<vec4<f32>, 4>(acc0, acc1, acc2, acc3);
  for (var i = 0u; i < 4u; i++) {
    let r = lid.y * 4u + i;
    let row = m0 + r;
    let s = p.alpha / rsScale[r];
    for (var j = 0u; j < 4u; j++) {
      let col = n0 + lid.x * 4u + j;
      if (row < p.M && col < p.N) {
        let o = row * p.N + col;
        if (p.accum != 0u) {
          C[o] += s * accs[i][j];
        } else {
          C[o] = s * accs[i][j];
        }
      }
    }
  }
}
