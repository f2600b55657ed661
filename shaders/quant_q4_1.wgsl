// Q4_1's decoder (GPU layout: quant-layout.ts; the names every decoder declares: quant_q8_0.wgsl):
// 6 words per block of 32 values. Word 0 d; word 1 m; words 2–5 the 4-bit quants (as Q4_0's).
// x = d·q + m (scale d, min −m: the same rounding).

const QB = 32u;
const QW = 6u;
const QSUB = 32u;
const QMIN = true;
const QHIGH = false;
const QOFF = 0.0;
const QLO = 2u;

fn qHead(b: u32) -> vec2<f32> {
  return vec2<f32>(bitcast<f32>(W[b]), bitcast<f32>(W[b + 1u]));
}

fn qSub(b: u32, j: u32, h: vec2<f32>) -> vec2<f32> {
  return vec2<f32>(h.x, -h.y);
}

// #include quant_4bit
