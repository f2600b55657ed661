/**
 * Float64 forward/backward building blocks of the reference Llama (src/reference/llama.ts).
 * Plain loops over row-major arrays; written independently of the GPU engine. Backward functions
 * ACCUMULATE into the gradient arrays they are given (callers pass zeroed arrays where they want `=`).
 */
import type { AttentionPattern } from '../util/attention-pattern.ts';
import { IGNORE_INDEX } from '../util/labels.ts';

/**
 * Whether query token i of head h may attend to key token j (docs/longlora.md's definitions). Heads
 * h ≥ floor(H/2) are the shifted ones under `s2`/`s2roll` (Python's `H // 2`, WGSL's `H / 2u`).
 */
export function attentionAllowed(
  pattern: AttentionPattern,
  N: number,
  G: number,
  H: number,
  h: number,
  i: number,
  j: number,
): boolean {
  if (pattern === 'full' || h < Math.floor(H / 2)) {
    if (j > i) return false;
    return pattern === 'full' || Math.floor(i / G) === Math.floor(j / G);
  }
  const half = G / 2;
  if (pattern === 's2') {
    return j <= i && Math.floor((i + half) / G) === Math.floor((j + half) / G);
  }
  const pi = (((i - half) % N) + N) % N;
  const pj = (((j - half) % N) + N) % N;
  return pj <= pi && Math.floor(pi / G) === Math.floor(pj / G);
}

/** y[N, out] = x[N, in] · W[out, in]ᵀ. */
export function linear(x: Float64Array, W: Float64Array, N: number, inF: number, outF: number) {
  const y = new Float64Array(N * outF);
  for (let t = 0; t < N; t++) {
    for (let o = 0; o < outF; o++) {
      let s = 0;
      for (let k = 0; k < inF; k++) s += x[t * inF + k]! * W[o * inF + k]!;
      y[t * outF + o] = s;
    }
  }
  return y;
}

/** dx[N, in] += dy[N, out] · W[out, in]. */
export function linearBackwardInput(
  dy: Float64Array,
  W: Float64Array,
  N: number,
  inF: number,
  outF: number,
  dx: Float64Array,
): void {
  for (let t = 0; t < N; t++) {
    for (let o = 0; o < outF; o++) {
      const g = dy[t * outF + o]!;
      if (g === 0) continue;
      for (let k = 0; k < inF; k++) dx[t * inF + k]! += g * W[o * inF + k]!;
    }
  }
}

/** dW[out, in] += dy[N, out]ᵀ · x[N, in]. */
export function linearBackwardWeight(
  dy: Float64Array,
  x: Float64Array,
  N: number,
  inF: number,
  outF: number,
  dW: Float64Array,
): void {
  for (let t = 0; t < N; t++) {
    for (let o = 0; o < outF; o++) {
      const g = dy[t * outF + o]!;
      if (g === 0) continue;
      for (let k = 0; k < inF; k++) dW[o * inF + k]! += g * x[t * inF + k]!;
    }
  }
}

/** A LoRA pair: A [rank, in], B [out, rank]. */
export interface LoraPair {
  A: Float64Array;
  B: Float64Array;
}

/** y = x·Wᵀ + scaling·(x·Aᵀ)·Bᵀ; also returns u = x·Aᵀ [N, rank] (saved for backward). */
export function loraLinear(
  x: Float64Array,
  W: Float64Array,
  lora: LoraPair | undefined,
  N: number,
  inF: number,
  outF: number,
  rank: number,
  scaling: number,
): { y: Float64Array; u?: Float64Array } {
  const y = linear(x, W, N, inF, outF);
  if (!lora) return { y };
  const u = linear(x, lora.A, N, inF, rank);
  const z = linear(u, lora.B, N, rank, outF);
  for (let e = 0; e < y.length; e++) y[e]! += scaling * z[e]!;
  return { y, u };
}

/** Backward of loraLinear: dx += dy·W + scaling·(dy·B)·A; grads.A/B += (W frozen, no grad). */
export function loraLinearBackward(
  dy: Float64Array,
  x: Float64Array,
  W: Float64Array,
  lora: LoraPair | undefined,
  u: Float64Array | undefined,
  N: number,
  inF: number,
  outF: number,
  rank: number,
  scaling: number,
  dx: Float64Array,
  grads: LoraPair | undefined,
): void {
  linearBackwardInput(dy, W, N, inF, outF, dx);
  if (!lora) return;
  if (!u || !grads) throw new Error('loraLinearBackward: LoRA module without saved u or grads');
  const dyS = dy.map((g) => g * scaling);
  linearBackwardWeight(dyS, u, N, rank, outF, grads.B);
  const du = new Float64Array(N * rank);
  linearBackwardInput(dyS, lora.B, N, rank, outF, du);
  linearBackwardWeight(du, x, N, inF, rank, grads.A);
  linearBackwardInput(du, lora.A, N, inF, rank, dx);
}

