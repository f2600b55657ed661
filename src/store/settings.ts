/** Training settings: defaults for a model, and the values derived from them (shown beside the form). */
import { DEFAULT_LORA } from '../model/longlora.ts';
import type { ModelSummary, TrainingSettings } from '../worker/protocol.ts';

/** LongLoRA defaults for `model`: its default context (2× its native one for tiny demos), LoRA r8/α16 on q,k,v,o, embed + norm trained. */
export function defaultSettings(
  model: Pick<ModelSummary, 'contextLength' | 'defaultContext' | 'parameters'>,
): TrainingSettings {
  // Tiny models (the demo) get settings that show the loss falling within a minute even on a
  // software adapter: 2× the native context, a short warmup, lr in docs/longlora.md's 1e-3…2e-3 band.
  const tiny = model.parameters < 50e6;
  return {
    targetContext: tiny ? 2 * model.contextLength : model.defaultContext,
    attention: 's2',
    loraRank: DEFAULT_LORA.rank,
    loraAlpha: DEFAULT_LORA.alpha,
    loraTargets: [...DEFAULT_LORA.targets],
    trainEmbed: DEFAULT_LORA.trainEmbed,
    trainNorm: DEFAULT_LORA.trainNorm,
    learningRate: tiny ? 2e-3 : 2e-5,
    warmupSteps: tiny ? 2 : 20,
    steps: tiny ? 60 : 1000,
    gradAccumulation: tiny ? 1 : 8,
    evalInterval: tiny ? 10 : 100,
    checkpointInterval: tiny ? 10 : 100,
    checkpointMinutes: tiny ? 1 : 5,
    keepCheckpoints: 3,
    seed: 42,
  };
}
