/** Metrics slice: the step, eval and memory series the charts draw, appended in batches. */
import type { StateCreator } from 'zustand';
import type { TrainingEvent } from '../../worker/protocol.ts';
import { appendBounded } from '../metrics.ts';
import type { StudioState } from '../index.ts';

/** One optimizer step as the charts see it: the worker's step event without its envelope. */
export type StepPoint = Omit<Extract<TrainingEvent, { type: 'step' }>, 'type' | 'totalSteps'>;

export interface MetricsSlice {
  metrics: {
    totalSteps: number;
    steps: StepPoint[];
    evals: { step: number; loss: number; perplexity: number }[];
    /** The most recent step (never thinned). */
    last: StepPoint | null;
  };
  appendEvents(events: TrainingEvent[]): void;
  resetMetrics(totalSteps: number): void;
}

/** Chart series keep at most this many points (older ones thinned). */
export const MAX_POINTS = 600;

export const createMetricsSlice: StateCreator<StudioState, [], [], MetricsSlice> = (set, get) => ({
  metrics: { totalSteps: 0, steps: [], evals: [], last: null },
  appendEvents(events) {
    const steps: StepPoint[] = [];
    const evals: MetricsSlice['metrics']['evals'] = [];
    let total = get().metrics.totalSteps;
    for (const e of events) {
      if (e.type === 'step') {
        const { type: _t, totalSteps, ...p } = e;
        total = totalSteps;
        steps.push(p);
      } else if (e.type === 'eval') {
        evals.push({ step: e.step, loss: e.loss, perplexity: e.perplexity });
      }
    }
    if (!steps.length && !evals.length) return;
    const m = get().metrics;
    set({
      metrics: {
        totalSteps: total,
        steps: steps.length ? appendBounded(m.steps, steps, MAX_POINTS) : m.steps,
        evals: evals.length ? m.evals.concat(evals) : m.evals,
        last: steps.at(-1) ?? m.last,
      },
    });
  },
  resetMetrics(totalSteps) {
    set({ metrics: { totalSteps, steps: [], evals: [], last: null } });
  },
});
