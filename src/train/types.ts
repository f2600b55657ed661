/** Settings, records and events of a training run (shared by the worker protocol and the CLI). */
import type { MemorySnapshot } from '../engine/memory.ts';
import {
  defaultRopeFactor,
  type AttentionPattern,
  type LlamaShape,
  type LoraSettings,
} from '../model/types.ts';

export interface TrainSettings {
  context: number;
  pattern: AttentionPattern;
  group: number;
  ropeFactor: number;
  lora: LoraSettings;
  lr: number;
  warmup: number;
  schedule: 'constant' | 'cosine';
  steps: number;
  gradAccum: number;
  /** Clip the global gradient norm to this (0 = off). */
  clip: number;
  seed: number;
  /** Evaluate every K optimizer steps (0 = only at the end). */
  evalEvery: number;
  evalWindows: number;
  /** Checkpoint every K optimizer steps (0 = only when stopped or done). */
  checkpointEvery: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  checkpointing: boolean;
}

/** The official LongLoRA optimizer defaults (docs/longlora.md); lr suits small models. */
export function defaultTrainSettings(
  context: number,
  shape: Pick<LlamaShape, 'maxPositions' | 'ropeScaling'>,
): TrainSettings {
  return {
    context,
    pattern: 's2',
    group: context / 4,
    ropeFactor: defaultRopeFactor(context, shape),
    lora: {
      rank: 8,
      alpha: 16,
      targets: ['q_proj', 'k_proj', 'v_proj', 'o_proj'],
      trainEmbed: true,
      trainNorm: true,
    },
    lr: 2e-5,
    warmup: 20,
    schedule: 'constant',
    steps: 1000,
    gradAccum: 1,
    clip: 1.0,
    seed: 42,
    evalEvery: 0,
    evalWindows: 4,
    checkpointEvery: 50,
    beta1: 0.9,
    beta2: 0.95,
    eps: 1e-8,
    weightDecay: 0,
    checkpointing: true,
  };
}

export interface StepRecord {
  step: number;
  loss: number;
  smoothLoss: number;
  lr: number;
  gradNorm: number;
  tokensPerSec: number;
  elapsedMs: number;
}

export interface EvalRecord {
  step: number;
  loss: number;
  ppl: number;
}

export type TrainEvent =
  | { type: 'step'; record: StepRecord; totalSteps: number; etaMs: number; memory: MemorySnapshot }
  | { type: 'eval'; record: EvalRecord }
  | { type: 'checkpoint'; id: string; step: number; bytes: number }
  | { type: 'state'; state: 'running' | 'paused' | 'stopped' | 'done' };

/** Learning rate at optimizer step `step` (1-based): linear warmup, then constant or cosine. */
export function learningRate(
  s: Pick<TrainSettings, 'lr' | 'warmup' | 'schedule' | 'steps'>,
  step: number,
): number {
  if (s.warmup > 0 && step <= s.warmup) return (s.lr * step) / s.warmup;
  if (s.schedule === 'cosine') {
    const span = Math.max(1, s.steps - s.warmup);
    const t = Math.min(1, (step - s.warmup) / span);
    return s.lr * 0.5 * (1 + Math.cos(Math.PI * t));
  }
  return s.lr;
}
