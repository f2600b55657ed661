/**
 * Reference attention in float64 (plain loops) with the LongLoRA patterns, for checking the flash
 * kernels. Shapes as the kernels: q, o [Tq, H, hd]; k, v [Tk, KV, hd]; lse [H, Tq].
 */
import type { AttentionPattern } from '../util/attention-pattern.ts';

export type { AttentionPattern } from '../util/attention-pattern.ts';

/** Shapes and pattern of one attention call (mirrors the kernel launcher's config). */
export interface AttentionShape {
  Tq: number;
  Tk: number;
  H: number;
  KV: number;
  hd: number;
  pattern: AttentionPattern;
  /** Group size G, required for s2/s2roll; ignored for full. */
  group?: number;
  /** Absolute position of query 0 (pattern full, generation with a KV cache). */
  qOffset?: number;
}

/** Whether a head attends in the shifted groups (heads [H/2, H) under s2/s2roll). */
export function isShiftedHead(pattern: AttentionPattern, h: number, H: number): boolean {
  return pattern !== 'full' && h >= Math.floor(H / 2);
}

/**
 * Whether key j is visible to query i (both absolute positions) in query head h of H, for context N
 * and group G. full: causal. s2: causal inside groups of G; shifted heads' group id is
 * floor((i + G/2) / G). s2roll: shifted heads use the rolled position r(i) = (i − G/2) mod N, group
 * floor(r/G), causal in rolled order.
 */
export function visible(
  pattern: AttentionPattern,
  i: number,
  j: number,
  h: number,
  H: number,
  N: number,
  G: number,
): boolean {
  if (pattern === 'full') return j <= i;
  if (!isShiftedHead(pattern, h, H)) return Math.floor(i / G) === Math.floor(j / G) && j <= i;
  if (pattern === 's2') {
    return Math.floor((i + G / 2) / G) === Math.floor((j + G / 2) / G) && j <= i;
  }
  const ri = (((i - G / 2) % N) + N) % N;
  const rj = (((j - G / 2) % N) + N) % N;
  return Math.floor(ri / G) === Math.floor(rj / G) && rj <= ri;
}

/** The group size of a config: cfg.group for s2/s2roll (required), Tk for full. */
export function resolvedGroup(cfg: AttentionShape): number {
  if (cfg.pattern === 'full') return cfg.Tk;
  if (cfg.group === undefined) {
    throw new Error(`reference attention: pattern ${cfg.pattern} needs a group size (cfg.group)`);
  }
  return cfg.group;
}

/** Softmax probabilities of query row i in head h over all keys (0 where not visible), and their lse. */
function probabilities(
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  cfg: AttentionShape,
  i: number,
  h: number,
): { pr: Float64Array; lse: number } {
  const { Tk, H, KV, hd, pattern } = cfg;
  const G = resolvedGroup(cfg);
  const off = cfg.qOffset ?? 0;
  const kvh = Math.floor(h / (H / KV));
  const scale = 1 / Math.sqrt(hd);
  const s = new Float64Array(Tk).fill(-Infinity);
  let m = -Infinity;
  for (let j = 0; j < Tk; j++) {
    if (!visible(pattern, i + off, j, h, H, Tk, G)) continue;
    let dot = 0;
    for (let d = 0; d < hd; d++) dot += q[(i * H + h) * hd + d]! * k[(j * KV + kvh) * hd + d]!;
    s[j] = dot * scale;
    m = Math.max(m, s[j]!);
  }
  let sum = 0;
  for (let j = 0; j < Tk; j++) sum += s[j] === -Infinity ? 0 : Math.exp(s[j]! - m);
  const pr = new Float64Array(Tk);
  for (let j = 0; j < Tk; j++) pr[j] = s[j] === -Infinity ? 0 : Math.exp(s[j]! - m) / sum;
  return { pr, lse: m + Math.log(sum) };
}

/** Forward: o = softmax(q·kᵀ/√hd + mask)·v per query head, and lse [H, Tq]. */
export function attentionForward(
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  v: ArrayLike<number>,
  cfg: AttentionShape,
): { o: Float64Array; lse: Float64Array } {
  const { Tq, Tk, H, KV, hd } = cfg;
  const o = new Float64Array(Tq * H * hd);
  const lse = new Float64Array(H * Tq);
  for (let h = 0; h < H; h++) {
    const kvh = Math.floor(h / (H / KV));
    for (let i = 0; i < Tq; i++) {
      const { pr, lse: rowLse } = probabilities(q, k, cfg, i, h);
      lse[h * Tq + i] = rowLse;
      for (let j = 0; j < Tk; j++) {
        if (pr[j] === 0) continue;
        for (let d = 0; d < hd; d++)
          o[(i * H + h) * hd + d]! += pr[j]! * v[(j * KV + kvh) * hd + d]!;
      }
    }
  }
  return { o, lse };
}

/**
 * Backward of attentionForward given dO: returns dq, dk, dv (the forward's outputs are recomputed
 * here, so the reference does not depend on the kernel's saved o and lse).
 */
export function attentionBackward(
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  v: ArrayLike<number>,
  dO: ArrayLike<number>,
  cfg: AttentionShape,
): { dq: Float64Array; dk: Float64Array; dv: Float64Array } {
  const { Tq, Tk, H, KV, hd } = cfg;
  const scale = 1 / Math.sqrt(hd);
  const dq = new Float64Array(Tq * H * hd);
  const dk = new Float64Array(Tk * KV * hd);
  const dv = new Float64Array(Tk * KV * hd);
  for (let h = 0; h < H; h++) {
    const kvh = Math.floor(h / (H / KV));
    for (let i = 0; i < Tq; i++) {
      const { pr } = probabilities(q, k, cfg, i, h);
      const qi = (i * H + h) * hd;
      // dP_ij = dO_i · v_j ; dS_ij = P_ij (dP_ij − Σ_l P_il dP_il)
      const dp = new Float64Array(Tk);
      let rowDot = 0;
      for (let j = 0; j < Tk; j++) {
        if (pr[j] === 0) continue;
        let s = 0;
        for (let d = 0; d < hd; d++) s += dO[qi + d]! * v[(j * KV + kvh) * hd + d]!;
        dp[j] = s;
        rowDot += pr[j]! * s;
      }
      for (let j = 0; j < Tk; j++) {
        if (pr[j] === 0) continue;
        const kj = (j * KV + kvh) * hd;
        const ds = pr[j]! * (dp[j]! - rowDot) * scale;
        for (let d = 0; d < hd; d++) {
          dv[kj + d]! += pr[j]! * dO[qi + d]!;
          dq[qi + d]! += ds * k[kj + d]!;
          dk[kj + d]! += ds * q[qi + d]!;
        }
      }
    }
  }
  return { dq, dk, dv };
}
