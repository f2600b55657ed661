// packed[w] = half(x[2w]) | half(x[2w+1]) << 16 for the n f32 values x (the last word's high half is
// 0 when n is odd): a decoder layer's input kept as an IEEE binary16 checkpoint (LlamaModel's
// checkpoint16). Element e sits in word e >> 1, the low half when e is even (as in packed16.wgsl).
// Conversion by integer ops, not pack2x16float (whose rounding and out-of-range result WGSL leaves
// to the implementation): round to nearest, ties to even; |x| ≥ 65520 (rounds past 65504) and ±inf
// → ±inf; NaN → a quiet NaN (0x7e00 with x's sign); results below 2^-14 become f16 subnormals, below
// 2^-25 (half the smallest subnormal, ties to even) ±0; the sign of zero is kept; f32 subnormals give
// ±0. The input is read as raw bits (array<u32>), so no float load can flush or canonicalize it.
// Overwrites packed[0 .. ceil(n/2)). One lane per word; 256 lanes per workgroup on a 2D grid (x
// fastest) so n may exceed 65535·512.

// #params Params

@group(0) @binding(0) var<storage, read> x: array<u32>; // f32 bits
@group(0) @binding(1) var<storage, read_write> packed: array<u32>;
@group(0) @binding(2) var<uniform> p: Params;

fn toHalf(b: u32) -> u32 {
  let sign = (b >> 16u) & 0x8000u;
  let exp = (b >> 23u) & 0xffu;
  let mant = b & 0x7fffffu;
  if (exp == 0xffu) {
    return sign | 0x7c00u | select(0u, 0x200u, mant != 0u);
  }
  if (exp >= 143u) {
    return sign | 0x7c00u; // 2^16 and above: past the largest half even before rounding
  }
  if (exp <= 112u) {
    // f16 subnormal (or zero): value = m · 2^-24 with m = full mantissa >> shift.
    if (exp < 102u) {
      return sign; // below 2^-25: rounds to zero
    }
    let full = mant | 0x800000u;
    let shift = 126u - exp; // 14 .. 24
    var h = full >> shift;
    let rem = full & ((1u << shift) - 1u);
    let half = 1u << (shift - 1u);
    if (rem > half || (rem == half && (h & 1u) == 1u)) {
      h = h + 1u;
    }
    return sign | h;
  }
  var h = ((exp - 112u) << 10u) | (mant >> 13u);
  let rem = mant & 0x1fffu;
  // A carry out of the mantissa moves into the exponent: still the right half, up to infinity.
  if (rem > 0x1000u || (rem == 0x1000u && (h & 1u) == 1u)) {
    h = h + 1u;
  }
  return sign | h;
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let w = gid.y * nwg.x * 256u + gid.x;
  let e = 2u * w;
  if (e >= p.n) {
    return;
  }
  var hi = 0u;
  if (e + 1u < p.n) {
    hi = toHalf(x[e + 1u]);
  }
  packed[w] = toHalf(x[e]) | (hi << 16u);
}
