// matmul.half_emu: matmul.half's body built with f32 arithmetic, every value the f16 build holds in
// f16 rounded to the nearest f16 (staged operands, each product, each partial sum: round_f16), so
// it checks the f16 kernel's indexing and its arithmetic's error on adapters without
// `shader-f16` (SwiftShader), equal to src/reference/matmul-half.ts up to f32's last bits. A fused
// f16 multiply-add rounds once where this rounds twice. Tests and benchmarks only; never chosen for
// a run (the kernel and its thread mapping: matmul_half.wgsl).

alias H = f32;
alias H4 = vec4<f32>;

// #include round_f16

fn toH(x: f32) -> H {
  return roundF16(x);
}

fn hfma4(a: H, b: H4, c: H4) -> H4 {
  return roundF16x4(c + roundF16x4(a * b));
}

// #include matmul_half
