// Q5_0's decoder (GPU layout: quant-layout.ts; the names every decoder declares: quant_q8_0.wgsl):
// 6 words per block of 32 values. Word 0 d; word 1 qh, the fifth bits (bit l for value l);
// words 2–5 the nibbles as Q4_0's. x = d·(q − 16).

const QB = 32u;
const QW = 6u;
const QSUB = 32u;
const QMIN = false;

fn qScale(b: u32, j: u32) -> vec2<f32> {
  return vec2<f32>(bitcast<f32>(W[b]), 0.0);
}

fn qQuad(b: u32, v: u32) -> vec4<f32> {
  let q = nibQuad(W[b + 2u + ((v & 15u) >> 2u)], (v >> 4u) * 4u) | (bits4(W[b + 1u], v) << vec4<u32>(4u));
  return vec4<f32>(q) - vec4<f32>(16.0);
}
