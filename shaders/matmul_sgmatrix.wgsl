// The subgroup-matrix matmul body, included by matmul.sgmatrix.wgsl (WGSL's subgroup matrices:
// Dawn/Chrome's chromium_experimental_subgroup_matrix) and matmul.sgmatrix_emu.wgsl (the same body
// with each matrix held whole by one invocation, plain WGSL, for adapters without the feature).
// They declare before the include:
//   const SM_M, SM_N, SM_K: u32     the configuration: left SM_M×SM_K · right SM_K×SM_N
//   SM_F16 (bool)                   operands in f16 (A's rows scaled into range first), else f32
//   alias SmT                       the operands' type in workgroup memory
//   SmLeft, SmRight, SmAcc          the matrix types (the result's components are f32)
//   fn smZero() -> SmAcc, smLoadLeft(off, stride) -> SmLeft (from As), smLoadRight(off, stride)
//      -> SmRight (from Bs), smMma(l, r, acc) -> SmAcc (l·r + acc), smStore(off, stride, acc)
//      (into Cs); all row-major, offsets and strides in elements
//   fn toSm(x: f32) -> SmT          x as an operand
//   fn leads(lid: u32) -> bool      whether this invocation's subgroup is the one that multiplies
// Linear layer:
//   NT (forward):        C[M, N] (+)= alpha · A[M, K] · W[N, K]ᵀ   (y = x·Wᵀ, W is [out, in])
//   NN (backward input): C[M, N] (+)= alpha · A[M, K] · W[K, N]     (dx = dy·W, W is [out, in])
// A and C are f32 row-major; W is bf16 / f16 packed two per u32 or f32, read 16 bytes at a time
// (the launcher guarantees K % 4 == 0 and W's contiguous dimension % 8 (halves) or % 4 (f32)).
// Threads: a workgroup of RS_LANES invocations (the adapter's largest subgroup size, which
// subgroup matrices require of workgroup_size.x) covers a BM × BN block of C, BM = 2·SM_M rows and
// BN = 4·SM_N columns: the 2 × 4 result matrices of one subgroup, kept in eight named accumulators
// (an array of them is known to break Metal's compiler). All lanes stage K in steps of BK = 2·SM_K:
// A's BM × BK block and W's block as B[BK × BN], converted to SmT in workgroup memory; then the
// subgroup holding local invocation 0 loads 2 left and 4 right matrices per SM_K and multiplies
// (where the adapter's subgroups are smaller than its largest, the other subgroups only stage).
// At the end that subgroup stores its results to workgroup memory and every lane writes C from
// there, times alpha (and 2^e for the scaled rows). Edges stage zeros; stores are guarded.
// C is overwritten, or accumulated into when p.accum is 1.

override WDT: u32 = 1u;        // 0 = f32, 1 = bf16, 2 = f16
override B_NN: bool = false;   // false: W[n, k] (NT); true: W[k, n] (NN)
override RS_LANES: u32 = 32u;  // invocations per workgroup: the adapter's largest subgroup size

// #params Params

@group(0) @binding(0) var<storage, read> A: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> W: array<vec4<u32>>;
@group(0) @binding(2) var<storage, read_write> C: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

const BM: u32 = 2u * SM_M;
const BN: u32 = 4u * SM_N;
const BK: u32 = 2u * SM_K;
const RS_ROWS: u32 = BM;

// #include matmul_rowscale

var<workgroup> As: array<SmT, BM * BK>; // A's block, row-major, stride BK
var<workgroup> Bs: array<SmT, BK * BN>; // W's block as B[k][n], row-major, stride BN
var<workgroup> Cs: array<f32, BM * BN>; // the results, row-major, stride BN

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

