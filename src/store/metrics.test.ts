import { describe, expect, it } from 'vitest';
import { appendBounded, smoothSeries, throttle } from './metrics.ts';

describe('smoothSeries', () => {
  it('is bias-corrected: a constant series stays constant', () => {
    expect(smoothSeries([2, 2, 2, 2])).toEqual([2, 2, 2, 2].map((v) => expect.closeTo(v, 12)));
  });
  it('follows the EMA recurrence', () => {
    const s = smoothSeries([1, 3], 0.5);
    // m1 = 0.5, corrected 1; m2 = 0.25 + 1.5 = 1.75, corrected 1.75 / 0.75
    expect(s[0]).toBeCloseTo(1, 12);
    expect(s[1]).toBeCloseTo(1.75 / 0.75, 12);
  });
  it('skips non-finite values without poisoning later ones', () => {
    const s = smoothSeries([1, NaN, 1]);
    expect(Number.isNaN(s[1])).toBe(true);
    expect(s[2]).toBeCloseTo(1, 12);
  });
});

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
