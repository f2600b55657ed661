// Q5_1's decoder (GPU layout: quant-layout.ts; the names every decoder declares: quant_q8_0.wgsl):
// 7 words per block of 32 values. Word 0 d; word 1 m; word 2 qh, the fifth bits (bit l for value
// l); words 3–6 the nibbles as Q4_0's. x = d·q + m (scale d, min −m).

const QB = 32u;
const QW = 7u;
const QSUB = 32u;
const QMIN = true;

fn qScale(b: u32, j: u32) -> vec2<f32> {
  return vec2<f32>(bitcast<f32>(W[b]), -bitcast<f32>(W[b + 1u]));
}

fn qQuad(b: u32, v: u32) -> vec4<f32> {
  return vec4<f32>(nibQuad(W[b + 3u + ((v & 15u) >> 2u)], (v >> 4u) * 4u) | (bits4(W[b + 2u], v) << vec4<u32>(4u)));
}