/** RMSNorm over rows: y = x / sqrt(mean(x²) + eps) · w; returns y and rstd [N]. */
export function rmsnorm(x: Float64Array, w: Float64Array, N: number, D: number, eps: number) {
  const y = new Float64Array(N * D);
  const rstd = new Float64Array(N);
  for (let t = 0; t < N; t++) {
    let ss = 0;
    for (let d = 0; d < D; d++) ss += x[t * D + d]! ** 2;
    const r = 1 / Math.sqrt(ss / D + eps);
    rstd[t] = r;
    for (let d = 0; d < D; d++) y[t * D + d] = x[t * D + d]! * r * w[d]!;
  }
  return { y, rstd };
}

/** RMSNorm backward: dx += ∂L/∂x, dw += Σ_t dy·x̂. */
export function rmsnormBackward(
  dy: Float64Array,
  x: Float64Array,
  w: Float64Array,
  rstd: Float64Array,
  N: number,
  D: number,
  dx: Float64Array,
  dw: Float64Array,
): void {
  for (let t = 0; t < N; t++) {
    const r = rstd[t]!;
    let dot = 0; // Σ_d (dy·w)_d · x̂_d
    for (let d = 0; d < D; d++) {
      const xh = x[t * D + d]! * r;
      const g = dy[t * D + d]!;
      dw[d]! += g * xh;
      dot += g * w[d]! * xh;
    }
    for (let d = 0; d < D; d++) {
      const xh = x[t * D + d]! * r;
      dx[t * D + d]! += r * (dy[t * D + d]! * w[d]! - (xh * dot) / D);
    }
  }
}

/**
 * Rotary embedding in the Hugging Face rotate-half layout (pairs i and i + hd/2) on x [N, nHeads·hd],
 * position t/factor, inv_freq[i] = theta^(−2i/hd) or, when given, `invFreq[i]` (e.g. Llama 3's).
 * `inverse` rotates by −angle (the backward).
 */
export function rope(
  x: Float64Array,
  N: number,
  nHeads: number,
  hd: number,
  theta: number,
  factor: number,
  inverse = false,
  invFreq?: ArrayLike<number>,
): Float64Array {
  const y = new Float64Array(x.length);
  const half = hd / 2;
  const sign = inverse ? -1 : 1;
  for (let t = 0; t < N; t++) {
    const pos = t / factor;
    for (let i = 0; i < half; i++) {
      const ang = pos * (invFreq ? invFreq[i]! : Math.pow(theta, (-2 * i) / hd));
      const c = Math.cos(ang);
      const s = sign * Math.sin(ang);
      for (let h = 0; h < nHeads; h++) {
        const base = t * nHeads * hd + h * hd;
        const a = x[base + i]!;
        const b = x[base + i + half]!;
        y[base + i] = a * c - b * s;
        y[base + i + half] = b * c + a * s;
      }
    }
  }
  return y;
}

/** Shapes and masking of one attention call. */
export interface AttnShape {
  N: number;
  H: number;
  KV: number;
  hd: number;
  pattern: AttentionPattern;
  G: number;
}

/**
 * Softmax attention with scale 1/sqrt(hd): q [N, H·hd], k/v [N, KV·hd] (kv head = floor(h/(H/KV))).
 * Returns out [N, H·hd] and the probabilities P [H, N, N] (zero where masked) for backward.
 */
