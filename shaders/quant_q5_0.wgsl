// Q5_0's decoder (GPU layout: quant-layout.ts; the names every decoder declares: quant_q8_0.wgsl):
// 6 words per block of 32 values. Word 0 d; word 1 the fifth bits (value 4s + c in bit s of byte
// c); words 2–5 the low 4 bits (as Q4_0's quants). x = d·(q − 16).

const QB = 32u;
const QW = 6u;
const QSUB = 32u;
const QMIN = false;
const QHIGH = true;
const QOFF = 16.0;

fn qHead(b: u32) -> vec2<f32> {
  return vec2<f32>(bitcast<f32>(W[b]), 0.0);
}

fn qSub(b: u32, j: u32, h: vec2<f32>) -> vec2<f32> {
  return h;
}

fn qRaw(b: u32, u: u32) -> vec2<u32> {
  return qRawH(b, u, W[b + 1u]);
}

fn qHighQuad(b: u32, u0: u32) -> vec2<u32> {
  return vec2<u32>(W[b + 1u]);
}

fn qRawH(b: u32, u: u32, h: u32) -> vec2<u32> {
  let w = W[b + 2u + u];
  return vec2<u32>(nib(w, 0u) | bit5(h, 2u * u), nib(w, 1u) | bit5(h, 2u * u + 1u));
}

fn qRaw2(b: u32, u: u32) -> vec4<u32> {
  let w = W[b + 2u + u];
  let x = W[b + 3u + u];
  let h = W[b + 1u] >> (2u * u);
  return vec4<u32>(nib(w, 0u) | bit5(h, 0u), nib(w, 1u) | bit5(h, 1u), nib(x, 0u) | bit5(h, 2u), nib(x, 1u) | bit5(h, 3u));
}
