// Q8_0's decoder (GPU layout: quant-layout.ts): 9 words per block of 32 values, one scale.
// Word 0 d (f32 bits); words 1–8 the 32 int8 quants, value v in byte v & 3 of word 1 + (v >> 2),
// read here as unsigned q + 128. x = d·q. Every quantized type's decoder declares the same names:
//   QB values per block, QW words per block, QSUB values per scale (sub-block), QMIN whether the
//   type has a min, QOFF the offset of its unsigned quants; qHead(b): the block's f32 header
//   (d and the min or dmin) at word b; qSub(b, j, h): (scale, min) of sub-block j of that block
//   from its header h (quant_blocks.wgsl's qScale(b, j) loads both); qRaw(b, u): the unsigned quants of values 8u…8u + 3 (x) and
//   8u + 4…8u + 7 (y) of that block, one a byte; qRaw2(b, u): the same for octs u and u + 1 (u
//   even: 16 values, their shared high-bit word loaded once); QHIGH whether the quants have high
//   bits in a word of their own, qHighQuad(b, u0): the high-bit words of octs u0, u0 + 1 (x) and
//   u0 + 2, u0 + 3 (y) (u0 % 4 == 0; 0 without QHIGH), qRawH(b, u, h): qRaw given oct u's word h —
//   so lanes holding those 4 octs can share the loads. Value v is x = scale·(q − QOFF) − min of its
//   sub-block (one f32 rounding per operation, as ggml); quant_blocks.wgsl turns bytes into floats.
// Included before a body (matmul_quant_*.wgsl, embedding_quant.wgsl).

const QB = 32u;
const QW = 9u;
const QSUB = 32u;
const QMIN = false;
const QHIGH = false;
const QOFF = 128.0;

fn qHead(b: u32) -> vec2<f32> {
  return vec2<f32>(bitcast<f32>(W[b]), 0.0);
}

fn qSub(b: u32, j: u32, h: vec2<f32>) -> vec2<f32> {
  return h;
}

fn qRaw(b: u32, u: u32) -> vec2<u32> {
  return vec2<u32>(W[b + 1u + 2u * u], W[b + 2u + 2u * u]) ^ vec2<u32>(0x80808080u);
}

fn qHighQuad(b: u32, u0: u32) -> vec2<u32> {
  return vec2<u32>(0u);
}

fn qRawH(b: u32, u: u32, h: u32) -> vec2<u32> {
  return qRaw(b, u);
}

fn qRaw2(b: u32, u: u32) -> vec4<u32> {
  let o = b + 1u + 2u * u;
  return vec4<u32>(W[o], W[o + 1u], W[o + 2u], W[o + 3u]) ^ vec4<u32>(0x80808080u);
}
