/** The tiny model the tuning tests step on SwiftShader. */
import type { RefConfig } from '../reference/llama.ts';

/**
 * One layer (vocab 40, hidden 32, intermediate 48, 4 query heads over 2 kv heads of head_dim 8,
 * tied embeddings, s2 attention, LoRA rank 4 and alpha 8, RoPE factor 2); `over` gives the group
 * and LoRA targets and whatever else a test varies.
 */
export function tinyTuneConfig(
  over: Pick<RefConfig, 'group' | 'loraTargets'> & Partial<RefConfig>,
): RefConfig {
  const { group, loraTargets, ...rest } = over;
  return {
    vocab: 40,
    hidden: 32,
    intermediate: 48,
    layers: 1,
    heads: 4,
    kvHeads: 2,
    headDim: 8,
    rmsEps: 1e-5,
    ropeTheta: 10000,
    ropeFactor: 2,
    tied: true,
    pattern: 's2',
    group,
    loraTargets,
    rank: 4,
    alpha: 8,
    ...rest,
  };
}
