/** Test helper: the manifest of a checkpoint `<runId>-stepNNNNNN` as a trainer would write it. */
import type { CheckpointManifest } from '../train/checkpoint.ts';
import { defaultTrainSettings } from '../train/types.ts';

export function testManifest(
  runId: string,
  step: number,
): Omit<CheckpointManifest, 'tensors' | 'bytes' | 'version'> {
  return {
    id: `${runId}-step${String(step).padStart(6, '0')}`,
    runId,
    step,
    createdAt: new Date(Date.UTC(2026, 0, 1, 0, 0, step)).toISOString(),
    modelFingerprint: 'f',
    modelName: 'm',
    settings: defaultTrainSettings(64, { maxPositions: 512, ropeScaling: null }),
    data: { epoch: 0, index: 0, rngState: 1, order: [0] },
    metrics: { steps: [], evals: [] },
  };
}
