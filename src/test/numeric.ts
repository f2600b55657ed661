/** Numeric assertions for kernel and reference tests. */

/**
 * Asserts |actual − expected| ≤ atol + rtol·|expected| element-wise. The failure message names the
 * tensor, the first failing index, both values, and the largest difference.
 */
export function expectClose(
  name: string,
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  atol = 1e-5,
  rtol = 1e-3,
): void {
  if (actual.length !== expected.length) {
    throw new Error(`${name}: length ${actual.length} != expected ${expected.length}`);
  }
  let first = -1;
  let worst = 0;
  let worstAt = 0;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    const d = Math.abs(a - e);
    const bad = !(d <= atol + rtol * Math.abs(e));
    if (bad && first < 0) first = i;
    if (!(d <= worst)) {
      worst = d;
      worstAt = i;
    }
  }
  if (first >= 0) {
    throw new Error(
      `${name}: mismatch at [${first}]: got ${actual[first]}, expected ${expected[first]}; ` +
        `largest |Δ| ${worst} at [${worstAt}] (got ${actual[worstAt]}, expected ${expected[worstAt]}); ` +
        `tolerance ${atol} + ${rtol}·|ref|`,
    );
  }
}

/** ‖a − b‖ / max(‖b‖, tiny): the norm-wise relative error used for gradient parity. */
export function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < b.length; i++) {
    const d = a[i]! - b[i]!;
    num += d * d;
    den += b[i]! * b[i]!;
  }
  return Math.sqrt(num) / Math.max(Math.sqrt(den), 1e-30);
}
