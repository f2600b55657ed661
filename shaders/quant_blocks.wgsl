// Helpers for reading quantized weights in the GPU layout of src/engine/kernels/quant-layout.ts
// (ggml's blocks repacked into whole u32 words, quants in value order by byte lanes; the same
// values). The includer declares `W: array<u32>` and, before this, the type's decoder
// (quant_<type>.wgsl: QOFF, qHead, qSub, qRaw, qRaw2). Shared through `// #include quant_blocks` by the quantized
// kernels' bodies.

// (scale, min) of sub-block j of the block at word b: x = scale·(q − QOFF) − min.
fn qScale(b: u32, j: u32) -> vec2<f32> {
  return qSub(b, j, qHead(b));
}

// Eight consecutive values of a block: lo holds values 8u…8u + 3, hi 8u + 4…8u + 7.
struct Oct {
  lo: vec4<f32>,
  hi: vec4<f32>,
}

// 4 consecutive quants (one a byte, unsigned) as f32, the offset QOFF subtracted: exact integers.
fn quads(r: u32) -> vec4<f32> {
  let q = (vec4<u32>(r) >> vec4<u32>(0u, 8u, 16u, 24u)) & vec4<u32>(0xffu);
  return vec4<f32>(q) - vec4<f32>(QOFF);
}

// The quants of oct u of the block at word b, exactly (the embedding lookup).
fn qOct(b: u32, u: u32) -> Oct {
  let r = qRaw(b, u);
  return Oct(quads(r.x), quads(r.y));
}

// Sixteen consecutive values: octs u (a) and u + 1 (b).
struct Oct2 {
  a: Oct,
  b: Oct,
}

// Octs u and u + 1 (u even) of the block at word b as q/255 (unsigned, the offset not
// subtracted): unpack4x8unorm decodes 4 a step, and the products fold the 255 into the scale and
// QOFF into the min (q − QOFF)/255·(255·scale) = q/255·(255·scale) − QOFF·scale, rounding in another
// order than ggml.
fn qOctU2(b: u32, u: u32) -> Oct2 {
  let r = qRaw2(b, u);
  return Oct2(
    Oct(unpack4x8unorm(r.x), unpack4x8unorm(r.y)),
    Oct(unpack4x8unorm(r.z), unpack4x8unorm(r.w)),
  );
}

// Oct u as q/255 (qOctU2's decoding, one oct).
fn qOctU(b: u32, u: u32) -> Oct {
  let r = qRaw(b, u);
  return Oct(unpack4x8unorm(r.x), unpack4x8unorm(r.y));
}

// Oct q (as q/255: qOctU) of a sub-block whose (scale, min) is s, dequantized as the input
// gradients do: q/255·(255·scale) − (QOFF·scale + min), the offset folded into the min (the
// dequantized values up to an ulp).
fn qDequantU(q: Oct, s: vec2<f32>) -> Oct {
  let sc = 255.0 * s.x;
  if (QMIN || QOFF != 0.0) {
    let mn = vec4<f32>(QOFF * s.x + s.y);
    return Oct(q.lo * sc - mn, q.hi * sc - mn);
  }
  return Oct(q.lo * sc, q.hi * sc);
}

// Byte j of the words from W[at] (little-endian).
fn byteOf(at: u32, j: u32) -> u32 {
  return (W[at + (j >> 2u)] >> (8u * (j & 3u))) & 0xffu;
}

// Quants of a 4-bit field word: low nibbles (s = 0) or high (s = 1) of its bytes.
fn nib(w: u32, s: u32) -> u32 {
  return (w >> (4u * s)) & 0x0f0f0f0fu;
}

// Bits s of a 1-bit field word's bytes, moved to bit 4 (a fifth bit).
fn bit5(h: u32, s: u32) -> u32 {
  return ((h >> s) & 0x01010101u) << 4u;
}
