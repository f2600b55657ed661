// matmul.sgmatrix_emu: matmul.sgmatrix's body in plain WGSL, for adapters without subgroup
// matrices (SwiftShader): an 8×8×8 configuration whose matrices are arrays one invocation holds
// whole, invocation 0 standing for the multiplying subgroup. With SM_F16 it stages the operands as
// an f16 configuration does (A's rows scaled, every operand rounded to f16: round_f16) and
// multiplies in f32, as matrix units with f32 results do. It checks the kernel's staging, offsets,
// strides and stores against the float64 reference where the real kernel cannot be compiled; far
// too slow to be chosen for a run (the kernel and its thread mapping: matmul_sgmatrix.wgsl).

const SM_M: u32 = 8u;
const SM_N: u32 = 8u;
const SM_K: u32 = 8u;
override SM_F16: bool = false;
alias SmT = f32;

alias SmLeft = array<f32, 64>;  // [row][k], SM_M × SM_K
alias SmRight = array<f32, 64>; // [k][col], SM_K × SM_N
alias SmAcc = array<f32, 64>;   // [row][col], SM_M × SM_N

fn smZero() -> SmAcc {
  return SmAcc();
}

fn smLoadLeft(off: u32, stride: u32) -> SmLeft {
  var m: SmLeft;
  for (var r = 0u; r < SM_M; r++) {
    for (var c = 0u; c < SM_K; c++) {
      m[r * SM_K + c] = As[off + r * stride + c];
    }
  }
  return m;
}

fn smLoadRight(off: u32, stride: u32) -> SmRight {
  var m: SmRight;
  for (var r = 0u; r < SM_K; r++) {
    for (var c = 0u; c < SM_N; c++) {
      m[r * SM_N + c] = Bs[off + r * stride + c];
    }
  }
  return m;
}

fn smMma(l: SmLeft, r: SmRight, acc: SmAcc) -> SmAcc {
  var o = acc;
  for (var i = 0u; i < SM_M; i++) {
    for (var j = 0u; j < SM_N; j++) {
      var s = o[i * SM_N + j];
      for (var k = 0u; k < SM_K; k++) {
        s += l[i * SM_K + k] * r[k * SM_N + j];
      }
      o[i * SM_N + j] = s;
    }
  }
  return o;
}

fn smStore(off: u32, stride: u32, acc: SmAcc) {
  for (var i = 0u; i < SM_M; i++) {
    for (var j = 0u; j < SM_N; j++) {
      Cs[off + i * stride + j] = acc[i * SM_N + j];
    }
  }
}

// #include round_f16

fn toSm(x: f32) -> SmT {
  return select(x, roundF16(x), SM_F16);
}

fn leads(lid: u32) -> bool {
  return lid == 0u;
}

// #include matmul_sgmatrix