// Stages A[m0…, k0…] (scaled when SM_F16) and W's block for k0 … k0 + BK - 1.
fn stage(lid: u32, m0: u32, n0: u32, k0: u32) {
  for (var i = lid; i < BM * BK / 4u; i += RS_LANES) {
    let r = i / (BK / 4u);
    let kq = (i % (BK / 4u)) * 4u;
    var a = vec4<f32>(0.0);
    if (m0 + r < p.M && k0 + kq < p.K) {
      a = A[((m0 + r) * p.K + k0 + kq) / 4u];
      if (SM_F16) {
        a *= rsScale[r];
      }
    }
    for (var c = 0u; c < 4u; c++) {
      As[r * BK + kq + c] = toSm(a[c]);
    }
  }
  if (!B_NN) {
    // W[n, k]: 16-byte loads along k, scattered into B[k][n].
    if (WDT == 0u) {
      for (var i = lid; i < BN * BK / 4u; i += RS_LANES) {
        let n = i / (BK / 4u);
        let kq = (i % (BK / 4u)) * 4u;
        var v = vec4<f32>(0.0);
        if (n0 + n < p.N && k0 + kq < p.K) {
          v = bitcast<vec4<f32>>(W[((n0 + n) * p.K + k0 + kq) / 4u]);
        }
        for (var c = 0u; c < 4u; c++) {
          Bs[(kq + c) * BN + n] = toSm(v[c]);
        }
      }
    } else {
      for (var i = lid; i < BN * BK / 8u; i += RS_LANES) {
        let n = i / (BK / 8u);
        let kh = (i % (BK / 8u)) * 8u;
        var h = array<f32, 8>(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
        if (n0 + n < p.N && k0 + kh < p.K) {
          h = halves(W[((n0 + n) * p.K + k0 + kh) / 8u]);
        }
        for (var c = 0u; c < 8u; c++) {
          Bs[(kh + c) * BN + n] = toSm(h[c]);
        }
      }
    }
  } else {
    // W[k, n]: 16-byte loads along n, B's own row direction.
    if (WDT == 0u) {
      for (var i = lid; i < BK * BN / 4u; i += RS_LANES) {
        let k = i / (BN / 4u);
        let nq = (i % (BN / 4u)) * 4u;
        var v = vec4<f32>(0.0);
        if (k0 + k < p.K && n0 + nq < p.N) {
          v = bitcast<vec4<f32>>(W[((k0 + k) * p.N + n0 + nq) / 4u]);
        }
        for (var c = 0u; c < 4u; c++) {
          Bs[k * BN + nq + c] = toSm(v[c]);
        }
      }
    } else {
      for (var i = lid; i < BK * BN / 8u; i += RS_LANES) {
        let k = i / (BN / 8u);
        let nh = (i % (BN / 8u)) * 8u;
        var h = array<f32, 8>(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
        if (k0 + k < p.K && n0 + nh < p.N) {
          h = halves(W[((k0 + k) * p.N + n0 + nh) / 8u]);
        }
        for (var c = 0u; c < 8u; c++) {
          Bs[k * BN + nh + c] = toSm(h[c]);
        }
      }
    }
  }
}

@compute @workgroup_size(RS_LANES)
fn main(
  @builtin(workgroup_id) wg: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let m0 = wg.y * BM;
  let n0 = wg.x * BN;
  if (SM_F16) {
    rowScales(m0, lid);
  }
  let lead = leads(lid);
  var c00 = smZero();
  var c01 = smZero();
  var c02 = smZero();
  var c03 = smZero();
  var c10 = smZero();
  var c11 = smZero();
  var c12 = smZero();
  var c13 = smZero();
  for (var k0 = 0u; k0 < p.K; k0 += BK) {
    stage(lid, m0, n0, k0);
    workgroupBarrier();
    if (lead) {
      for (var kk = 0u; kk < BK; kk += SM_K) {
        let l0 = smLoadLeft(kk, BK);
        let l1 = smLoadLeft(SM_M * BK + kk, BK);
        let r0 = smLoadRight(kk * BN, BN);
        let r1 = smLoadRight(kk * BN + SM_N, BN);
        let r2 = smLoadRight(kk * BN + 2u * SM_N, BN);
        let r3 = smLoadRight(kk * BN + 3u * SM_N, BN);
        c00 = smMma(l0, r0, c00);
        c01 = smMma(l0, r1, c01);
        c02 = smMma(l0, r2, c02);
        c03 = smMma(l0, r3, c03);
        c10 = smMma(l1, r0, c10);
        c11 = smMma(l1, r1, c11);
        c12 = smMma(l1, r2, c12);
        c13 = smMma(l1, r3, c13);
      }
    }
    workgroupBarrier();
  }
  if (lead) {
    smStore(0u, BN, c00);
    smStore(SM_N, BN, c01);
    smStore(2u * SM_N, BN, c02);
    smStore(3u * SM_N, BN, c03);
    smStore(SM_M * BN, BN, c10);
    smStore(SM_M * BN + SM_N, BN, c11);
    smStore(SM_M * BN + 2u * SM_N, BN, c12);
    smStore(SM_M * BN + 3u * SM_N, BN, c13);
  }
  workgroupBarrier();
  for (var i = lid; i < BM * BN; i += RS_LANES) {
    let r = i / BN;
    let row = m0 + r;
    let col = n0 + i % BN;
    if (row < p.M && col < p.N) {
      var s = p.alpha;
      if (SM_F16) {
        s = s / rsScale[r];
      }
      let o = row * p.N + col;
      C[o] = s * Cs[i] + select(0.0, C[o], p.accum != 0u);
    }
  }
}
