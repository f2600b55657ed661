/** Model and data slices: what the user loaded, load progress, and load errors. */
import type { StateCreator } from 'zustand';
import type {
  DataSeparator,
  DataSummary,
  LoadProgress,
  ModelSummary,
} from '../../worker/protocol.ts';
import { Comlink, getEngine } from '../engine-client.ts';
import { describeError, type ShownError } from '../errors.ts';
import { studioDefaults } from '../../train/settings.ts';
import type { StudioState } from '../index.ts';

interface Loadable<T> {
  summary: T | null;
  progress: LoadProgress | null;
  loading: boolean;
  error: ShownError | null;
}

export interface ModelSlice {
  model: Loadable<ModelSummary>;
  loadModel(source: File[] | 'demo'): Promise<void>;
}

export interface DataSlice {
  data: Loadable<DataSummary>;
  loadData(source: File | 'demo'): Promise<void>;
  /** Re-cuts the loaded data at the target context. */
  rebuildData(context: number): Promise<void>;
  /** Re-cuts the loaded plain text into documents at `separator`. */
  setSeparator(separator: DataSeparator): Promise<void>;
}

const idle = { summary: null, progress: null, loading: false, error: null };

export const createModelSlice: StateCreator<StudioState, [], [], ModelSlice> = (set, get) => ({
  model: idle,
  async loadModel(source) {
    set({ model: { ...idle, loading: true }, data: idle, plan: null });
    const onProgress = Comlink.proxy((progress: LoadProgress) =>
      set({ model: { ...get().model, progress } }),
    );
    try {
      const summary = await getEngine().loadModel(source, onProgress);
      // The worker let go of the previous run with its model (its checkpoints stay listed): the
      // page shows no run, so nothing offers to export or continue weights that are gone.
      set({
        model: { ...get().model, summary, loading: false },
        settings: studioDefaults(summary),
        run: { state: 'idle', runId: null, error: null },
      });
      if (source === 'demo') await get().loadData('demo');
      else await get().refreshPlan();
    } catch (e) {
      set({ model: { ...idle, error: describeError(e) } });
    }
  },
});

export const createDataSlice: StateCreator<StudioState, [], [], DataSlice> = (set, get) => ({
  data: idle,
  async loadData(source) {
    set({ data: { ...idle, loading: true } });
    const onProgress = Comlink.proxy((progress: LoadProgress) =>
      set({ data: { ...get().data, progress } }),
    );
    try {
      const context = get().settings?.context ?? 0;
      const summary = await getEngine().loadData(source, context, onProgress);
      set({ data: { ...get().data, summary, loading: false } });
      await get().refreshPlan();
    } catch (e) {
      set({ data: { ...idle, error: describeError(e) } });
    }
  },
  async rebuildData(context) {
    if (!get().data.summary) return;
    try {
      const summary = await getEngine().dataAtContext(context);
      set({ data: { ...get().data, summary, error: null } });
    } catch (e) {
      set({ data: { ...get().data, error: describeError(e) } });
    }
  },
  async setSeparator(separator) {
    if (!get().data.summary) return;
    set({ data: { ...get().data, loading: true, progress: null } });
    try {
      const context = get().settings?.context ?? 0;
      const summary = await getEngine().setDataSeparator(separator, context);
      set({ data: { ...get().data, summary, loading: false, error: null } });
      await get().refreshPlan();
    } catch (e) {
      set({ data: { ...get().data, loading: false, error: describeError(e) } });
    }
  },
});
