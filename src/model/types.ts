/** Shapes and settings the Llama graph is built from. */

import type { ModelConfig } from '../io/config.ts';

/** The hyper-parameters the graph needs (a subset of src/io's ModelConfig). */
export type LlamaShape = Pick<
  ModelConfig,
  | 'vocabSize'
  | 'hidden'
  | 'intermediate'
  | 'layers'
  | 'heads'
  | 'kvHeads'
  | 'headDim'
  | 'rmsEps'
  | 'ropeTheta'
  | 'maxPositions'
  | 'ropeScaling'
  | 'tieWordEmbeddings'
>;

/** The seven linear layers of a decoder block, by their Hugging Face names. */
export const LINEAR_NAMES = [
  'q_proj',
  'k_proj',
  'v_proj',
  'o_proj',
  'gate_proj',
  'up_proj',
  'down_proj',
] as const;
export type LinearName = (typeof LINEAR_NAMES)[number];

/** The module path of a linear inside a layer (`self_attn.q_proj`, `mlp.up_proj`). */
export function linearPath(name: LinearName): string {
  return name.endsWith('_proj') && ['q', 'k', 'v', 'o'].includes(name[0]!)
    ? `self_attn.${name}`
    : `mlp.${name}`;
}

/** [out, in] of a linear layer. */
export function linearShape(s: LlamaShape, name: LinearName): [number, number] {
  const q = s.heads * s.headDim;
  const kv = s.kvHeads * s.headDim;
  switch (name) {
    case 'q_proj':
      return [q, s.hidden];
    case 'k_proj':
    case 'v_proj':
      return [kv, s.hidden];
    case 'o_proj':
      return [s.hidden, q];
    case 'gate_proj':
    case 'up_proj':
      return [s.intermediate, s.hidden];
    case 'down_proj':
      return [s.hidden, s.intermediate];
  }
}

/** What is trained: LoRA+ = LoRA on `targets` plus embeddings and norms. */
export interface LoraSettings {
  rank: number;
  alpha: number;
  targets: LinearName[];
  trainEmbed: boolean;
  trainNorm: boolean;
}

export type AttentionPattern = 'full' | 's2' | 's2roll';

/** How attention and positions are run for one pass. */
export interface PassSettings {
  pattern: AttentionPattern;
  /** Group size G for s2/s2roll (ignored for full). */
  group: number;
  /** Linear position-interpolation factor (positions / factor). */
  ropeFactor: number;
}

/** The LongLoRA defaults from docs/longlora.md. */
export const DEFAULT_LORA: LoraSettings = {
  rank: 8,
  alpha: 16,
  targets: ['q_proj', 'k_proj', 'v_proj', 'o_proj'],
  trainEmbed: true,
  trainNorm: true,
};

/**
 * Linear position-interpolation factor for a target context: ceil(context / max_position_embeddings)
 * when the context exceeds it, never below a linear factor the model already has.
 */
export function defaultRopeFactor(
  context: number,
  shape: Pick<LlamaShape, 'maxPositions' | 'ropeScaling'>,
): number {
  const existing = shape.ropeScaling?.type === 'linear' ? shape.ropeScaling.factor : 1;
  const needed = context > shape.maxPositions ? Math.ceil(context / shape.maxPositions) : 1;
  return Math.max(existing, needed);
}
