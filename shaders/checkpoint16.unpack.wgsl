// x[e] = f32(half e of packed) for e < n: a decoder layer's binary16 checkpoint (written by
// checkpoint16.pack) back to f32 for the backward's recompute. Element e sits in word e >> 1, the low
// half when e is even. Exact: every half is an f32 (subnormals become f32 normals, ±0 and ±inf stay,
// a NaN stays a NaN with its sign and payload shifted into the top of the f32 mantissa). Integer ops
// only, written as raw f32 bits (array<u32>), so no float store can flush or canonicalize a value.
// Overwrites x[0 .. n). One lane per word (two elements); 256 lanes per workgroup on a 2D grid.

// #params Params

@group(0) @binding(0) var<storage, read> packed: array<u32>;
@group(0) @binding(1) var<storage, read_write> x: array<u32>; // f32 bits
@group(0) @binding(2) var<uniform> p: Params;

fn fromHalf(h: u32) -> u32 {
  let sign = (h & 0x8000u) << 16u;
  let exp = (h >> 10u) & 0x1fu;
  let mant = h & 0x3ffu;
  if (exp == 0u) {
    if (mant == 0u) {
      return sign;
    }
    // A subnormal m · 2^-24 with its top bit k (0..9): 1.f · 2^(k-24), an f32 normal.
    let k = firstLeadingBit(mant);
    return sign | ((k + 103u) << 23u) | ((mant << (23u - k)) & 0x7fffffu);
  }
  if (exp == 0x1fu) {
    return sign | 0x7f800000u | (mant << 13u);
  }
  return sign | ((exp + 112u) << 23u) | (mant << 13u);
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let w = gid.y * nwg.x * 256u + gid.x;
  let e = 2u * w;
  if (e >= p.n) {
    return;
  }
  let word = packed[w];
  x[e] = fromHalf(word & 0xffffu);
  if (e + 1u < p.n) {
    x[e + 1u] = fromHalf(word >> 16u);
  }
}
