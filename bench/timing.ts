/** Timing helpers shared by bench modules: medians of wall time to queue completion. */
import type { Runtime } from '../src/engine/runtime.ts';
import { median } from '../src/engine/kernels/autotune.ts';

/** Options: timed runs scale down for slow kernels so the whole bench stays within minutes. */
export interface TimeOptions {
  /** Timed runs for fast kernels (after one warm-up). */
  runs?: number;
  /** A warm-up slower than this many ms is the measurement (pipelines are compiled beforehand). */
  singleMs?: number;
  /** Older name of singleMs (used when singleMs is absent). */
  slowMs?: number;
}

/**
 * Median milliseconds of one `step` (which records GPU work) when followed by `done` (which waits
 * for the queue), after one warm-up. Fast steps are repeated `reps` times per sample (one `done`
 * each sample) so the fixed cost of a queue round trip does not swamp them; slow ones get fewer
 * samples, and one slower than `singleMs` is measured by its warm-up alone.
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
  if (warm > (opts.singleMs ?? opts.slowMs ?? 3000)) return warm;
  const runs = warm > 1000 ? Math.min(2, opts.runs ?? 5) : (opts.runs ?? 5);
  const reps = warm < 25 ? Math.min(16, Math.ceil(50 / Math.max(warm, 1))) : 1;
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    t0 = performance.now();
    for (let r = 0; r < reps; r++) await step();
    await done();
    times.push((performance.now() - t0) / reps);
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
