// sin and cos for rotary embeddings, computed here rather than with the built-ins: WGSL only
// promises 2^-11 absolute error for those (SwiftShader shows 2e-4 even inside [−π, π]) and GPUs lose
// more on large arguments. The angle is reduced to [−π, π] (Cody–Waite, 2π in three parts; exact
// steps for |a| < 4e5), then to [−π/4, π/4] plus a quadrant, where minimax polynomials (Cephes
// sinf/cosf) give ~1e-7. Include-only (rope.rotate, rope.rotate_qk).

// 2π = C1 + C2 + C3. C1 = 6.28125 has 8 significant bits, so k·C1 is exact for |k| < 2^16.
const C1: f32 = 6.28125;
const C2: f32 = 1.9353071693331003e-3;
const C3: f32 = 1.0253131677018246e-11;
const INV_TWO_PI: f32 = 0.15915494309189535;

// π/2 = P1 + P2 (P1 = f32(π/2)); the quadrant q is at most 2 in magnitude, so q·P1 is exact.
const P1: f32 = 1.5707963705062866;
const P2: f32 = -4.371138828673793e-8;
const TWO_OVER_PI: f32 = 0.6366197723675814;

fn reduceAngle(a: f32) -> f32 {
  let k = round(a * INV_TWO_PI);
  return ((a - k * C1) - k * C2) - k * C3;
}

// (sin a, cos a) for any f32 angle a.
fn sinCos(a: f32) -> vec2<f32> {
  let r = reduceAngle(a);
  let q = round(r * TWO_OVER_PI);
  let y = (r - q * P1) - q * P2;
  let z = y * y;
  let s = y + y * z * (-1.6666654611e-1 + z * (8.3321608736e-3 + z * -1.9515295891e-4));
  let c = 1.0 - 0.5 * z + z * z * (4.166664568298827e-2 + z * (-1.388731625493765e-3 + z * 2.443315711809948e-5));
  switch (i32(q) & 3) {
    case 0: {
      return vec2<f32>(s, c);
    }
    case 1: {
      return vec2<f32>(c, -s);
    }
    case 2: {
      return vec2<f32>(-s, -c);
    }
    default: {
      return vec2<f32>(-c, s);
    }
  }
}
