// Q5_K's decoder (GPU layout: quant-layout.ts; the names every decoder declares: quant_q8_0.wgsl):
// 46 words per super-block of 256 values, 8 sub-blocks of 32. Words 0–37 as Q4_K's
// (quant_q4_k.wgsl); words 38–45 ggml's 32 fifth-bit bytes: bit j of byte l for value l of
// sub-block j. x = (d·sc_j)·q − dmin·m_j.

const QB = 256u;
const QW = 46u;
const QSUB = 32u;
const QMIN = true;

fn qScale(b: u32, j: u32) -> vec2<f32> {
  let d = bitcast<f32>(W[b]);
  let dmin = bitcast<f32>(W[b + 1u]);
  return vec2<f32>(d * f32(byteOf(b + 2u, j)), dmin * f32(byteOf(b + 4u, j)));
}

fn qQuad(b: u32, v: u32) -> vec4<f32> {
  let j = v >> 5u;
  let l4 = (v & 31u) >> 2u;
  let lo = nibQuad(W[b + 6u + 8u * (j >> 1u) + l4], 4u * (j & 1u));
  return vec4<f32>(lo | (bitQuad(W[b + 38u + l4], j) << vec4<u32>(4u)));
}
