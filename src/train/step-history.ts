/**
 * A run's step records in float64 columns reserved for the whole run, so a long run does not grow
 * the JS heap by an object and its boxed numbers every step (the soak measures that heap). Records
 * read back (at, map, iteration) are fresh objects, made only when the charts or a checkpoint ask.
 */
import { MEMORY_CATEGORIES } from '../engine/memory.ts';
import type { HostMemory, StepMemory, StepRecord } from './types.ts';

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

/**
 * The columns after STEP_FIELDS that hold a step's measured GPU memory: bytes per category, then the
 * peak total. NaN where a record has no memory (restored from an older checkpoint).
 */
export const GPU_MEMORY_FIELDS = [...MEMORY_CATEGORIES, 'peakTotal'] as const;

/** Then the host memory the run holds (StepMemory.host). NaN where a record has none. */
export const HOST_MEMORY_FIELDS = [
  'checkpoints',
  'optimizer',
] as const satisfies readonly (keyof HostMemory)[];

/** Every memory column, in order: a layout that ends early (an older checkpoint's) lacks the last. */
export const MEMORY_FIELDS = [...GPU_MEMORY_FIELDS, ...HOST_MEMORY_FIELDS] as const;

/** Values per stored record: the scalar fields, then the memory columns. */
export const RECORD_WIDTH = STEP_FIELDS.length + MEMORY_FIELDS.length;

const W = RECORD_WIDTH;
const S = STEP_FIELDS.length;
const G = GPU_MEMORY_FIELDS.length;

/** Writes a record's values (RECORD_WIDTH of them) into `out` at `o`. */
export function writeRecord(r: StepRecord, out: Float32Array | Float64Array, o: number): void {
  for (let j = 0; j < S; j++) out[o + j] = r[STEP_FIELDS[j]!];
  const m = r.memory;
  for (let j = 0; j < G; j++) {
    const f = GPU_MEMORY_FIELDS[j]!;
    out[o + S + j] = m ? (f === 'peakTotal' ? m.peakTotal : m.current[f]) : NaN;
  }
  for (let j = 0; j < HOST_MEMORY_FIELDS.length; j++)
    out[o + S + G + j] = m?.host ? m.host[HOST_MEMORY_FIELDS[j]!] : NaN;
}

/**
 * Reads a record of `width` values from `data` at `o`: STEP_FIELDS, then (when `width` holds them)
 * the GPU memory columns, then the host memory columns; a record whose memory columns are NaN, or
 * absent, has no `memory` (no `memory.host` for the host columns).
 */
export function readRecord(data: Float32Array | Float64Array, o: number, width = W): StepRecord {
  const r = {} as StepRecord;
  for (let j = 0; j < S; j++) r[STEP_FIELDS[j]!] = data[o + j]!;
  if (width >= S + G && !Number.isNaN(data[o + S]!)) {
    const m: StepMemory = { current: {} as StepMemory['current'], peakTotal: 0 };
    for (let j = 0; j < G; j++) {
      const f = GPU_MEMORY_FIELDS[j]!;
      if (f === 'peakTotal') m.peakTotal = data[o + S + j]!;
      else m.current[f] = data[o + S + j]!;
    }
    if (width >= W && !Number.isNaN(data[o + S + G]!)) {
      const host = {} as HostMemory;
      for (let j = 0; j < HOST_MEMORY_FIELDS.length; j++)
        host[HOST_MEMORY_FIELDS[j]!] = data[o + S + G + j]!;
      m.host = host;
    }
    r.memory = m;
  }
  return r;
}

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
    writeRecord(r, this.data, this.n * W);
    this.n++;
  }

  /** The i-th record (negative counts from the end), or undefined out of range. */
  at(i: number): StepRecord | undefined {
    const k = i < 0 ? this.n + i : i;
    if (k < 0 || k >= this.n) return undefined;
    return readRecord(this.data, k * W);
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
