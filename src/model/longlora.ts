/**
 * The LongLoRA rules (docs/longlora.md) written once: the S²-Attn group size and which attention
 * settings are valid, the position-interpolation factor and the rope_scaling exports carry, the
 * default target context, and the LoRA+ defaults. Pure functions with
 * no GPU or DOM: the trainer, the worker, the CLI and the studio's form all read them from here.
 */
import {
  ropeScalingToHfJson,
  slidingWindowProblem,
  type LinearName,
  type ModelConfig,
  type RopeScaling,
} from '../io/config.ts';
import { LINEAR_NAMES, linearSpec } from '../io/block.ts';
import { UnsupportedModelError } from '../io/errors.ts';
import { SettingsError } from '../util/errors.ts';

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

/**
 * LongLoRA's defaults: r 8, alpha 16 on the attention projections (q, k, v, o: the block's
 * attention linears, src/io/arch.ts), with embeddings and norms trained.
 */
export const DEFAULT_LORA: Readonly<LoraSettings> = Object.freeze({
  rank: 8,
  alpha: 16,
  targets: LINEAR_NAMES.filter((n) => linearSpec(n).sublayer === 'attention'),
  trainEmbed: true,
  trainNorm: true,
});

/** A fresh copy of the defaults (callers may change it). */
export function defaultLora(): LoraSettings {
  return { ...DEFAULT_LORA, targets: [...DEFAULT_LORA.targets] };
}

/** Where the trainable embedding's AdamW moments live: GPU buffers, or host (CPU) memory. */
export type EmbedOptimizer = 'gpu' | 'cpu';

/**
 * Embeddings with more elements than this (vocab × hidden > 2^26: moments over 512 MiB) keep their
 * AdamW moments on the CPU by default: Llama-3.2-1B (128256 × 2048, 2.1 GB of moments) and
 * Llama-2-7B (32000 × 4096) do, TinyLlama (32000 × 2048) and smaller models do not.
 */
export const EMBED_MOMENTS_ON_CPU_ABOVE = 2 ** 26;

