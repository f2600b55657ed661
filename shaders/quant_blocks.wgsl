// Reading quantized weights in the GPU layout of src/engine/kernels/quant-layout.ts (ggml's Q8_0
// and Q4_K blocks repacked into whole u32 words; the same values). The includer declares
// `W: array<u32>`. Shared through `// #include quant_blocks` (not a kernel).
//
// Q8_0, 9 words per 32 values: word 0 d (f32 bits), words 1–8 the 32 int8 quants (value 4i + j in
// byte j of word 1 + i); x = q·d.
// Q4_K, 38 words per 256 values: word 0 d, word 1 dmin (f32 bits), words 2–3 the 8 six-bit scales
// and words 4–5 the 8 mins (one per byte: sub-block j in byte j & 3 of word 2 + (j >> 2), resp.
// 4 + (j >> 2)), words 6–37 ggml's nibbles (value l of sub-block j: nibble j & 1 of byte l & 3 of
// word 6 + 8·(j >> 1) + (l >> 2)); x = (d·sc_j)·q − dmin·m_j.

const Q8_WORDS = 9u;
const Q4K_WORDS = 38u;

// The four int8 quants of one Q8_0 word, as f32 (exact).
fn q8Quads(w: u32) -> vec4<f32> {
  let v = vec4<u32>(w << 24u, w << 16u, w << 8u, w);
  return vec4<f32>(bitcast<vec4<i32>>(v) >> vec4<u32>(24u));
}

// The four nibbles of one Q4_K word for sub-block parity `hi` (0 low nibbles, 4 high), as f32.
fn q4Quads(w: u32, hi: u32) -> vec4<f32> {
  let v = vec4<u32>(w, w >> 8u, w >> 16u, w >> 24u) >> vec4<u32>(hi);
  return vec4<f32>(v & vec4<u32>(15u));
}

// Byte j (0–7) of the two words at W[at], W[at + 1] (Q4_K's scales or mins).
fn q4kByte(at: u32, j: u32) -> f32 {
  return f32((W[at + (j >> 2u)] >> (8u * (j & 3u))) & 0xffu);
}

// Sub-block j's d·sc_j and dmin·m_j of the Q4_K block at word `b` (each one f32 product, as ggml).
fn q4kScales(b: u32, j: u32) -> vec2<f32> {
  let d = bitcast<f32>(W[b]);
  let dmin = bitcast<f32>(W[b + 1u]);
  return vec2<f32>(d * q4kByte(b + 2u, j), dmin * q4kByte(b + 4u, j));
}
