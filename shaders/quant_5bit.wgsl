// The quants of the 5-bit types (Q5_0, Q5_1, Q5_K): qRaw, qRaw2, qHighQuad and qRawH as
// quant_q8_0.wgsl describes them, included by their decoders, which declare QLO, the block's word
// where the low 4 bits start (as quant_4bit.wgsl's quants), and QH, where the fifth bits start:
// word QH + (v >> 5) holds value v = 32w + 4s + c in bit s of byte c (a block of 32 values has one
// such word).

fn qRaw(b: u32, u: u32) -> vec2<u32> {
  return qRawH(b, u, W[b + QH + (u >> 2u)]);
}

fn qHighQuad(b: u32, u0: u32) -> vec2<u32> {
  return vec2<u32>(W[b + QH + (u0 >> 2u)]);
}

fn qRawH(b: u32, u: u32, h: u32) -> vec2<u32> {
  let w = W[b + QLO + u];
  let s = 2u * (u & 3u);
  return vec2<u32>(nib(w, 0u) | bit5(h, s), nib(w, 1u) | bit5(h, s + 1u));
}

fn qRaw2(b: u32, u: u32) -> vec4<u32> {
  let w = W[b + QLO + u];
  let x = W[b + QLO + 1u + u];
  let h = W[b + QH + (u >> 2u)] >> (2u * (u & 3u));
  return vec4<u32>(nib(w, 0u) | bit5(h, 0u), nib(w, 1u) | bit5(h, 1u), nib(x, 0u) | bit5(h, 2u), nib(x, 1u) | bit5(h, 3u));
}
