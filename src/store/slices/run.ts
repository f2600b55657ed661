/** Run slice: the settings, the live memory plan, and Start / Pause / Resume / Stop. */
import type { StateCreator } from 'zustand';
import { DEMO_MODEL_NAME } from '../../util/demo.ts';
import type {
  LoadProgress,
  MemoryPlan,
  RunState,
  TrainingEvent,
  RunSettings,
} from '../../worker/protocol.ts';
import { Comlink, getEngine } from '../engine-client.ts';
import { describeError, type ShownError } from '../errors.ts';
import type { StudioState } from '../index.ts';
import { NotReadyError, RemoteError, SettingsError } from '../../util/errors.ts';
import { firstNumberProblem, inRange, NUMBER_RULES } from '../../util/setting-rules.ts';

export interface RunSlice {
  settings: RunSettings | null;
  plan: MemoryPlan | null;
  planError: ShownError | null;
  run: {
    state: RunState;
    runId: string | null;
    error: ShownError | null;
    /** The weights' upload to the GPU as the run starts (null before and after). */
    upload?: LoadProgress | null;
    /** Kernel tuning before the first step, first time on this GPU (null when none is running). */
    tuning?: { done: number; total: number } | null;
  };
  setSettings(patch: Partial<RunSettings>): void;
  refreshPlan(): Promise<void>;
  startTraining(): Promise<void>;
  /** Continues a checkpoint's run (`steps`: a new total, to train a finished run further). */
  resumeFrom(checkpointId: string, steps?: number): Promise<void>;
  pause(): Promise<void>;
  resume(): Promise<void>;
  stop(): Promise<void>;
  /** A checkpoint at the next step boundary when a run is going (the page is being hidden). */
  checkpointSoon(): Promise<void>;
  dismissRunError(): void;
}

let planSeq = 0;
let dataTimer: ReturnType<typeof setTimeout> | undefined;