export function attention(q: Float64Array, k: Float64Array, v: Float64Array, s: AttnShape) {
  const { N, H, KV, hd, pattern, G } = s;
  const scale = 1 / Math.sqrt(hd);
  const out = new Float64Array(N * H * hd);
  const P = new Float64Array(H * N * N);
  const row = new Float64Array(N);
  for (let h = 0; h < H; h++) {
    const kvh = Math.floor(h / (H / KV));
    for (let i = 0; i < N; i++) {
      let m = -Infinity;
      for (let j = 0; j < N; j++) {
        row[j] = -Infinity;
        if (!attentionAllowed(pattern, N, G, H, h, i, j)) continue;
        let dot = 0;
        for (let d = 0; d < hd; d++) dot += q[(i * H + h) * hd + d]! * k[(j * KV + kvh) * hd + d]!;
        row[j] = dot * scale;
        m = Math.max(m, row[j]!);
      }
      let sum = 0;
      for (let j = 0; j < N; j++) sum += row[j] === -Infinity ? 0 : Math.exp(row[j]! - m);
      for (let j = 0; j < N; j++) {
        if (row[j] === -Infinity) continue;
        const p = Math.exp(row[j]! - m) / sum;
        P[(h * N + i) * N + j] = p;
        for (let d = 0; d < hd; d++) out[(i * H + h) * hd + d]! += p * v[(j * KV + kvh) * hd + d]!;
      }
    }
  }
  return { out, P };
}

/** Attention backward from dout [N, H·hd] and saved P; returns fresh dq, dk, dv. */
export function attentionBackward(
  dout: Float64Array,
  q: Float64Array,
  k: Float64Array,
  v: Float64Array,
  P: Float64Array,
  s: AttnShape,
) {
  const { N, H, KV, hd } = s;
  const scale = 1 / Math.sqrt(hd);
  const dq = new Float64Array(q.length);
  const dk = new Float64Array(k.length);
  const dv = new Float64Array(v.length);
  const dp = new Float64Array(N);
  for (let h = 0; h < H; h++) {
    const kvh = Math.floor(h / (H / KV));
    for (let i = 0; i < N; i++) {
      const qo = (i * H + h) * hd;
      let rowDot = 0; // Σ_j P_ij dP_ij
      for (let j = 0; j < N; j++) {
        const p = P[(h * N + i) * N + j]!;
        dp[j] = 0;
        if (p === 0) continue;
        const ko = (j * KV + kvh) * hd;
        let g = 0;
        for (let d = 0; d < hd; d++) {
          g += dout[qo + d]! * v[ko + d]!;
          dv[ko + d]! += p * dout[qo + d]!;
        }
        dp[j] = g;
        rowDot += p * g;
      }
      for (let j = 0; j < N; j++) {
        const p = P[(h * N + i) * N + j]!;
        if (p === 0) continue;
        const ds = p * (dp[j]! - rowDot) * scale;
        const ko = (j * KV + kvh) * hd;
        for (let d = 0; d < hd; d++) {
          dq[qo + d]! += ds * k[ko + d]!;
          dk[ko + d]! += ds * q[qo + d]!;
        }
      }
    }
  }
  return { dq, dk, dv };
}

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

/** SwiGLU activation a = silu(g)·u, element-wise. */
export function swiglu(g: Float64Array, u: Float64Array): Float64Array {
  return g.map((x, e) => x * sigmoid(x) * u[e]!);
}

/** SwiGLU backward: fresh dg and du from da. */
export function swigluBackward(da: Float64Array, g: Float64Array, u: Float64Array) {
  const dg = new Float64Array(g.length);
  const du = new Float64Array(g.length);
  for (let e = 0; e < g.length; e++) {
    const x = g[e]!;
    const sg = sigmoid(x);
    du[e] = da[e]! * x * sg;
    dg[e] = da[e]! * u[e]! * sg * (1 + x * (1 - sg));
  }
  return { dg, du };
}

/**
 * Hugging Face causal-LM cross-entropy: logits row t predicts labels[t + 1]; −100 is ignored; mean
 * over counted tokens. Returns the loss, the count and dlogits (zero when nothing is counted).
 */
export function causalCrossEntropy(logits: Float64Array, labels: number[], N: number, V: number) {
  const dlogits = new Float64Array(N * V);
  let count = 0;
  for (let t = 0; t + 1 < N; t++) if (labels[t + 1] !== IGNORE_INDEX) count++;
  let loss = 0;
  for (let t = 0; t + 1 < N; t++) {
    const y = labels[t + 1]!;
    if (y === IGNORE_INDEX) continue;
    let m = -Infinity;
    for (let c = 0; c < V; c++) m = Math.max(m, logits[t * V + c]!);
    let sum = 0;
    for (let c = 0; c < V; c++) sum += Math.exp(logits[t * V + c]! - m);
    const lse = m + Math.log(sum);
    loss += lse - logits[t * V + y]!;
    for (let c = 0; c < V; c++) {
      const p = Math.exp(logits[t * V + c]! - lse);
      dlogits[t * V + c] = (p - (c === y ? 1 : 0)) / count;
    }
  }
  return { loss: count > 0 ? loss / count : 0, count, dlogits };
}
