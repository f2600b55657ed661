import { describe, expect, it } from 'vitest';
import { Ema, smoothSeries } from './ema.ts';

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

describe('Ema', () => {
  it('goes on from a restored value as if it had never stopped', () => {
    const values = [3.2, 2.9, 3.1, 2.5, 2.4, 2.6, 2.2];
    const whole = new Ema(0.9);
    const all = values.map((v) => whole.push(v));
    const first = new Ema(0.9);
    for (const v of values.slice(0, 4)) first.push(v);
    const resumed = Ema.resume(first.value, 4, 0.9);
    const rest = values.slice(4).map((v) => resumed.push(v));
    rest.forEach((v, i) => expect(v).toBeCloseTo(all[4 + i]!, 12));
    // The first value is itself: no pull toward zero.
    expect(all[0]).toBe(3.2);
    expect(Number.isNaN(new Ema().value)).toBe(true);
  });
});
