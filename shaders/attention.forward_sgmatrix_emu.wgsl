// attention.forward_sgmatrix_emu: attention.forward_sgmatrix's body in plain WGSL, for adapters
// without subgroup matrices (SwiftShader): an f32 8×8×8 configuration whose matrices are arrays one
// invocation holds whole, invocation 0 standing for the multiplying subgroup. It checks the
// kernel's staging, offsets, strides, masks and online softmax against the float64 reference where
// the real kernel cannot be compiled; far too slow to be chosen for a run (the kernel and its
// thread mapping: attention_sgmatrix.wgsl).

const SM_M: u32 = 8u;
const SM_N: u32 = 8u;
const SM_K: u32 = 8u;
alias SmT = f32;

alias SmLeft = array<f32, 64>;  // [row][k], SM_M × SM_K
alias SmRight = array<f32, 64>; // [k][col], SM_K × SM_N
alias SmAcc = array<f32, 64>;   // [row][col], SM_M × SM_N

fn smZero() -> SmAcc {
  return SmAcc();
}

fn smLoadQ(off: u32, stride: u32) -> SmLeft {
  var m: SmLeft;
  for (var r = 0u; r < SM_M; r++) {
    for (var c = 0u; c < SM_K; c++) { m[r * SM_K + c] = Qs[off + r * stride + c]; }
  }
  return m;
}

fn smLoadP(off: u32, stride: u32) -> SmLeft {
  var m: SmLeft;
  for (var r = 0u; r < SM_M; r++) {
    for (var c = 0u; c < SM_K; c++) { m[r * SM_K + c] = Ps[off + r * stride + c]; }
  }
  return m;
}

fn smLoadKV(off: u32, stride: u32) -> SmRight {
  var m: SmRight;
  for (var r = 0u; r < SM_K; r++) {
    for (var c = 0u; c < SM_N; c++) { m[r * SM_N + c] = KVs[off + r * stride + c]; }
  }
  return m;
}

fn smLoadO(off: u32, stride: u32) -> SmAcc {
  var m: SmAcc;
  for (var r = 0u; r < SM_M; r++) {
    for (var c = 0u; c < SM_N; c++) { m[r * SM_N + c] = Os[off + r * stride + c]; }
  }
  return m;
}

fn smMma(l: SmLeft, r: SmRight, acc: SmAcc) -> SmAcc {
  var o = acc;
  for (var i = 0u; i < SM_M; i++) {
    for (var j = 0u; j < SM_N; j++) {
      var s = o[i * SM_N + j];
      for (var k = 0u; k < SM_K; k++) { s += l[i * SM_K + k] * r[k * SM_N + j]; }
      o[i * SM_N + j] = s;
    }
  }
  return o;
}

fn smStoreS(off: u32, stride: u32, acc: SmAcc) {
  for (var i = 0u; i < SM_M; i++) {
    for (var j = 0u; j < SM_N; j++) { Ss[off + i * stride + j] = acc[i * SM_N + j]; }
  }
}

fn smStoreO(off: u32, stride: u32, acc: SmAcc) {
  for (var i = 0u; i < SM_M; i++) {
    for (var j = 0u; j < SM_N; j++) { Os[off + i * stride + j] = acc[i * SM_N + j]; }
  }
}

fn leads(lid: u32) -> bool {
  return lid == 0u;
}

// #include attention_sgmatrix
