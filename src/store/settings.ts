/** Training settings: defaults for a model, and the values derived from them (shown beside the form). */
import type { ModelSummary, TrainingSettings } from '../worker/protocol.ts';

/** LongLoRA defaults for `model`: 4× its context (2× for tiny demos), LoRA r8/α16 on q,k,v,o, embed + norm trained. */
export function defaultSettings(
  model: Pick<ModelSummary, 'contextLength' | 'parameters'>,
): TrainingSettings {
  // Tiny models (the demo) get settings that show the loss falling within a minute even on a
  // software adapter: 2× the native context, a short warmup, lr in docs/longlora.md's 1e-3…2e-3 band.
  const tiny = model.parameters < 50e6;
  return {
    targetContext: model.contextLength * (tiny ? 2 : 4),
    attention: 's2',
    loraRank: 8,
    loraAlpha: 16,
    loraTargets: ['q_proj', 'k_proj', 'v_proj', 'o_proj'],
    trainEmbed: true,
    trainNorm: true,
    learningRate: tiny ? 2e-3 : 2e-5,
    warmupSteps: tiny ? 2 : 20,
    steps: tiny ? 60 : 1000,
    gradAccumulation: tiny ? 1 : 8,
    evalInterval: tiny ? 10 : 100,
    checkpointInterval: tiny ? 10 : 100,
    seed: 42,
  };
}

/** Position-interpolation factor: ceil(target / original) above the original context, else 1. */
export function ropeFactor(target: number, original: number): number {
  return target > original ? Math.ceil(target / original) : 1;
}

/** S²-Attn group size (N/4), or the whole context for full attention. */
export function groupSize(s: Pick<TrainingSettings, 'targetContext' | 'attention'>): number {
  return s.attention === 'full' ? s.targetContext : s.targetContext / 4;
}
