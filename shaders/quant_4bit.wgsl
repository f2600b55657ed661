// The quants of the 4-bit types (Q4_0, Q4_1, Q4_K): qRaw, qRaw2, qHighQuad and qRawH as
// quant_q8_0.wgsl describes them, included by their decoders, which declare QLO, the block's word
// where the quants start: word QLO + u holds values 8u…8u + 3 in its bytes' low nibbles and
// 8u + 4…8u + 7 in the high ones. No high bits (QHIGH false).

fn qRaw(b: u32, u: u32) -> vec2<u32> {
  let w = W[b + QLO + u];
  return vec2<u32>(nib(w, 0u), nib(w, 1u));
}

fn qHighQuad(b: u32, u0: u32) -> vec2<u32> {
  return vec2<u32>(0u);
}

fn qRawH(b: u32, u: u32, h: u32) -> vec2<u32> {
  return qRaw(b, u);
}

fn qRaw2(b: u32, u: u32) -> vec4<u32> {
  let w = W[b + QLO + u];
  let x = W[b + QLO + 1u + u];
  return vec4<u32>(nib(w, 0u), nib(w, 1u), nib(x, 0u), nib(x, 1u));
}
