/**
 * The attention patterns of LongLoRA (docs/longlora.md): causal `full`, shifted sparse `s2` (the
 * official training path) and `s2roll` (the paper's rolled variant). A leaf module: the kernels, the
 * reference, the model and the UI all read the names and ids from here.
 */

export const ATTENTION_PATTERNS = ['full', 's2', 's2roll'] as const;
export type AttentionPattern = (typeof ATTENTION_PATTERNS)[number];

/** The id each pattern has in the attention kernels' uniforms (and the WGSL constants). */
export const PATTERN_ID: Readonly<Record<AttentionPattern, number>> = { full: 0, s2: 1, s2roll: 2 };

/** Whether `x` names a pattern. */
export function isAttentionPattern(x: unknown): x is AttentionPattern {
  return typeof x === 'string' && (ATTENTION_PATTERNS as readonly string[]).includes(x);
}
