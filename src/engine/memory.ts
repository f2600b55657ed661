/** Byte accounting per category for every GPU allocation the engine makes. */
import { InternalError } from '../util/errors.ts';

export const MEMORY_CATEGORIES = [
  'weights',
  'lora',
  'gradients',
  'optimizer',
  'activations',
  'workspace',
] as const;
export type MemoryCategory = (typeof MEMORY_CATEGORIES)[number];

export type MemoryBytes = Record<MemoryCategory, number>;

/** Zero bytes in every category. */
export function emptyMemoryBytes(): MemoryBytes {
  return { weights: 0, lora: 0, gradients: 0, optimizer: 0, activations: 0, workspace: 0 };
}

/** Sum of all categories. */
export function totalBytes(b: MemoryBytes): number {
  return MEMORY_CATEGORIES.reduce((s, c) => s + b[c], 0);
}

/** Current and peak bytes per category. */
export interface MemorySnapshot {
  current: MemoryBytes;
  peak: MemoryBytes;
  /** Peak of the total (not the sum of per-category peaks). */
  peakTotal: number;
}

/** Counts bytes as they are allocated and freed; the UI's memory chart reads snapshots of it. */
export class MemoryTracker {
  private current = emptyMemoryBytes();
  private peak = emptyMemoryBytes();
  private peakTotal = 0;

  /** Records an allocation. */
  alloc(category: MemoryCategory, bytes: number): void {
    this.current[category] += bytes;
    if (this.current[category] > this.peak[category]) this.peak[category] = this.current[category];
    const t = totalBytes(this.current);
    if (t > this.peakTotal) this.peakTotal = t;
  }

  /** Records a release. */
  free(category: MemoryCategory, bytes: number): void {
    this.current[category] -= bytes;
    if (this.current[category] < 0)
      throw new InternalError(`memory accounting went negative in ${category}`);
  }

  /** Forgets peaks (e.g. at the start of a run). */
  resetPeak(): void {
    this.peak = { ...this.current };
    this.peakTotal = totalBytes(this.current);
  }

  snapshot(): MemorySnapshot {
    return { current: { ...this.current }, peak: { ...this.peak }, peakTotal: this.peakTotal };
  }
}
