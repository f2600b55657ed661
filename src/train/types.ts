/** Records and events of a training run (shared by the worker protocol and the CLI). */
import type { MemoryBytes, MemorySnapshot } from '../engine/memory.ts';
import type { RunSettings } from './settings.ts';

export type { RunSettings } from './settings.ts';
export { EVAL_WINDOWS } from './settings.ts';

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
   * far) and the host memory the run holds; absent for steps restored from a checkpoint written
   * before memory was recorded.
   */
  memory?: StepMemory;
}

/** The GPU memory of one step as the history keeps it, and the host memory the run holds. */
export interface StepMemory {
  current: MemoryBytes;
  peakTotal: number;
  /**
   * Host (CPU) memory the run holds after the step: offloaded layer-input checkpoints and the
   * embedding's AdamW moments kept there (MemoryPlan.host's parts, as allocated). Absent for steps
   * restored from a checkpoint written before host memory was recorded.
   */
  host?: HostMemory;
}

/** Bytes of host memory by what they hold. */
export interface HostMemory {
  checkpoints: number;
  optimizer: number;
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
  s: Pick<RunSettings, 'lr' | 'warmup' | 'schedule' | 'steps'>,
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
