// Q4_K's decoder (GPU layout: quant-layout.ts; the names every decoder declares: quant_q8_0.wgsl):
// 38 words per super-block of 256 values, 8 sub-blocks of 32. Word 0 d; word 1 dmin; words 2–5
// the 8 six-bit scales and mins, a byte each (sub-block j's scale in byte 2j, its min in 2j + 1);
// words 6–37 the 4-bit quants (word 6 + u: values 8u…8u + 7, as Q4_0's).
// x = (d·sc_j)·q − dmin·m_j.

const QB = 256u;
const QW = 38u;
const QSUB = 32u;
const QMIN = true;
const QHIGH = false;
const QOFF = 0.0;
const QLO = 6u;

fn qHead(b: u32) -> vec2<f32> {
  return vec2<f32>(bitcast<f32>(W[b]), bitcast<f32>(W[b + 1u]));
}

fn qSub(b: u32, j: u32, h: vec2<f32>) -> vec2<f32> {
  let w = W[b + 2u + (j >> 1u)] >> (16u * (j & 1u));
  return vec2<f32>(h.x * f32(w & 0xffu), h.y * f32((w >> 8u) & 0xffu));
}

// #include quant_4bit
