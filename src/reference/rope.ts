/** Reference rotary position embedding (rotate-half, HF Llama) and Llama 3's frequencies, in float64. */

/** Llama 3's RoPE scaling (Hugging Face rope_type "llama3"), in the reference's own words. */
export interface RefLlama3Rope {
  /** How much the lowest frequencies are slowed down. */
  factor: number;
  /** Frequencies with fewer than this many turns over the original context are slowed fully. */
  lowFreqFactor: number;
  /** Frequencies with more than this many turns over the original context are kept. */
  highFreqFactor: number;
  /** The context the model was pre-trained at (original_max_position_embeddings). */
  originalMaxPositions: number;
}

/**
 * Float64 inverse frequencies of Llama 3's RoPE, written from its definition independently of the
 * engine's `ropeInvFreq`: a frequency f = theta^(−2i/hd) turns r = L·f / 2π times over the original
 * context L. r ≥ highFreqFactor keeps f; r ≤ lowFreqFactor gives f / factor; in between, the scale
 * 1/factor → 1 is linear in r: f · (1/factor + s·(1 − 1/factor)) with s = (r − low) / (high − low).
 * No f32 rounding anywhere.
 */
export function llama3InvFreq(hd: number, theta: number, s: RefLlama3Rope): Float64Array {
  const out = new Float64Array(hd / 2);
  for (let i = 0; i < hd / 2; i++) {
    const f = Math.pow(theta, (-2 * i) / hd);
    const turns = (s.originalMaxPositions * f) / (2 * Math.PI);
    let scale: number;
    if (turns >= s.highFreqFactor) scale = 1;
    else if (turns <= s.lowFreqFactor) scale = 1 / s.factor;
    else {
      const t = (turns - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor);
      scale = 1 / s.factor + t * (1 - 1 / s.factor);
    }
    out[i] = f * scale;
  }
  return out;
}

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
