// Q5_K's decoder (GPU layout: quant-layout.ts; the names every decoder declares: quant_q8_0.wgsl):
// 46 words per super-block of 256 values, 8 sub-blocks of 32. Words 0–5 as Q4_K's
// (quant_q4_k.wgsl); words 6–37 the low 4 bits; words 38–45 the fifth bits (word 38 + (v >> 5):
// value v = 32w + 4s + c in bit s of byte c). x = (d·sc_j)·q − dmin·m_j.

const QB = 256u;
const QW = 46u;
const QSUB = 32u;
const QMIN = true;
const QHIGH = true;
const QOFF = 0.0;
const QLO = 6u;
const QH = 38u;

fn qHead(b: u32) -> vec2<f32> {
  return vec2<f32>(bitcast<f32>(W[b]), bitcast<f32>(W[b + 1u]));
}

fn qSub(b: u32, j: u32, h: vec2<f32>) -> vec2<f32> {
  let w = W[b + 2u + (j >> 1u)] >> (16u * (j & 1u));
  return vec2<f32>(h.x * f32(w & 0xffu), h.y * f32((w >> 8u) & 0xffu));
}

// #include quant_5bit
