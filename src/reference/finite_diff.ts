/** Central finite differences in float64, for checking the references' backward passes. */

/** ∂f/∂x[i] for every i, by central differences with step h (x is restored afterwards). */
export function numericGradient(f: () => number, x: Float64Array, h = 1e-6): Float64Array {
  const g = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const x0 = x[i]!;
    x[i] = x0 + h;
    const fp = f();
    x[i] = x0 - h;
    const fm = f();
    x[i] = x0;
    g[i] = (fp - fm) / (2 * h);
  }
  return g;
}

/** Σ a[i] · b[i]: turns a vector output into a scalar loss with a fixed upstream gradient. */
export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

/** Uniform floats in [lo, hi) as float64 from a seeded generator's next(). */
export function randoms(next: () => number, n: number, lo = -1, hi = 1): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = lo + (hi - lo) * next();
  return out;
}
