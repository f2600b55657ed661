// The loop of the linear forward with a quantized weight, shared by matmul_quant_forward.wgsl (a
// lane reads whole rows of A) and matmul_quant_forward_quad.wgsl (each lane of a quad a quarter).
// The includer binds A (vec4), W, C and p, includes quant_blocks and quant_store, and declares
// ROWS8 and ONE_ROW and two functions: row(acc, at, s, sc), which adds (A's 16 values of a row
// from vec4 index at · the step's quants) · sc to acc and returns the sum of the values it read,
// and laneSum(t), the sum of t over the lanes that share a row (itself, or the quad's sum).
// product(n0, m0, j4): the lane's block of C, rows m0… (4, or 8 with ROWS8; 1 with ONE_ROW) ×
// columns n0 … n0 + 3, reading A from vec4 j4 of each 16 values on. One loop step takes 32 values
// of K (one sub-block, or two of 16), in two unrolled halves of 16 (two octs of each of the lane's
// 4 weight rows, decoded as q/255 by qOctU2): per row it adds (Σ A·q)·(255·scale) and subtracts
// (Σ A)·(QOFF·scale + min) — the product with the dequantized weights, rounded in another order
// (folding the offset into the min term measured ~25 % faster than subtracting it from every
// quant). Loops and their nesting cost SwiftShader dearly: unrolling the halves, with the scales
// loaded once a step, made the quad kernel's step 1.5× faster (64×1024×1024 Q4_0). Rows and
// columns past the edge repeat the last one and are not stored.

// Two octs (16 consecutive values) of each of a lane's 4 weight rows.
struct Step {
  q0: Oct,
  q1: Oct,
  q2: Oct,
  q3: Oct,
  r0: Oct,
  r1: Oct,
  r2: Oct,
  r3: Oct,
}

fn step(o0: u32, o1: u32, o2: u32, o3: u32, u: u32) -> Step {
  let x0 = qOctU2(o0, u);
  let x1 = qOctU2(o1, u);
  let x2 = qOctU2(o2, u);
  let x3 = qOctU2(o3, u);
  return Step(x0.a, x1.a, x2.a, x3.a, x0.b, x1.b, x2.b, x3.b);
}

fn dots(a: vec4<f32>, q0: vec4<f32>, q1: vec4<f32>, q2: vec4<f32>, q3: vec4<f32>) -> vec4<f32> {
  return vec4<f32>(dot(a, q0), dot(a, q1), dot(a, q2), dot(a, q3));
}

// The vec4 index of row m's first element of A (rows past M repeat the last).
fn arow(m: u32) -> u32 {
  return (min(m, p.M - 1u) * p.aStride + p.aCol) / 4u;
}

// Word offset of weight row n's blocks (rows past N repeat the last).
fn wrow(n: u32) -> u32 {
  return min(n, p.N - 1u) * (p.K / QB) * QW;
}

