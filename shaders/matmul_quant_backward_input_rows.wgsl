// The rows of the linear input gradient with a quantized weight, shared by
// matmul_quant_backward_input.wgsl and matmul_quant_backward_input_quad.wgsl: a lane's 8 columns
// n0 … n0 + 7 (one oct of one sub-block) of rows m0 … m0 + 7, of which it computes row 0 alone
// with ONE_ROW, rows 0–3 without ROWS8 and all 8 with it. The includer binds A (f32), W, C and p,
// includes quant_blocks and quant_store, and declares ROWS8 and ONE_ROW.

// What a lane accumulates: c_r columns 0–3 of row r, e_r columns 4–7.
struct Acc {
  c0: vec4<f32>,
  c1: vec4<f32>,
  c2: vec4<f32>,
  c3: vec4<f32>,
  c4: vec4<f32>,
  c5: vec4<f32>,
  c6: vec4<f32>,
  c7: vec4<f32>,
  e0: vec4<f32>,
  e1: vec4<f32>,
  e2: vec4<f32>,
  e3: vec4<f32>,
  e4: vec4<f32>,
  e5: vec4<f32>,
  e6: vec4<f32>,
  e7: vec4<f32>,
}

// The first element of A of each of the rows m0 … m0 + 7 (rows past M repeat the last).
struct Rows {
  r0: u32,
  r1: u32,
  r2: u32,
  r3: u32,
  r4: u32,
  r5: u32,
  r6: u32,
  r7: u32,
}

fn arow(m: u32) -> u32 {
  return min(m, p.M - 1u) * p.aStride + p.aCol;
}

fn arows(m0: u32) -> Rows {
  return Rows(
    arow(m0),
    arow(m0 + 1u),
    arow(m0 + 2u),
    arow(m0 + 3u),
    arow(m0 + 4u),
    arow(m0 + 5u),
    arow(m0 + 6u),
    arow(m0 + 7u),
  );
}

// acc += A[rows, k] · w, w the lane's 8 weights of W's row k: a (b) A at k of rows 0–3 (4–7).
fn macRows(acc: ptr<function, Acc>, a: vec4<f32>, b: vec4<f32>, w: Oct) {
  (*acc).c0 += a.x * w.lo;
  (*acc).e0 += a.x * w.hi;
  if (!ONE_ROW) {
    (*acc).c1 += a.y * w.lo;
    (*acc).e1 += a.y * w.hi;
    (*acc).c2 += a.z * w.lo;
    (*acc).e2 += a.z * w.hi;
    (*acc).c3 += a.w * w.lo;
    (*acc).e3 += a.w * w.hi;
  }
  if (ROWS8) {
    (*acc).c4 += b.x * w.lo;
    (*acc).e4 += b.x * w.hi;
    (*acc).c5 += b.y * w.lo;
    (*acc).e5 += b.y * w.hi;
    (*acc).c6 += b.z * w.lo;
    (*acc).e6 += b.z * w.hi;
    (*acc).c7 += b.w * w.lo;
    (*acc).e7 += b.w * w.hi;
  }
}

// Stores the lane's rows (those past M are not stored).
fn storeRows(acc: ptr<function, Acc>, m0: u32, n0: u32) {
  store8(m0, n0, (*acc).c0, (*acc).e0);
  if (!ONE_ROW) {
    store8(m0 + 1u, n0, (*acc).c1, (*acc).e1);
    store8(m0 + 2u, n0, (*acc).c2, (*acc).e2);
    store8(m0 + 3u, n0, (*acc).c3, (*acc).e3);
  }
  if (ROWS8) {
    store8(m0 + 4u, n0, (*acc).c4, (*acc).e4);
    store8(m0 + 5u, n0, (*acc).c5, (*acc).e5);
    store8(m0 + 6u, n0, (*acc).c6, (*acc).e6);
    store8(m0 + 7u, n0, (*acc).c7, (*acc).e7);
  }
}
