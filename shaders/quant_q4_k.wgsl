// Q4_K's decoder (GPU layout: quant-layout.ts; the names every decoder declares: quant_q8_0.wgsl):
// 38 words per super-block of 256 values, 8 sub-blocks of 32. Word 0 d; word 1 dmin; words 2–3
// the 8 six-bit scales, words 4–5 the 8 mins (one a byte: sub-block j in byte j of the pair);
// words 6–37 the 4-bit quants (word 6 + u: values 8u…8u + 7, as Q4_0's).
// x = (d·sc_j)·q − dmin·m_j.

const QB = 256u;
const QW = 38u;
const QSUB = 32u;
const QMIN = true;
const QOFF = 0.0;

fn qScale(b: u32, j: u32) -> vec2<f32> {
  let d = bitcast<f32>(W[b]);
  let dmin = bitcast<f32>(W[b + 1u]);
  return vec2<f32>(d * f32(byteOf(b + 2u, j)), dmin * f32(byteOf(b + 4u, j)));
}

fn qRaw(b: u32, u: u32) -> vec2<u32> {
  let w = W[b + 6u + u];
  return vec2<u32>(nib(w, 0u), nib(w, 1u));
}
