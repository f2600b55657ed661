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

fn qHead(b: u32) -> vec2<f32> {
  return vec2<f32>(bitcast<f32>(W[b]), bitcast<f32>(W[b + 1u]));
}

fn qSub(b: u32, j: u32, h: vec2<f32>) -> vec2<f32> {
  let w = W[b + 2u + (j >> 1u)] >> (16u * (j & 1u));
  return vec2<f32>(h.x * f32(w & 0xffu), h.y * f32((w >> 8u) & 0xffu));
}

fn qRaw(b: u32, u: u32) -> vec2<u32> {
  return qRawH(b, u, W[b + 38u + (u >> 2u)]);
}

fn qHighQuad(b: u32, u0: u32) -> vec2<u32> {
  return vec2<u32>(W[b + 38u + (u0 >> 2u)]);
}

fn qRawH(b: u32, u: u32, h: u32) -> vec2<u32> {
  let w = W[b + 6u + u];
  let s = 2u * (u & 3u);
  return vec2<u32>(nib(w, 0u) | bit5(h, s), nib(w, 1u) | bit5(h, s + 1u));
}

fn qRaw2(b: u32, u: u32) -> vec4<u32> {
  let w = W[b + 6u + u];
  let x = W[b + 7u + u];
  let h = W[b + 38u + (u >> 2u)] >> (2u * (u & 3u));
  return vec4<u32>(nib(w, 0u) | bit5(h, 0u), nib(w, 1u) | bit5(h, 1u), nib(x, 0u) | bit5(h, 2u), nib(x, 1u) | bit5(h, 3u));
}
