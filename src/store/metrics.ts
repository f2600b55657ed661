/** Pure helpers for the live metrics: bounded series and render throttling. */

/**
 * Appends points keeping at most `max`: when full, every other point of the older half is dropped,
 * so the series keeps its whole history at decreasing resolution and the newest points intact.
 */
export function appendBounded<T>(series: readonly T[], points: readonly T[], max: number): T[] {
  let out = series.concat(points);
  while (out.length > max) {
    const half = Math.floor(out.length / 2);
    out = out
      .slice(0, half)
      .filter((_, i) => i % 2 === 0)
      .concat(out.slice(half));
  }
  return out;
}

/**
 * Calls `fn` at most once per `ms` with the latest arguments (leading and trailing edges), so a burst
 * of metric batches becomes a few renders.
 */
export function throttle<A extends unknown[]>(
  fn: (...args: A) => void,
  ms: number,
  now: () => number = () => Date.now(),
  schedule: (cb: () => void, ms: number) => unknown = (cb, t) => setTimeout(cb, t),
): (...args: A) => void {
  let last = -Infinity;
  let pending: A | null = null;
  let timer = false;
  const fire = () => {
    timer = false;
    if (!pending) return;
    const args = pending;
    pending = null;
    last = now();
    fn(...args);
  };
  return (...args: A) => {
    pending = args;
    const wait = last + ms - now();
    if (wait <= 0 && !timer) fire();
    else if (!timer) {
      timer = true;
      schedule(fire, Math.max(0, wait));
    }
  };
}
