// matmul.half: the f16 linear layer (needs `shader-f16`): f16 products and short f16 partial sums
// flushed into f32 accumulators, A's rows scaled into f16's range first (the kernel and its thread
// mapping: matmul_half.wgsl). matmul.half_emu.wgsl builds the same body without f16.

enable f16;

alias H = f16;
alias H4 = vec4<f16>;

fn toH(x: f32) -> H {
  return f16(x);
}

fn hfma4(a: H, b: H4, c: H4) -> H4 {
  return c + a * b;
}

// #include matmul_half
