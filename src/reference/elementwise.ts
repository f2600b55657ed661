/** Reference elementwise ops in float64: SwiGLU and the residual adds. */

function sigmoid(g: number): number {
  return 1 / (1 + Math.exp(-g));
}

/** out = silu(gate) · up. */
export function swigluForward(
  gate: ArrayLike<number>,
  up: ArrayLike<number>,
  n: number,
): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = gate[i]! * sigmoid(gate[i]!) * up[i]!;
  return out;
}

/** dGate = dOut · up · silu'(gate), dUp = dOut · silu(gate). */
export function swigluBackward(
  gate: ArrayLike<number>,
  up: ArrayLike<number>,
  dOut: ArrayLike<number>,
  n: number,
): { dGate: Float64Array; dUp: Float64Array } {
  const dGate = new Float64Array(n);
  const dUp = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const g = gate[i]!;
    const s = sigmoid(g);
    dUp[i] = dOut[i]! * g * s;
    dGate[i] = dOut[i]! * up[i]! * s * (1 + g * (1 - s));
  }
  return { dGate, dUp };
}

/** dst + src (the value addInto leaves in dst). */
export function addInto(dst: ArrayLike<number>, src: ArrayLike<number>, n: number): Float64Array {
  return add(dst, src, n);
}

/** a + b. */
export function add(a: ArrayLike<number>, b: ArrayLike<number>, n: number): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = a[i]! + b[i]!;
  return out;
}

/** x · s. */
export function scale(x: ArrayLike<number>, s: number, n: number): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = x[i]! * s;
  return out;
}

/** y[t, o] + b[o] over T rows of N (a projection's bias). */
export function biasAdd(
  y: ArrayLike<number>,
  b: ArrayLike<number>,
  T: number,
  N: number,
): Float64Array {
  const out = new Float64Array(T * N);
  for (let t = 0; t < T; t++) for (let o = 0; o < N; o++) out[t * N + o] = y[t * N + o]! + b[o]!;
  return out;
}
