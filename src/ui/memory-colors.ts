/** One colour per memory category, shared by the plan bar and the memory chart. */
import type { MemoryCategory } from '../engine/memory.ts';

export const CATEGORY_COLORS: Record<MemoryCategory, string> = {
  weights: '#5b7fa6',
  lora: '#d08c3c',
  gradients: '#b85c6b',
  optimizer: '#8a6bb8',
  activations: '#4f9a8a',
  workspace: '#9aa3ae',
};
