/** The studio's one zustand store, built from slices. */
import { create } from 'zustand';
import { createGpuSlice, type GpuSlice } from './slices/gpu.ts';

export type StudioState = GpuSlice;

/** The store hook; components select what they need. */
export const useStudio = create<StudioState>()((...a) => ({
  ...createGpuSlice(...a),
}));
