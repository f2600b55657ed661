// Helpers for reading quantized weights in the GPU layout of src/engine/kernels/quant-layout.ts
// (ggml's blocks repacked into whole u32 words; the same values). The includer declares
// `W: array<u32>`. Shared through `// #include quant_blocks` by the quantized kernels' bodies;
// each type's decoder (quant_<type>.wgsl) builds on these.

// The four int8s of a word (byte c in component c), as f32 (exact).
fn i8Quad(w: u32) -> vec4<f32> {
  let v = vec4<u32>(w << 24u, w << 16u, w << 8u, w);
  return vec4<f32>(bitcast<vec4<i32>>(v) >> vec4<u32>(24u));
}

// The low (sh = 0) or high (sh = 4) nibbles of a word's four bytes.
fn nibQuad(w: u32, sh: u32) -> vec4<u32> {
  return (vec4<u32>(w, w >> 8u, w >> 16u, w >> 24u) >> vec4<u32>(sh)) & vec4<u32>(15u);
}

// Bit `sh` of each of a word's four bytes.
fn bitQuad(w: u32, sh: u32) -> vec4<u32> {
  return (vec4<u32>(w, w >> 8u, w >> 16u, w >> 24u) >> vec4<u32>(sh)) & vec4<u32>(1u);
}

// Bits sh…sh + 3 of a word, one per component.
fn bits4(w: u32, sh: u32) -> vec4<u32> {
  return (vec4<u32>(w) >> (vec4<u32>(0u, 1u, 2u, 3u) + sh)) & vec4<u32>(1u);
}

// Byte j of the words from W[at] (little-endian).
fn byteOf(at: u32, j: u32) -> u32 {
  return (W[at + (j >> 2u)] >> (8u * (j & 3u))) & 0xffu;
}
