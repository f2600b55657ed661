// Q4_K's decoder (GPU layout: quant-layout.ts; the names every decoder declares: quant_q8_0.wgsl):
// 38 words per super-block of 256 values, 8 sub-blocks of 32. Word 0 d; word 1 dmin; words 2–3 the
// 8 six-bit scales, words 4–5 the 8 mins (one a byte: sub-block j in byte j of the pair); words
// 6–37 ggml's 128 nibble bytes: value l of sub-block j is nibble j & 1 of byte 32·(j >> 1) + l.
// x = (d·sc_j)·q − dmin·m_j.

const QB = 256u;
const QW = 38u;
const QSUB = 32u;
const QMIN = true;

fn qScale(b: u32, j: u32) -> vec2<f32> {
  let d = bitcast<f32>(W[b]);
  let dmin = bitcast<f32>(W[b + 1u]);
  return vec2<f32>(d * f32(byteOf(b + 2u, j)), dmin * f32(byteOf(b + 4u, j)));
}

fn qQuad(b: u32, v: u32) -> vec4<f32> {
  let j = v >> 5u;
  return vec4<f32>(nibQuad(W[b + 6u + 8u * (j >> 1u) + ((v & 31u) >> 2u)], 4u * (j & 1u)));
}
