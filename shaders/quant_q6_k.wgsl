// Q6_K's decoder (GPU layout: quant-layout.ts; the names every decoder declares: quant_q8_0.wgsl):
// 53 words per super-block of 256 values, 16 sub-blocks of 16. Word 0 d; words 1–4 the 16 int8
// scales (sub-block j in byte j); words 5–36 ggml's ql, 37–52 its qh: value 128h + 32k + l takes
// nibble k >> 1 of ql byte 64h + 32·(k & 1) + l and bits 2k, 2k + 1 of qh byte 32h + l.
// x = (d·sc_j)·(q − 32).

const QB = 256u;
const QW = 53u;
const QSUB = 16u;
const QMIN = false;

fn qScale(b: u32, j: u32) -> vec2<f32> {
  let sc = bitcast<i32>(byteOf(b + 1u, j) << 24u) >> 24u;
  return vec2<f32>(bitcast<f32>(W[b]) * f32(sc), 0.0);
}

fn qQuad(b: u32, v: u32) -> vec4<f32> {
  let h = v >> 7u;
  let k = (v >> 5u) & 3u;
  let l4 = (v & 31u) >> 2u;
  let lo = nibQuad(W[b + 5u + 16u * h + 8u * (k & 1u) + l4], 4u * (k >> 1u));
  let qh = W[b + 37u + 8u * h + l4];
  let hi = (vec4<u32>(qh, qh >> 8u, qh >> 16u, qh >> 24u) >> vec4<u32>(2u * k)) & vec4<u32>(3u);
  return vec4<f32>(lo | (hi << vec4<u32>(4u))) - vec4<f32>(32.0);
}
