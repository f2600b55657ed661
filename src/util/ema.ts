/**
 * An exponential moving average with bias correction (as Adam's moments and TensorBoard's smoothing
 * are): m ← β·m + (1−β)·v from m = 0, read as m / (1 − βⁿ) after n values, so the first value is
 * itself rather than pulled toward zero. Non-finite values are skipped. The trainer's smoothed loss.
 */
export class Ema {
  private m = 0;
  private n = 0;

  constructor(readonly beta = 0.9) {}

  /** Adds a value; returns the smoothed value (NaN before the first finite one). */
  push(v: number): number {
    if (Number.isFinite(v)) {
      this.m = this.beta * this.m + (1 - this.beta) * v;
      this.n++;
    }
    return this.value;
  }

  /** The smoothed value so far (NaN before any value). */
  get value(): number {
    return this.n === 0 ? NaN : this.m / (1 - this.beta ** this.n);
  }

  /** Goes on from a smoothed `value` after `n` values (a restored run's last record). */
  static resume(value: number, n: number, beta = 0.9): Ema {
    const e = new Ema(beta);
    if (n > 0 && Number.isFinite(value)) {
      e.n = n;
      e.m = value * (1 - beta ** n);
    }
    return e;
  }
}

/** Each prefix of `values` smoothed (NaN where a value is not finite). */
export function smoothSeries(values: readonly number[], beta = 0.9): number[] {
  const e = new Ema(beta);
  return values.map((v) => (Number.isFinite(v) ? e.push(v) : NaN));
}
