// Element e of the includer's weight buffer `W: array<u32>` as f32, decoded by the includer's
// `DTYPE` override: 0 f32 (one word per element), 1 bf16 or 2 f16 (two per u32: element e in word
// e >> 1, the low half when e is even). Shared through `// #include packed16` (not a kernel).
fn loadW(e: u32) -> f32 {
  if (DTYPE == 0u) {
    return bitcast<f32>(W[e]);
  }
  let word = W[e >> 1u];
  let h = select(word & 0xffffu, word >> 16u, (e & 1u) == 1u);
  if (DTYPE == 1u) {
    return bitcast<f32>(h << 16u);
  }
  return unpack2x16float(h).x;
}
