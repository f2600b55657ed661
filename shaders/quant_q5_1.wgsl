// Q5_1's decoder (GPU layout: quant-layout.ts; the names every decoder declares: quant_q8_0.wgsl):
// 7 words per block of 32 values. Word 0 d; word 1 m; word 2 the fifth bits (as Q5_0's); words 3–6
// the low 4 bits. x = d·q + m (scale d, min −m).

const QB = 32u;
const QW = 7u;
const QSUB = 32u;
const QMIN = true;
const QHIGH = true;
const QOFF = 0.0;

fn qHead(b: u32) -> vec2<f32> {
  return vec2<f32>(bitcast<f32>(W[b]), bitcast<f32>(W[b + 1u]));
}

fn qSub(b: u32, j: u32, h: vec2<f32>) -> vec2<f32> {
  return vec2<f32>(h.x, -h.y);
}

fn qRaw(b: u32, u: u32) -> vec2<u32> {
  return qRawH(b, u, W[b + 2u]);
}

fn qHighQuad(b: u32, u0: u32) -> vec2<u32> {
  return vec2<u32>(W[b + 2u]);
}

fn qRawH(b: u32, u: u32, h: u32) -> vec2<u32> {
  let w = W[b + 3u + u];
  return vec2<u32>(nib(w, 0u) | bit5(h, 2u * u), nib(w, 1u) | bit5(h, 2u * u + 1u));
}

fn qRaw2(b: u32, u: u32) -> vec4<u32> {
  let w = W[b + 3u + u];
  let x = W[b + 4u + u];
  let h = W[b + 2u] >> (2u * u);
  return vec4<u32>(nib(w, 0u) | bit5(h, 0u), nib(w, 1u) | bit5(h, 1u), nib(x, 0u) | bit5(h, 2u), nib(x, 1u) | bit5(h, 3u));
}
