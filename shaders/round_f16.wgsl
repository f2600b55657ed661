// f32 values rounded to the nearest f16 value (ties to even), computed in f32: the emulated
// builds' stand-in for f16 arithmetic's rounding (included by matmul.half_emu.wgsl and
// matmul.sgmatrix_emu.wgsl; not a kernel). WGSL leaves quantizeToF16's direction to the
// implementation (SwiftShader truncates); this one rounds as IEEE f16 units do, so the emulations
// give the same values on every adapter and match src/reference/matmul-half.ts. An f16 value's
// last mantissa bit is worth 2^(exp - 11) for x = f·2^exp, f in [0.5, 1), and 2^-24 below f16's
// normal range; dividing by it and multiplying back are exact, round() ties to even. Magnitudes
// past f16's range (65504) are not clamped: the kernels keep their operands in range.

fn roundF16x4(x: vec4<f32>) -> vec4<f32> {
  let ulp = ldexp(vec4<f32>(1.0), max(frexp(x).exp - vec4<i32>(11), vec4<i32>(-24)));
  return round(x / ulp) * ulp;
}

fn roundF16(x: f32) -> f32 {
  return roundF16x4(vec4<f32>(x)).x;
}