export const createRunSlice: StateCreator<StudioState, [], [], RunSlice> = (set, get) => {
  const onEvents = () =>
    Comlink.proxy((events: TrainingEvent[]) => {
      // A resumed run opens with its settings; its stored history follows in the same batch.
      const at = events.findIndex((e) => e.type === 'resumed');
      const resumed = events[at];
      if (resumed?.type === 'resumed') {
        get().appendEvents(events.slice(0, at));
        set({ settings: resumed.settings });
        get().resetMetrics(resumed.settings.steps);
        void get().rebuildData(resumed.settings.context);
        void get().refreshPlan();
      }
      get().appendEvents(at >= 0 ? events.slice(at + 1) : events);
      for (const e of events) {
        // The upload's progress stays up (uploaded, kernels compiling) until the first step lands.
        if (e.type === 'state') {
          const upload = e.state === 'running' ? get().run.upload : null;
          set({ run: { ...get().run, state: e.state, upload } });
        }
        if (e.type === 'loading') set({ run: { ...get().run, upload: e.progress } });
        if (e.type === 'kernels') set({ gpu: { ...get().gpu, kernels: e.kernels } });
        if (e.type === 'tuning') {
          const tuning = e.done < e.total ? { done: e.done, total: e.total } : null;
          set({ run: { ...get().run, tuning } });
        }
        if (e.type === 'step' && (get().run.upload || get().run.tuning))
          set({ run: { ...get().run, upload: null, tuning: null } });
        if (e.type === 'error')
          set({ run: { ...get().run, state: 'failed', error: describeError(e.error) } });
        if (e.type === 'checkpoint') void get().refreshCheckpoints();
      }
    });
  const control = async (fn: () => Promise<void>) => {
    try {
      await fn();
    } catch (e) {
      set({ run: { ...get().run, error: describeError(e) } });
    }
  };
  return {
    settings: null,
    plan: null,
    planError: null,
    run: { state: 'idle', runId: null, error: null },
    setSettings(patch) {
      const s = get().settings;
      if (!s) return;
      const next = { ...s, ...patch };
      set({ settings: next });
      void get().refreshPlan();
      if (patch.context !== undefined && inRange(NUMBER_RULES.context, patch.context)) {
        clearTimeout(dataTimer);
        dataTimer = setTimeout(() => void get().rebuildData(next.context), 300);
      }
    },
    async refreshPlan() {
      const s = get().settings;
      if (!s || !get().model.summary) return;
      const seq = ++planSeq;
      // A number out of its range is flagged at its field; there is nothing to plan until it is fixed.
      if (firstNumberProblem(s)) {
        set({ plan: null, planError: null });
        return;
      }
      try {
        const plan = await getEngine().planMemory(s, get().gpuMemory);
        if (seq === planSeq) set({ plan, planError: null });
      } catch (e) {
        if (seq === planSeq) set({ plan: null, planError: describeError(e) });
      }
    },
    async startTraining() {
      const s = get().settings;
      if (!s) return;
      // A Start that fails leaves the previous run's charts as they were: the page's own checks run
      // before the charts are cleared, and a refusal from the worker puts them back.
      const before = get().metrics;
      const previous = get().run;
      set({ run: { state: 'starting', runId: null, error: null } });
      try {
        const problem = firstNumberProblem(s);
        if (problem) throw new SettingsError(problem);
        await assertCheckpointFits(get().plan?.checkpointBytes);
      } catch (e) {
        set({ run: { ...previous, error: describeError(e) } });
        return;
      }
      get().resetMetrics(s.steps);
      try {
        const runId = await getEngine().start(s, onEvents());
        set({ run: { ...get().run, runId } });
      } catch (e) {
        if (get().metrics.steps.length === 0) set({ metrics: before });
        set({ run: { state: 'failed', runId: null, error: describeError(e) } });
      }
    },
    async resumeFrom(id, steps) {
      // After a reload nothing is loaded: the demo model comes back by itself, others by the user.
      const info = get().checkpoints.list.find((c) => c.id === id);
      if (!get().model.summary && info?.modelName === DEMO_MODEL_NAME)
        await get().loadModel('demo');
      set({ run: { state: 'starting', runId: null, error: null } });
      try {
        if (!get().model.summary)
          throw new NotReadyError(
            `Load the model this checkpoint was trained on (${info?.modelName ?? 'unknown'}) first, then resume.`,
          );
        const runId = await getEngine().resumeFrom(id, onEvents(), steps);
        set({ run: { ...get().run, runId } });
      } catch (e) {
        set({ run: { state: 'failed', runId: null, error: describeError(e) } });
      }
    },
    pause: () => control(() => getEngine().pause()),
    resume: () => control(() => getEngine().resume()),
    stop: () => control(() => getEngine().stop()),
    async checkpointSoon() {
      if (get().run.state === 'running') await getEngine().checkpointSoon();
    },
    dismissRunError() {
      set({ run: { ...get().run, error: null } });
    },
  };
};

/**
 * Refuses to start when not even one checkpoint of the run fits in what the browser says is free
 * for this page (navigator.storage.estimate), saying what to change.
 */
async function assertCheckpointFits(bytes: number | undefined): Promise<void> {
  if (!bytes) return;
  const est = await navigator.storage?.estimate?.().catch(() => undefined);
  if (est?.quota === undefined || est.usage === undefined) return;
  const free = Math.max(0, est.quota - est.usage);
  if (bytes <= free) return;
  const mb = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;
  throw new RemoteError(
    'storage-quota',
    'StorageQuotaError',
    `One checkpoint of this run needs ${mb(bytes)}, but the browser leaves this page ${mb(free)} of storage. ` +
      'Allow persistent storage (the browser may then grant more), delete old checkpoints, or train fewer ' +
      'parameters (untick Embeddings, or a lower LoRA rank).',
  );
}
