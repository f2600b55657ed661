/**
 * Where a run keeps its layer-input checkpoints (`--offload`, the studio's "Keep checkpoints in"):
 * the GPU's memory (none), host memory (checkpoints: the worker's or the process's ArrayBuffers), or
 * host memory only when the plan that keeps them on the GPU exceeds the stated GPU budget (auto).
 * Pure: the page imports it through train/settings.ts.
 */
export const OFFLOAD_CHOICES = ['none', 'checkpoints', 'auto'] as const;
export type Offload = (typeof OFFLOAD_CHOICES)[number];

/** The studio's words for each choice ("Keep checkpoints in: …"). */
export const OFFLOAD_LABELS: Record<Offload, string> = {
  none: 'GPU',
  checkpoints: 'system memory',
  auto: 'automatic',
};
