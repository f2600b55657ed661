// Q5_0's decoder (GPU layout: quant-layout.ts; the names every decoder declares: quant_q8_0.wgsl):
// 6 words per block of 32 values. Word 0 d; word 1 the fifth bits (value 4s + c in bit s of byte
// c); words 2–5 the low 4 bits (as Q4_0's quants). x = d·(q − 16).

const QB = 32u;
const QW = 6u;
const QSUB = 32u;
const QMIN = false;
const QHIGH = true;
const QOFF = 16.0;
const QLO = 2u;
const QH = 1u;

fn qHead(b: u32) -> vec2<f32> {
  return vec2<f32>(bitcast<f32>(W[b]), 0.0);
}

fn qSub(b: u32, j: u32, h: vec2<f32>) -> vec2<f32> {
  return h;
}

// #include quant_5bit
