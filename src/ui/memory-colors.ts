/** One colour per memory category, shared by the plan bar and the memory chart; one for host memory. */
import type { MemoryCategory } from '../engine/memory.ts';

export const CATEGORY_COLORS: Record<MemoryCategory, string> = {
  weights: '#5b7fa6',
  lora: '#d08c3c',
  gradients: '#b85c6b',
  optimizer: '#8a6bb8',
  activations: '#4f9a8a',
  workspace: '#9aa3ae',
};

/** The Memory chart's system (host) memory line. */
export const HOST_COLOR = '#3d4a8f';