/** The default home of the trainable embedding's AdamW moments for a model (see above). */
export function defaultEmbedOptimizer(shape: {
  vocabSize: number;
  hidden: number;
}): EmbedOptimizer {
  return shape.vocabSize * shape.hidden > EMBED_MOMENTS_ON_CPU_ABOVE ? 'cpu' : 'gpu';
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

/** What a model's RoPE settings are needed for. */
export type RopeUse =
  /** Training or planning a run: the adapter is exported, so its config.json must reproduce it. */
  | 'train'
  /** Evaluation, the passkey test, generation: nothing leaves the engine. */
  | 'inference';

type RopeShape = Pick<ModelConfig, 'maxPositions' | 'ropeScaling'> &
  Partial<Pick<ModelConfig, 'slidingWindow'>>;

/**
 * The default target context: 4 × the native context. For a "llama3" model the native context is
 * rope_scaling.original_max_position_embeddings and the default stays within max_position_embeddings
 * (min(4 × original, max_position_embeddings): Llama 3.2 → 32768), since training beyond it is refused
 * (`ropeProblem`); for every other model it is 4 × max_position_embeddings. `ropeScaling` may be left
 * out (the page knows only max_position_embeddings): the model then counts as unscaled.
 */
export function defaultTargetContext(
  shape: Pick<ModelConfig, 'maxPositions'> & { ropeScaling?: RopeScaling },
): number {
  const r = shape.ropeScaling;
  if (r?.type === 'llama3')
    return Math.min(CONTEXT_EXTENSION * r.originalMaxPositions, shape.maxPositions);
  return CONTEXT_EXTENSION * shape.maxPositions;
}

function ropeError(context: number, shape: RopeShape, use: RopeUse): Error | null {
  const window = slidingWindowProblem({ slidingWindow: shape.slidingWindow ?? null }, context);
  if (window) return new SettingsError(window);
  const r = shape.ropeScaling;
  const max = shape.maxPositions;
  if (r?.type === 'dynamic') {
    if (use === 'train')
      return new UnsupportedModelError(
        'config.json',
        'rope_scaling.type "dynamic" (dynamic NTK scaling) cannot be trained with LongLoRA: it ' +
          'changes the RoPE frequencies with the sequence length, so no fixed position ' +
          'interpolation matches it and the exported config.json would give other positions ' +
          'than the training used. Set "rope_scaling" to null in config.json to train it as a ' +
          'plain RoPE model.',
      );
    if (context > max)
      return new UnsupportedModelError(
        'config.json',
        `rope_scaling.type "dynamic" (dynamic NTK scaling) is reproduced only up to ` +
          `max_position_embeddings (${max} tokens), where it leaves RoPE unchanged; ${context} ` +
          'tokens go beyond it.',
      );
  }
  if (r?.type === 'llama3' && use === 'train' && context > max)
    return new SettingsError(
      `${context} tokens exceed this model's max_position_embeddings (${max}). Its ` +
        'rope_scaling.rope_type "llama3" already stretches RoPE to that length, and linear ' +
        'position interpolation on top of llama3 frequencies has no Hugging Face rope_scaling ' +
        'equivalent, so an exported config.json could not reproduce the training. Choose a ' +
        `target context of at most ${max} tokens.`,
    );
  return null;
}

/**
 * Why the model's RoPE scaling cannot be used at `context`, or null when it can: a "dynamic" model
 * is never trained (and runs only within max_position_embeddings); a "llama3" model is not trained
 * beyond max_position_embeddings (no Hugging Face rope_scaling expresses llama3 + linear).
 */
export function ropeProblem(
  context: number,
  shape: RopeShape,
  use: RopeUse = 'train',
): string | null {
  return ropeError(context, shape, use)?.message ?? null;
}

/**
 * The linear position-interpolation factor for a target context: positions are divided by it (on
 * top of the model's own frequencies, llama3's included) so the target maps into
 * max_position_embeddings, i.e. ceil(context / max_position_embeddings) beyond it, and never below a
 * linear factor the model already has (within its range nothing is stacked). Throws (an
 * UnsupportedModelError or a SettingsError with `ropeProblem`'s reason) when the model's scaling
 * cannot be used there.
 */
export function ropeFactor(context: number, shape: RopeShape, use: RopeUse = 'train'): number {
  const problem = ropeError(context, shape, use);
  if (problem) throw problem;
  const existing = shape.ropeScaling?.type === 'linear' ? shape.ropeScaling.factor : 1;
  const needed = context > shape.maxPositions ? Math.ceil(context / shape.maxPositions) : 1;
  return Math.max(existing, needed);
}

/**
 * The `rope_scaling` an exported config.json (adapter or merged model) carries for a model trained
 * with linear factor `factor` (null: unknown, taken as the model's own). When the factor is the
 * model's own (its linear factor, else 1) the model's entry is carried unchanged — verbatim from
 * `baseConfigJson` when given, llama3 and dynamic included. Otherwise a model with no or linear
 * scaling gets `{"type": "linear", "factor": F}` (the official scripts' form); for llama3 or dynamic
 * no Hugging Face entry reproduces the factor on top, so this throws a SettingsError.
 */
export function exportedRopeScaling(
  shape: Pick<ModelConfig, 'ropeScaling'>,
  factor: number | null,
  baseConfigJson?: Record<string, unknown>,
): Record<string, unknown> | null {
  const r = shape.ropeScaling;
  const own = r?.type === 'linear' ? r.factor : 1;
  if (factor === null || factor === own) {
    if (!baseConfigJson) return ropeScalingToHfJson(r);
    return (baseConfigJson.rope_scaling ?? null) as Record<string, unknown> | null;
  }
  if (r === null || r.type === 'linear') return { type: 'linear', factor };
  throw new SettingsError(
    `Position interpolation ×${factor} on top of rope_scaling type "${r.type}" has no Hugging Face ` +
      'rope_scaling equivalent, so it cannot be exported: train this model with its own RoPE ' +
      'scaling (factor 1, within max_position_embeddings).',
  );
}

/** Nothing trained: the base model as it is (generation and evaluation without an adapter). */
export const BASE_ONLY: Readonly<LoraSettings> = Object.freeze({
  rank: 1,
  alpha: 1,
  targets: [] as LinearName[],
  trainEmbed: false,
  trainNorm: false,
});
