/** Checkpoints slice: stored checkpoints (IndexedDB, via the worker), storage estimate and persistence. */
import type { StateCreator } from 'zustand';
import type { CheckpointInfo } from '../../worker/protocol.ts';
import { getEngine } from '../engine-client.ts';
import { describeError, type ShownError } from '../errors.ts';
import type { StudioState } from '../index.ts';
import { lockedRuns } from '../../util/run-lock.ts';

export interface CheckpointsSlice {
  checkpoints: {
    list: CheckpointInfo[];
    loaded: boolean;
    usage: number | null;
    quota: number | null;
    persisted: boolean | null;
    /** Persistent storage was asked for and the browser said no. */
    persistRefused: boolean;
    error: ShownError | null;
    /** Runs another tab of this studio is training (it holds their Web Lock). */
    busyElsewhere: string[];
  };
  refreshCheckpoints(): Promise<void>;
  deleteCheckpoint(id: string): Promise<void>;
  requestPersist(): Promise<void>;
}

export const createCheckpointsSlice: StateCreator<StudioState, [], [], CheckpointsSlice> = (
  set,
  get,
) => ({
  checkpoints: {
    list: [],
    loaded: false,
    usage: null,
    quota: null,
    persisted: null,
    persistRefused: false,
    error: null,
    busyElsewhere: [],
  },
  async refreshCheckpoints() {
    const c = get().checkpoints;
    try {
      const list = await getEngine().listCheckpoints();
      const est = await navigator.storage?.estimate?.();
      const persisted = (await navigator.storage?.persisted?.()) ?? null;
      const mine = get().run.runId;
      const busyElsewhere = (await lockedRuns().catch(() => [])).filter((id) => id !== mine);
      set({
        checkpoints: {
          ...c,
          list: [...list].sort((a, b) => b.createdAt - a.createdAt),
          loaded: true,
          usage: est?.usage ?? null,
          quota: est?.quota ?? null,
          persisted,
          error: null,
          busyElsewhere,
        },
      });
    } catch (e) {
      set({ checkpoints: { ...c, loaded: true, error: describeError(e) } });
    }
  },
  async deleteCheckpoint(id) {
    try {
      await getEngine().deleteCheckpoint(id);
    } catch (e) {
      set({ checkpoints: { ...get().checkpoints, error: describeError(e) } });
      return;
    }
    await get().refreshCheckpoints();
  },
  async requestPersist() {
    const persisted = (await navigator.storage?.persist?.()) ?? false;
    set({ checkpoints: { ...get().checkpoints, persisted, persistRefused: !persisted } });
  },
});
