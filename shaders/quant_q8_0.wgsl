// Q8_0's decoder (GPU layout: quant-layout.ts): 9 words per block of 32 values, one scale.
// Word 0 d (f32 bits); words 1–8 the 32 int8 quants, value 4i + c in byte c of word 1 + i.
// x = d·q. Every quantized type's decoder declares the same names:
//   QB values per block, QW words per block, QSUB values per scale (sub-block), QMIN whether the
//   type has a min; qScale(b, j): (scale, min) of sub-block j of the block at word b;
//   qQuad(b, v): the integer quants of values v…v + 3 (v % 4 == 0) of that block, as f32;
//   value v is x = scale·q − min of its sub-block (one f32 rounding per operation, as ggml).
// Included before a body (matmul_quant_forward, matmul_quant_backward_input, embedding_quant).

const QB = 32u;
const QW = 9u;
const QSUB = 32u;
const QMIN = false;

fn qScale(b: u32, j: u32) -> vec2<f32> {
  return vec2<f32>(bitcast<f32>(W[b]), 0.0);
}

fn qQuad(b: u32, v: u32) -> vec4<f32> {
  return i8Quad(W[b + 1u + (v >> 2u)]);
}
