/** Timing helpers shared by bench modules: medians of wall time to queue completion. */
import type { Runtime } from '../src/engine/runtime.ts';
import { median } from '../src/engine/kernels/autotune.ts';

/** Options: timed runs scale down for slow kernels so the whole bench stays within minutes. */
export interface TimeOptions {
  /** Timed runs for fast kernels (after one warm-up). */
  runs?: number;
  /** A warm-up slower than this many ms gets a single timed run. */
  slowMs?: number;
  /** A warm-up slower than this many ms is the measurement (pipelines are compiled beforehand). */
  singleMs?: number;
}

/**
 * Median milliseconds of `step` (which records GPU work or awaits it) followed by `done` (which
 * waits for the queue), after one warm-up; compile time falls into the warm-up.
 */
export async function timeIt(
  step: () => void | Promise<void>,
  done: () => Promise<void>,
  opts: TimeOptions = {},
): Promise<number> {
  let t0 = performance.now();
  await step();
  await done();
  const warm = performance.now() - t0;
  // Kernels this slow (the naive ones at the largest shapes) are measured by that one run.
  if (warm > (opts.singleMs ?? 8000)) return warm;
  const runs = warm > (opts.slowMs ?? 4000) ? 1 : warm > 1000 ? 2 : (opts.runs ?? 5);
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    t0 = performance.now();
    await step();
    await done();
    times.push(performance.now() - t0);
  }
  return median(times);
}

/** timeIt for work recorded on our runtime (done = rt.sync()). */
export function timeRuntime(rt: Runtime, step: () => void, opts?: TimeOptions): Promise<number> {
  return timeIt(step, () => rt.sync(), opts);
}

/** GFLOP/s of `flops` floating-point operations in `ms` milliseconds. */
export function gflops(flops: number, ms: number): number {
  return flops / (ms * 1e6);
}
