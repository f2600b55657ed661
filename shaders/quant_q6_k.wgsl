// Q6_K's decoder (GPU layout: quant-layout.ts; the names every decoder declares: quant_q8_0.wgsl):
// 53 words per super-block of 256 values, 16 sub-blocks of 16. Word 0 d; words 1–4 the 16 int8
// scales (sub-block j in byte j); words 5–36 the low 4 bits (as Q4_0's quants); words 37–52 the
// high 2 bits (word 37 + (v >> 4): value v = 16w + 4s + c in bits 2s of byte c).
// x = (d·sc_j)·(q − 32).

const QB = 256u;
const QW = 53u;
const QSUB = 16u;
const QMIN = false;
const QHIGH = true;
const QOFF = 32.0;

fn qHead(b: u32) -> vec2<f32> {
  return vec2<f32>(bitcast<f32>(W[b]), 0.0);
}

fn qSub(b: u32, j: u32, h: vec2<f32>) -> vec2<f32> {
  let sc = bitcast<i32>(byteOf(b + 1u, j) << 24u) >> 24u;
  return vec2<f32>(h.x * f32(sc), 0.0);
}

fn qRaw(b: u32, u: u32) -> vec2<u32> {
  return qRawH(b, u, W[b + 37u + (u >> 1u)]);
}

fn qHighQuad(b: u32, u0: u32) -> vec2<u32> {
  let o = b + 37u + (u0 >> 1u);
  return vec2<u32>(W[o], W[o + 1u]);
}

fn qRawH(b: u32, u: u32, h: u32) -> vec2<u32> {
  let w = W[b + 5u + u];
  let s = 4u * (u & 1u);
  let m = 0x03030303u;
  return vec2<u32>(nib(w, 0u) | (((h >> s) & m) << 4u), nib(w, 1u) | (((h >> (s + 2u)) & m) << 4u));
}

fn qRaw2(b: u32, u: u32) -> vec4<u32> {
  let w = W[b + 5u + u];
  let x = W[b + 6u + u];
  let h = W[b + 37u + (u >> 1u)];
  let m = 0x03030303u;
  return vec4<u32>(
    nib(w, 0u) | ((h & m) << 4u),
    nib(w, 1u) | (((h >> 2u) & m) << 4u),
    nib(x, 0u) | (((h >> 4u) & m) << 4u),
    nib(x, 1u) | (((h >> 6u) & m) << 4u),
  );
}
