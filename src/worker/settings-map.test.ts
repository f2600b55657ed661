import { describe, expect, it } from 'vitest';
import type { TrainingSettings } from './protocol.ts';
import { fromTrainSettings, toTrainSettings } from './settings-map.ts';

const ui: TrainingSettings = {
  targetContext: 2048,
  attention: 's2',
  loraRank: 4,
  loraAlpha: 8,
  loraTargets: ['q_proj', 'v_proj'],
  trainEmbed: true,
  trainNorm: false,
  learningRate: 2e-3,
  warmupSteps: 5,
  steps: 60,
  gradAccumulation: 2,
  evalInterval: 20,
  checkpointInterval: 10,
  checkpointMinutes: 0.5,
  keepCheckpoints: 3,
  seed: 7,
};

describe('settings mapping', () => {
  it('maps the form onto the trainer: group N/4, RoPE factor, LoRA, schedule', () => {
    const t = toTrainSettings(ui, { maxPositions: 512, ropeScaling: null });
    expect(t).toMatchObject({
      context: 2048,
      pattern: 's2',
      group: 512,
      ropeFactor: 4,
      lora: {
        rank: 4,
        alpha: 8,
        targets: ['q_proj', 'v_proj'],
        trainEmbed: true,
        trainNorm: false,
      },
      lr: 2e-3,
      warmup: 5,
      steps: 60,
      gradAccum: 2,
      evalEvery: 20,
      checkpointEvery: 10,
      checkpointMinutes: 0.5,
      keepCheckpoints: 3,
      seed: 7,
      beta2: 0.95,
    });
    expect(
      toTrainSettings({ ...ui, attention: 'full' }, { maxPositions: 512, ropeScaling: null }).group,
    ).toBe(2048);
  });

  it('round-trips through a stored run', () => {
    expect(
      fromTrainSettings(toTrainSettings(ui, { maxPositions: 512, ropeScaling: null })),
    ).toEqual(ui);
  });
});
