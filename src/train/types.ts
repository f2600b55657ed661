/** Settings, records and events of a training run (shared by the worker protocol and the CLI). */
import type { MemoryBytes, MemorySnapshot } from '../engine/memory.ts';
import { defaultLora, groupSize, ropeFactor, type LoraSettings } from '../model/longlora.ts';
import type { AttentionPattern, LlamaShape } from '../model/types.ts';

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
  /**
   * The order of the training blocks: `shuffled` (the default; a new permutation from the seed every
   * epoch) or `sequential` (file order, every epoch; for comparing a run with a reference trajectory).
   */
  order?: 'shuffled' | 'sequential';
  /** Evaluate every K optimizer steps (0 = only at the end). */
  evalEvery: number;
  evalWindows: number;
  /** Checkpoint every K optimizer steps (0 = only when stopped or done). */
  checkpointEvery: number;
  /**
   * Also checkpoint once this many minutes of training have passed since the last checkpoint (or the
   * start), at a step boundary, whichever of the two comes first (0 or absent = by steps only).
   */
  checkpointMinutes?: number;
  /** Keep the newest K checkpoints of the run, deleting older ones once a newer one is committed (0 or absent = all). */
  keepCheckpoints?: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  checkpointing: boolean;
}

/** Held-out windows an evaluation measures unless told otherwise (the CLI and the Evaluate button). */
export const EVAL_WINDOWS = 4;

/** The official LongLoRA optimizer defaults (docs/longlora.md); lr suits small models. */
export function defaultTrainSettings(
  context: number,
  shape: Pick<LlamaShape, 'maxPositions' | 'ropeScaling'>,
): TrainSettings {
  return {
    context,
    pattern: 's2',
    group: groupSize(context, 's2'),
    ropeFactor: ropeFactor(context, shape),
    lora: defaultLora(),
    lr: 2e-5,
    warmup: 20,
    schedule: 'constant',
    steps: 1000,
    gradAccum: 1,
    clip: 1.0,
    seed: 42,
    order: 'shuffled',
    evalEvery: 0,
    evalWindows: EVAL_WINDOWS,
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
  /**
   * GPU memory measured right after the step (bytes in use per category, and the run's peak total so
   * far); absent for steps restored from a checkpoint written before memory was recorded.
   */
  memory?: StepMemory;
}

/** The GPU memory of one step as the history keeps it. */
export interface StepMemory {
  current: MemoryBytes;
  peakTotal: number;
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
