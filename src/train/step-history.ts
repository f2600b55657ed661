/**
 * A run's step records in float64 columns reserved for the whole run, so a long run does not grow
 * the JS heap by an object and its boxed numbers every step (the soak measures that heap). Records
 * read back (at, map, iteration) are fresh objects, made only when the charts or a checkpoint ask.
 */
import type { StepRecord } from './types.ts';

/** The fields of a StepRecord, in their column order (also the packed checkpoint order). */
export const STEP_FIELDS = [
  'step',
  'loss',
  'smoothLoss',
  'lr',
  'gradNorm',
  'tokensPerSec',
  'elapsedMs',
] as const satisfies readonly (keyof StepRecord)[];

const W = STEP_FIELDS.length;

export class StepHistory implements Iterable<StepRecord> {
  private data: Float64Array;
  private n = 0;

  /** capacity: the records expected (the run's steps); more still fit, by doubling. */
  constructor(capacity = 64) {
    this.data = new Float64Array(Math.max(1, capacity) * W);
  }

  get length(): number {
    return this.n;
  }

  /** Makes room for `records` in all, so that pushing up to that many allocates nothing. */
  reserve(records: number): void {
    if (records * W <= this.data.length) return;
    const next = new Float64Array(records * W);
    next.set(this.data.subarray(0, this.n * W));
    this.data = next;
  }

  push(r: StepRecord): void {
    if ((this.n + 1) * W > this.data.length) this.reserve(Math.max(2 * this.n, this.n + 1));
    const o = this.n * W;
    for (let j = 0; j < W; j++) this.data[o + j] = r[STEP_FIELDS[j]!];
    this.n++;
  }

  /** The i-th record (negative counts from the end), or undefined out of range. */
  at(i: number): StepRecord | undefined {
    const k = i < 0 ? this.n + i : i;
    if (k < 0 || k >= this.n) return undefined;
    const r = {} as StepRecord;
    for (let j = 0; j < W; j++) r[STEP_FIELDS[j]!] = this.data[k * W + j]!;
    return r;
  }

  /** Replaces every record (restoring a checkpoint). */
  replace(records: readonly StepRecord[]): void {
    this.n = 0;
    this.reserve(records.length);
    for (const r of records) this.push(r);
  }

  map<T>(fn: (r: StepRecord, i: number) => T): T[] {
    return Array.from({ length: this.n }, (_, i) => fn(this.at(i)!, i));
  }

  toArray(): StepRecord[] {
    return this.map((r) => r);
  }

  *[Symbol.iterator](): Iterator<StepRecord> {
    for (let i = 0; i < this.n; i++) yield this.at(i)!;
  }
}
