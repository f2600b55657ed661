// Eight halves (bf16 or f16, by the includer's `WDT` override: 1 bf16, 2 f16) packed in a
// 16-byte load, as two vec4<f32>: elements 0–3 in lo, 4–7 in hi (element 2i in the low half of word
// i). Shared through `// #include halves8` by the 16-byte-load matmul kernels (not a kernel).

struct Eight {
  lo: vec4<f32>,
  hi: vec4<f32>,
}

fn halves(w: vec4<u32>) -> Eight {
  if (WDT == 1u) {
    let l = bitcast<vec4<f32>>(w << vec4<u32>(16u));
    let h = bitcast<vec4<f32>>(w & vec4<u32>(0xffff0000u));
    return Eight(vec4<f32>(l.x, h.x, l.y, h.y), vec4<f32>(l.z, h.z, l.w, h.w));
  }
  let a = unpack2x16float(w.x);
  let b = unpack2x16float(w.y);
  let c = unpack2x16float(w.z);
  let d = unpack2x16float(w.w);
  return Eight(vec4<f32>(a, b), vec4<f32>(c, d));
}
