/**
 * The LongLoRA rules (docs/longlora.md) written once: the S²-Attn group size and which attention
 * settings are valid, the position-interpolation factor, and the LoRA+ defaults. Pure functions with
 * no GPU or DOM: the trainer, the worker, the CLI and the studio's form all read them from here.
 */
import type { LinearName, ModelConfig } from '../io/config.ts';

export { LINEAR_NAMES, type LinearName } from '../io/config.ts';
import type { AttentionPattern } from '../util/attention-pattern.ts';

/** What is trained: LoRA+ = LoRA on `targets` plus embeddings and norms. */
export interface LoraSettings {
  rank: number;
  alpha: number;
  targets: LinearName[];
  trainEmbed: boolean;
  trainNorm: boolean;
}

/** LongLoRA's defaults: r 8, alpha 16 on q, k, v, o, with embeddings and norms trained. */
export const DEFAULT_LORA: Readonly<LoraSettings> = Object.freeze({
  rank: 8,
  alpha: 16,
  targets: ['q_proj', 'k_proj', 'v_proj', 'o_proj'] as LinearName[],
  trainEmbed: true,
  trainNorm: true,
});

/** A fresh copy of the defaults (callers may change it). */
export function defaultLora(): LoraSettings {
  return { ...DEFAULT_LORA, targets: [...DEFAULT_LORA.targets] };
}

/** S²-Attn cuts the context into this many groups by default (G = N / 4). */
export const S2_GROUPS = 4;

/** The default group size for a pattern: N / 4 for s2 and s2roll, the whole context for full. */
export function groupSize(context: number, pattern: AttentionPattern): number {
  return pattern === 'full' ? context : context / S2_GROUPS;
}

/**
 * Why `pattern` with group `group` cannot run at `context`, or null when it can: the kernels need N
 * to be a multiple of an even G. Any head count works: heads [0, floor(H/2)) keep their groups and
 * the rest are shifted.
 */
export function attentionProblem(
  context: number,
  pattern: AttentionPattern,
  group: number,
): string | null {
  if (!Number.isInteger(context) || context < 2)
    return `The context must be an integer of at least 2 tokens (got ${context}).`;
  if (pattern === 'full') return null;
  const valid = Number.isInteger(group) && group > 0 && group % 2 === 0 && context % group === 0;
  if (!valid && group === context / S2_GROUPS)
    return (
      `Shifted sparse attention needs a context divisible by ${2 * S2_GROUPS} ` +
      `(group size ${group} must be even).`
    );
  if (!Number.isInteger(group) || group <= 0 || group % 2 !== 0)
    return `Shifted sparse attention needs a positive even group size (got ${group}).`;
  if (context % group !== 0)
    return `The context (${context}) must be a multiple of the group size (${group}).`;
  return null;
}

/** The context nearest `context` that S²-Attn with G = N/4 accepts (a multiple of 8). */
export function nearestS2Context(context: number): number {
  return Math.max(2 * S2_GROUPS, Math.round(context / (2 * S2_GROUPS)) * 2 * S2_GROUPS);
}

/** LongLoRA's usual target: this many times the model's native context. */
export const CONTEXT_EXTENSION = 4;

/** The default target context for a model: 4 × max_position_embeddings. */
export function defaultTargetContext(shape: Pick<ModelConfig, 'maxPositions'>): number {
  return CONTEXT_EXTENSION * shape.maxPositions;
}

/**
 * The linear position-interpolation factor for a target context: positions are divided by it so the
 * target maps into max_position_embeddings, i.e. ceil(context / max_position_embeddings) beyond it,
 * and never below a linear factor the model already has (within its range nothing is stacked).
 */
export function ropeFactor(
  context: number,
  shape: Pick<ModelConfig, 'maxPositions' | 'ropeScaling'>,
): number {
  const existing = shape.ropeScaling?.type === 'linear' ? shape.ropeScaling.factor : 1;
  const needed = context > shape.maxPositions ? Math.ceil(context / shape.maxPositions) : 1;
  return Math.max(existing, needed);
}

/** Nothing trained: the base model as it is (generation and evaluation without an adapter). */
export const BASE_ONLY: Readonly<LoraSettings> = Object.freeze({
  rank: 1,
  alpha: 1,
  targets: [] as LinearName[],
  trainEmbed: false,
  trainNorm: false,
});
