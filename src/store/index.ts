/** The studio's one zustand store, built from slices (gpu, model, data, run, metrics, checkpoints). */
import { create } from 'zustand';
import { createCheckpointsSlice, type CheckpointsSlice } from './slices/checkpoints.ts';
import { createGpuSlice, type GpuSlice } from './slices/gpu.ts';
import { createMetricsSlice, type MetricsSlice } from './slices/metrics.ts';
import { createRunSlice, type RunSlice } from './slices/run.ts';
import {
  createDataSlice,
  createModelSlice,
  type DataSlice,
  type ModelSlice,
} from './slices/workspace.ts';

export type StudioState = GpuSlice &
  ModelSlice &
  DataSlice &
  RunSlice &
  MetricsSlice &
  CheckpointsSlice;

/** The store hook; components select what they need. */
export const useStudio = create<StudioState>()((...a) => ({
  ...createGpuSlice(...a),
  ...createModelSlice(...a),
  ...createDataSlice(...a),
  ...createRunSlice(...a),
  ...createMetricsSlice(...a),
  ...createCheckpointsSlice(...a),
}));
