// Q4_0's decoder (GPU layout: quant-layout.ts; the names every decoder declares: quant_q8_0.wgsl):
// 5 words per block of 32 values. Word 0 d; words 1–4 ggml's 16 nibble bytes: value l < 16 is the
// low nibble of byte l, value l + 16 its high nibble. x = d·(q − 8).

const QB = 32u;
const QW = 5u;
const QSUB = 32u;
const QMIN = false;

fn qScale(b: u32, j: u32) -> vec2<f32> {
  return vec2<f32>(bitcast<f32>(W[b]), 0.0);
}

fn qQuad(b: u32, v: u32) -> vec4<f32> {
  return vec4<f32>(nibQuad(W[b + 1u + ((v & 15u) >> 2u)], (v >> 4u) * 4u)) - vec4<f32>(8.0);
}
