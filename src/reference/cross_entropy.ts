/** Reference output layer + cross-entropy in float64. */

/** logits[T, V] = hidden[T, D] · W[V, D]ᵀ. */
export function logitsForward(
  hidden: ArrayLike<number>,
  W: ArrayLike<number>,
  T: number,
  D: number,
  V: number,
): Float64Array {
  const out = new Float64Array(T * V);
  for (let t = 0; t < T; t++) {
    for (let v = 0; v < V; v++) {
      let s = 0;
      for (let d = 0; d < D; d++) s += hidden[t * D + d]! * W[v * D + d]!;
      out[t * V + v] = s;
    }
  }
  return out;
}

/**
 * loss = Σ_t −log softmax(hidden · Wᵀ)[t, labels[t]] over labels in [0, V) (−100 ignored), and the
 * gradients of loss · gradScale: dHidden [T, D] and dW [V, D].
 */
export function crossEntropyForward(
  hidden: ArrayLike<number>,
  W: ArrayLike<number>,
  labels: ArrayLike<number>,
  T: number,
  D: number,
  V: number,
  gradScale = 1,
): { loss: number; dHidden: Float64Array; dW: Float64Array } {
  const logits = logitsForward(hidden, W, T, D, V);
  const dHidden = new Float64Array(T * D);
  const dW = new Float64Array(V * D);
  let loss = 0;
  for (let t = 0; t < T; t++) {
    const label = labels[t]!;
    if (!(label >= 0 && label < V)) continue;
    let mx = -Infinity;
    for (let v = 0; v < V; v++) mx = Math.max(mx, logits[t * V + v]!);
    let s = 0;
    for (let v = 0; v < V; v++) s += Math.exp(logits[t * V + v]! - mx);
    const lse = mx + Math.log(s);
    loss += lse - logits[t * V + label]!;
    for (let v = 0; v < V; v++) {
      const g = (Math.exp(logits[t * V + v]! - lse) - (v === label ? 1 : 0)) * gradScale;
      for (let d = 0; d < D; d++) {
        dHidden[t * D + d] = dHidden[t * D + d]! + g * W[v * D + d]!;
        dW[v * D + d] = dW[v * D + d]! + g * hidden[t * D + d]!;
      }
    }
  }
  return { loss, dHidden, dW };
}
