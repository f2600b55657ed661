/** Reference rotary position embedding (rotate-half, HF Llama) in float64. */

/** The angle HF uses: the product (posOffset + t) · invFreq[i] rounded to f32. */
export function ropeAngle(pos: number, invFreq: number): number {
  return Math.fround(Math.fround(pos) * Math.fround(invFreq));
}

function rotate(
  x: ArrayLike<number>,
  invFreq: ArrayLike<number>,
  T: number,
  nh: number,
  hd: number,
  posOffset: number,
  sign: number,
): Float64Array {
  const half = hd / 2;
  const out = Float64Array.from(x);
  for (let t = 0; t < T; t++) {
    for (let h = 0; h < nh; h++) {
      for (let i = 0; i < half; i++) {
        const a = ropeAngle(posOffset + t, invFreq[i]!);
        const c = Math.cos(a);
        const s = sign * Math.sin(a);
        const j0 = (t * nh + h) * hd + i;
        const x0 = x[j0]!;
        const x1 = x[j0 + half]!;
        out[j0] = x0 * c - x1 * s;
        out[j0 + half] = x1 * c + x0 * s;
      }
    }
  }
  return out;
}

/** x[T, nh, hd] rotated by angle (posOffset + t) · invFreq[i] on pairs (i, i + hd/2). */
export function ropeForward(
  x: ArrayLike<number>,
  invFreq: ArrayLike<number>,
  T: number,
  nh: number,
  hd: number,
  posOffset: number,
): Float64Array {
  return rotate(x, invFreq, T, nh, hd, posOffset, 1);
}

/** The gradient through ropeForward: rotation by the negated angle. */
export function ropeBackward(
  dx: ArrayLike<number>,
  invFreq: ArrayLike<number>,
  T: number,
  nh: number,
  hd: number,
  posOffset: number,
): Float64Array {
  return rotate(dx, invFreq, T, nh, hd, posOffset, -1);
}
