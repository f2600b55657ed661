import { describe, expect, it } from 'vitest';
import { appendBounded, throttle } from './metrics.ts';

describe('appendBounded', () => {
  it('keeps every point under the bound', () => {
    expect(appendBounded([1, 2], [3], 10)).toEqual([1, 2, 3]);
  });
  it('thins the older half and keeps the newest points when full', () => {
    const out = appendBounded(
      Array.from({ length: 8 }, (_, i) => i),
      [8, 9],
      8,
    );
    expect(out.length).toBeLessThanOrEqual(8);
    expect(out[0]).toBe(0);
    expect(out.slice(-5)).toEqual([5, 6, 7, 8, 9]);
  });
});

describe('throttle', () => {
  it('calls at most once per interval with the latest arguments', () => {
    let t = 0;
    const timers: (() => void)[] = [];
    const calls: number[] = [];
    const f = throttle(
      (x: number) => calls.push(x),
      100,
      () => t,
      (cb) => timers.push(cb),
    );
    f(1); // leading edge fires at once
    f(2);
    f(3);
    expect(calls).toEqual([1]);
    expect(timers.length).toBe(1);
    t = 100;
    timers.shift()!();
    expect(calls).toEqual([1, 3]);
    f(4);
    expect(calls).toEqual([1, 3]); // within 100 ms of the last call: deferred
    t = 200;
    timers.shift()!();
    expect(calls).toEqual([1, 3, 4]);
  });
});
