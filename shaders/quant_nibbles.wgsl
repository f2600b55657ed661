// The quants of the 4- and 5-bit types (Q4_0, Q4_1, Q4_K; Q5_0, Q5_1, Q5_K): qRaw, qRaw2,
// qHighQuad and qRawH as quant_q8_0.wgsl describes them, included by their decoders, which declare
// QLO, the block's word where the low 4 bits start (word QLO + u: values 8u…8u + 3 in its bytes'
// low nibbles, 8u + 4…8u + 7 in the high ones), and QH, where the fifth bits start (with QHIGH;
// 0 for the 4-bit types): word QH + (v >> 5), value v = 32w + 4s + c in bit s of byte c (a block
// of 32 values has one such word).

// The word of fifth bits that oct u's values are in (0 without QHIGH).
fn qHighWord(b: u32, u: u32) -> u32 {
  if (QHIGH) {
    return W[b + QH + (u >> 2u)];
  }
  return 0u;
}

fn qRaw(b: u32, u: u32) -> vec2<u32> {
  return qRawH(b, u, qHighWord(b, u));
}

fn qHighQuad(b: u32, u0: u32) -> vec2<u32> {
  return vec2<u32>(qHighWord(b, u0));
}

fn qRawH(b: u32, u: u32, h: u32) -> vec2<u32> {
  let w = W[b + QLO + u];
  if (QHIGH) {
    let s = 2u * (u & 3u);
    return vec2<u32>(nib(w, 0u) | bit5(h, s), nib(w, 1u) | bit5(h, s + 1u));
  }
  return vec2<u32>(nib(w, 0u), nib(w, 1u));
}

fn qRaw2(b: u32, u: u32) -> vec4<u32> {
  let w = W[b + QLO + u];
  let x = W[b + QLO + 1u + u];
  let q = vec4<u32>(nib(w, 0u), nib(w, 1u), nib(x, 0u), nib(x, 1u));
  if (QHIGH) {
    let h = qHighWord(b, u) >> (2u * (u & 3u));
    return q | vec4<u32>(bit5(h, 0u), bit5(h, 1u), bit5(h, 2u), bit5(h, 3u));
  }
  return q;
}
