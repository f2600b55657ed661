/** GPU slice: the adapter in use and the self-test result. */
import type { StateCreator } from 'zustand';
import type { AdapterSummary, SelfTestResult } from '../../worker/protocol.ts';
import { getEngine } from '../engine-client.ts';
import { describeError, type ShownError } from '../errors.ts';
import type { StudioState } from '../index.ts';

export interface GpuSlice {
  gpu: {
    status: 'starting' | 'ready' | 'unavailable' | 'failed';
    adapter: AdapterSummary | null;
    selfTest: SelfTestResult | null;
    selfTestError: ShownError | null;
    error: ShownError | null;
  };
  /** Starts the worker, acquires the GPU and runs the self-test. */
  initGpu(): Promise<void>;
}

export const createGpuSlice: StateCreator<StudioState, [], [], GpuSlice> = (set, get) => ({
  gpu: { status: 'starting', adapter: null, selfTest: null, selfTestError: null, error: null },
  async initGpu() {
    const engine = getEngine();
    try {
      const adapter = await engine.init();
      set({ gpu: { ...get().gpu, status: 'ready', adapter } });
    } catch (e) {
      const error = describeError(e);
      const status = error.kind === 'webgpu-unavailable' ? 'unavailable' : 'failed';
      set({ gpu: { ...get().gpu, status, error } });
      return;
    }
    try {
      const selfTest = await engine.selfTest();
      set({ gpu: { ...get().gpu, selfTest } });
    } catch (e) {
      set({ gpu: { ...get().gpu, selfTestError: describeError(e) } });
    }
  },
});
