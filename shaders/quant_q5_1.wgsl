// Q5_1's decoder (GPU layout: quant-layout.ts; the names every decoder declares: quant_q8_0.wgsl):
// 7 words per block of 32 values. Word 0 d; word 1 m; word 2 the fifth bits (as Q5_0's); words 3–6
// the low 4 bits. x = d·q + m (scale d, min −m).

const QB = 32u;
const QW = 7u;
const QSUB = 32u;
const QMIN = true;
const QHIGH = true;
const QOFF = 0.0;
const QLO = 3u;
const QH = 2u;

fn qHead(b: u32) -> vec2<f32> {
  return vec2<f32>(bitcast<f32>(W[b]), bitcast<f32>(W[b + 1u]));
}

fn qSub(b: u32, j: u32, h: vec2<f32>) -> vec2<f32> {
  return vec2<f32>(h.x, -h.y);
}

// #include quant_5bit
