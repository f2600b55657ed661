/** Reference LoRA (PEFT shapes: A [r, in], B [out, r]) in float64, plain loops. */
import { linearBackwardInput, linearForward } from './matmul.ts';

/** xa = x·Aᵀ [T, r] and the LoRA contribution y = scaling·xa·Bᵀ [T, out] (add it to x·Wᵀ). */
export function loraForward(
  x: ArrayLike<number>,
  A: ArrayLike<number>,
  B: ArrayLike<number>,
  T: number,
  inF: number,
  outF: number,
  r: number,
  scaling: number,
): { xa: Float64Array; y: Float64Array } {
  const xa = linearForward(x, A, T, inF, r);
  const y = linearForward(xa, B, T, r, outF).map((v) => scaling * v);
  return { xa, y };
}

/**
 * Gradients of the LoRA path for upstream dy [T, out]: dB = scaling·dyᵀ·xa, g = scaling·dy·B,
 * dA = gᵀ·x, dx = g·A (the LoRA part of the input gradient; add it to dy·W).
 */
export function loraBackward(
  x: ArrayLike<number>,
  A: ArrayLike<number>,
  B: ArrayLike<number>,
  xa: ArrayLike<number>,
  dy: ArrayLike<number>,
  T: number,
  inF: number,
  outF: number,
  r: number,
  scaling: number,
): { dA: Float64Array; dB: Float64Array; dx: Float64Array; g: Float64Array } {
  const dB = new Float64Array(outF * r);
  for (let o = 0; o < outF; o++) {
    for (let j = 0; j < r; j++) {
      let s = 0;
      for (let t = 0; t < T; t++) s += dy[t * outF + o]! * xa[t * r + j]!;
      dB[o * r + j] = scaling * s;
    }
  }
  const g = linearBackwardInput(dy, B, T, r, outF).map((v) => scaling * v);
  const dA = new Float64Array(r * inF);
  for (let j = 0; j < r; j++) {
    for (let i = 0; i < inF; i++) {
      let s = 0;
      for (let t = 0; t < T; t++) s += g[t * r + j]! * x[t * inF + i]!;
      dA[j * inF + i] = s;
    }
  }
  const dx = linearBackwardInput(g, A, T, inF, r);
  return { dA, dB, dx, g };
}
