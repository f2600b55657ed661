/** Shapes and settings the decoder graph is built from. */

import type { ModelConfig } from '../io/config.ts';
import type { AttentionPattern } from '../util/attention-pattern.ts';

export {
  LINEAR_NAMES,
  isLinearName,
  linearPath,
  linearShape,
  type LinearName,
} from '../io/config.ts';
export type { AttentionPattern } from '../util/attention-pattern.ts';
export type { LoraSettings } from './longlora.ts';

/**
 * The hyper-parameters the graph needs (a subset of src/io's ModelConfig, the architecture's
 * projection biases and q/k norms included: src/io/arch.ts), and the architecture whose description
 * names its tensors (the Llama description when absent, as in shapes built by hand).
 */
export type LlamaShape = Partial<Pick<ModelConfig, 'architecture'>> &
  Pick<
    ModelConfig,
    | 'biases'
    | 'qkNorm'
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

/** How attention and positions are run for one pass. */
export interface PassSettings {
  pattern: AttentionPattern;
  /** Group size G for s2/s2roll (ignored for full). */
  group: number;
  /** Linear position-interpolation factor (positions / factor). */
  ropeFactor: number;
}
