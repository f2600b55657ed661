// Q4_0's decoder (GPU layout: quant-layout.ts; the names every decoder declares: quant_q8_0.wgsl):
// 5 words per block of 32 values. Word 0 d; words 1–4 the 4-bit quants (word 1 + u: values
// 8u…8u + 3 in its bytes' low nibbles, 8u + 4…8u + 7 in the high ones). x = d·(q − 8).

const QB = 32u;
const QW = 5u;
const QSUB = 32u;
const QMIN = false;
const QHIGH = false;
const QOFF = 8.0;
const QLO = 1u;

fn qHead(b: u32) -> vec2<f32> {
  return vec2<f32>(bitcast<f32>(W[b]), 0.0);
}

fn qSub(b: u32, j: u32, h: vec2<f32>) -> vec2<f32> {
  return h;
}

// #include quant_4bit
