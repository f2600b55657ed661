/** GPU slice: the adapter in use, the self-test result and the kernels a run's steps launch. */
import type { StateCreator } from 'zustand';
import type { AdapterSummary, KernelChoice, SelfTestResult } from '../../worker/protocol.ts';
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
    /** The kernel each family of a training step runs (null until a run has tuned and started). */
    kernels: KernelChoice[] | null;
  };
  /** The GPU memory the user stated for this adapter (bytes), or null: plan against an assumption. */
  gpuMemory: number | null;
  /** Starts the worker, acquires the GPU and runs the self-test. */
  initGpu(): Promise<void>;
  /** States the GPU's memory (remembered for this adapter) and re-plans. */
  setGpuMemory(bytes: number | null): void;
}

/** Where the stated memory of an adapter is remembered (WebGPU cannot report it). */
function memoryKey(a: AdapterSummary): string {
  return `longlora.gpu-memory.${[a.vendor, a.architecture, a.device, a.description].join('|')}`;
}

function rememberedMemory(a: AdapterSummary): number | null {
  const v = Number(localStorage.getItem(memoryKey(a)));
  return Number.isFinite(v) && v > 0 ? v : null;
}

export const createGpuSlice: StateCreator<StudioState, [], [], GpuSlice> = (set, get) => ({
  gpu: {
    status: 'starting',
    adapter: null,
    selfTest: null,
    selfTestError: null,
    error: null,
    kernels: null,
  },
  gpuMemory: null,
  async initGpu() {
    const engine = getEngine();
    try {
      const adapter = await engine.init();
      set({
        gpu: { ...get().gpu, status: 'ready', adapter },
        gpuMemory: rememberedMemory(adapter),
      });
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
  setGpuMemory(bytes) {
    const a = get().gpu.adapter;
    if (a) {
      if (bytes === null) localStorage.removeItem(memoryKey(a));
      else localStorage.setItem(memoryKey(a), String(bytes));
    }
    set({ gpuMemory: bytes });
    void get().refreshPlan();
  },
});