fn product(n0: u32, m0: u32, j4: u32) {
  let r0 = arow(m0) + j4;
  let r1 = arow(m0 + 1u) + j4;
  let r2 = arow(m0 + 2u) + j4;
  let r3 = arow(m0 + 3u) + j4;
  let r4 = arow(m0 + 4u) + j4;
  let r5 = arow(m0 + 5u) + j4;
  let r6 = arow(m0 + 6u) + j4;
  let r7 = arow(m0 + 7u) + j4;
  let w0 = wrow(n0);
  let w1 = wrow(n0 + 1u);
  let w2 = wrow(n0 + 2u);
  let w3 = wrow(n0 + 3u);
  // acc_r: row m0 + r, component c: column n0 + c.
  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
  var acc4 = vec4<f32>(0.0);
  var acc5 = vec4<f32>(0.0);
  var acc6 = vec4<f32>(0.0);
  var acc7 = vec4<f32>(0.0);
  var h0 = vec2<f32>(0.0);
  var h1 = vec2<f32>(0.0);
  var h2 = vec2<f32>(0.0);
  var h3 = vec2<f32>(0.0);
  for (var k = 0u; k < p.K; k += 32u) {
    let b = k / QB;
    let v = k % QB;
    let o0 = w0 + b * QW;
    let o1 = w1 + b * QW;
    let o2 = w2 + b * QW;
    let o3 = w3 + b * QW;
    if (QB == 32u || v == 0u) {
      // A new block: its header (d, and the min or dmin) for the steps in it.
      h0 = qHead(o0);
      h1 = qHead(o1);
      h2 = qHead(o2);
      h3 = qHead(o3);
    }
    let j = v / QSUB;
    let c0 = qSub(o0, j, h0);
    let c1 = qSub(o1, j, h1);
    let c2 = qSub(o2, j, h2);
    let c3 = qSub(o3, j, h3);
    let ca = vec4<f32>(c0.x, c1.x, c2.x, c3.x);
    let sa = 255.0 * ca;
    // The min term of each half: QOFF·scale + min (the quants are unsigned).
    let ma = QOFF * ca + vec4<f32>(c0.y, c1.y, c2.y, c3.y);
    var sb = sa;
    var mb = ma;
    if (QSUB == 16u) {
      let i = j + 1u;
      let cb = vec4<f32>(qSub(o0, i, h0).x, qSub(o1, i, h1).x, qSub(o2, i, h2).x, qSub(o3, i, h3).x);
      sb = 255.0 * cb;
      mb = QOFF * cb;
    }
    let u = v / 8u;
    let ka = k / 4u;
    // ta (ta8): the lane's share of Σ A of rows 0–3 (4–7) over the first half; tb, tb8 the second.
    var ta = vec4<f32>(0.0);
    var ta8 = vec4<f32>(0.0);
    var tb = vec4<f32>(0.0);
    var tb8 = vec4<f32>(0.0);
    {
      let s = step(o0, o1, o2, o3, u);
      ta.x = row(&acc0, r0 + ka, s, sa);
      if (!ONE_ROW) {
        ta.y = row(&acc1, r1 + ka, s, sa);
        ta.z = row(&acc2, r2 + ka, s, sa);
        ta.w = row(&acc3, r3 + ka, s, sa);
      }
      if (ROWS8) {
        ta8 = vec4<f32>(row(&acc4, r4 + ka, s, sa), row(&acc5, r5 + ka, s, sa), row(&acc6, r6 + ka, s, sa), row(&acc7, r7 + ka, s, sa));
      }
    }
    {
      let s = step(o0, o1, o2, o3, u + 2u);
      let kb = ka + 4u;
      tb.x = row(&acc0, r0 + kb, s, sb);
      if (!ONE_ROW) {
        tb.y = row(&acc1, r1 + kb, s, sb);
        tb.z = row(&acc2, r2 + kb, s, sb);
        tb.w = row(&acc3, r3 + kb, s, sb);
      }
      if (ROWS8) {
        tb8 = vec4<f32>(row(&acc4, r4 + kb, s, sb), row(&acc5, r5 + kb, s, sb), row(&acc6, r6 + kb, s, sb), row(&acc7, r7 + kb, s, sb));
      }
    }
    // Σ A over the lanes sharing the rows: one sum for the step's 32 values when they share a
    // scale, else one a half.
    if (QSUB == 16u) {
      ta = laneSum(ta);
      ta8 = laneSum(ta8);
      tb = laneSum(tb);
      tb8 = laneSum(tb8);
    } else {
      ta = laneSum(ta + tb);
      ta8 = laneSum(ta8 + tb8);
    }
    acc0 -= ta.x * ma;
    acc1 -= ta.y * ma;
    acc2 -= ta.z * ma;
    acc3 -= ta.w * ma;
    acc4 -= ta8.x * ma;
    acc5 -= ta8.y * ma;
    acc6 -= ta8.z * ma;
    acc7 -= ta8.w * ma;
    if (QSUB == 16u) {
      acc0 -= tb.x * mb;
      acc1 -= tb.y * mb;
      acc2 -= tb.z * mb;
      acc3 -= tb.w * mb;
      acc4 -= tb8.x * mb;
      acc5 -= tb8.y * mb;
      acc6 -= tb8.z * mb;
      acc7 -= tb8.w * mb;
    }
  }
  store(m0, n0, acc0);
  if (!ONE_ROW) {
    store(m0 + 1u, n0, acc1);
    store(m0 + 2u, n0, acc2);
    store(m0 + 3u, n0, acc3);
  }
  if (ROWS8) {
    store(m0 + 4u, n0, acc4);
    store(m0 + 5u, n0, acc5);
    store(m0 + 6u, n0, acc6);
    store(m0 + 7u, n0, acc7);
  }
}
