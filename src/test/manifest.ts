/** Test helper: the manifest of a checkpoint `<runId>-stepNNNNNN` as a trainer would write it. */
import type { CheckpointManifest } from '../train/checkpoint.ts';
import { cliDefaults } from '../train/settings.ts';

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
    settings: cliDefaults(64),
    data: { epoch: 0, index: 0, rngState: 1, order: [0] },
    metrics: { steps: [], evals: [] },
  };
}
