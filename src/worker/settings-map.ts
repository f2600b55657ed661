/** Maps the UI's TrainingSettings onto the trainer's TrainSettings and back (for resumed runs). */
import { groupSize } from '../model/longlora.ts';
import type { LlamaShape } from '../model/types.ts';
import { defaultTrainSettings, type TrainSettings } from '../train/types.ts';
import type { TrainingSettings } from './protocol.ts';

/**
 * Held-out windows of the studio's periodic evaluation during a run: fewer than an on-demand
 * evaluation (EVAL_WINDOWS) so evaluations stay short on CPU adapters.
 */
export const PERIODIC_EVAL_WINDOWS = 2;

/** The trainer's settings for what the user chose; optimizer constants stay at LongLoRA's defaults. */
export function toTrainSettings(
  s: TrainingSettings,
  shape: Pick<LlamaShape, 'maxPositions' | 'ropeScaling'>,
): TrainSettings {
  const base = defaultTrainSettings(s.targetContext, shape);
  return {
    ...base,
    pattern: s.attention,
    group: groupSize(s.targetContext, s.attention),
    lora: {
      rank: s.loraRank,
      alpha: s.loraAlpha,
      targets: [...s.loraTargets],
      trainEmbed: s.trainEmbed,
      trainNorm: s.trainNorm,
    },
    lr: s.learningRate,
    warmup: s.warmupSteps,
    steps: s.steps,
    gradAccum: s.gradAccumulation,
    seed: s.seed,
    evalEvery: s.evalInterval,
    evalWindows: PERIODIC_EVAL_WINDOWS,
    checkpointEvery: s.checkpointInterval,
    checkpointMinutes: s.checkpointMinutes ?? 0,
    keepCheckpoints: s.keepCheckpoints ?? 0,
  };
}

/** The UI's view of a stored run's settings. */
export function fromTrainSettings(t: TrainSettings): TrainingSettings {
  return {
    targetContext: t.context,
    attention: t.pattern,
    loraRank: t.lora.rank,
    loraAlpha: t.lora.alpha,
    loraTargets: [...t.lora.targets],
    trainEmbed: t.lora.trainEmbed,
    trainNorm: t.lora.trainNorm,
    learningRate: t.lr,
    warmupSteps: t.warmup,
    steps: t.steps,
    gradAccumulation: t.gradAccum,
    evalInterval: t.evalEvery,
    checkpointInterval: t.checkpointEvery,
    checkpointMinutes: t.checkpointMinutes ?? 0,
    keepCheckpoints: t.keepCheckpoints ?? 0,
    seed: t.seed,
  };
}
