/** Reference AdamW (PyTorch semantics) and squared gradient norm in float64. */

/** AdamW hyper-parameters of one step (same fields as the kernel's). */
export interface AdamWHyper {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  step: number;
  gradScale: number;
}

/** One AdamW step in place on param, m and v (decoupled weight decay, bias correction). */
export function adamwStep(
  param: Float64Array,
  grad: ArrayLike<number>,
  m: Float64Array,
  v: Float64Array,
  n: number,
  h: AdamWHyper,
): void {
  const bc1 = 1 - h.beta1 ** h.step;
  const bc2 = 1 - h.beta2 ** h.step;
  for (let i = 0; i < n; i++) {
    const g = grad[i]! * h.gradScale;
    param[i] = param[i]! * (1 - h.lr * h.weightDecay);
    m[i] = h.beta1 * m[i]! + (1 - h.beta1) * g;
    v[i] = h.beta2 * v[i]! + (1 - h.beta2) * g * g;
    const denom = Math.sqrt(v[i]!) / Math.sqrt(bc2) + h.eps;
    param[i] = param[i]! - ((h.lr / bc1) * m[i]!) / denom;
  }
}

/** Σ over all buffers of Σ_{i<n} g[i]². */
export function gradNormSquared(grads: { data: ArrayLike<number>; n: number }[]): number {
  let s = 0;
  for (const g of grads) for (let i = 0; i < g.n; i++) s += g.data[i]! ** 2;
  return s;
}
