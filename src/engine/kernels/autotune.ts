/**
 * Kernel autotuning: on first use of a shape class, time each eligible variant on this adapter (a
 * warm-up, then a few runs; the median counts) and remember the fastest per (adapter, op, dtype,
 * shape bucket) in memory and, optionally, in a pluggable store (IndexedDB, localStorage, a file).
 * Generic over ops: callers supply the candidates; launchers read choices back synchronously.
 */
import { InternalError } from '../../util/errors.ts';
import { KernelCheckError } from '../errors.ts';
import type { Runtime } from '../runtime.ts';

/** A persistent home for tuning choices; get/set may be synchronous or asynchronous. */
export interface TuneStore {
  get(key: string): string | undefined | null | Promise<string | undefined | null>;
  set(key: string, choice: string): void | Promise<void>;
}

/** One variant to time: `run` records its dispatches (the tuner syncs and times them). */
export interface TuneCandidate {
  name: string;
  run: () => void;
  /**
   * Checks the candidate's result after its warm-up run (e.g. against a float64 reference on
   * sampled entries); a candidate that fails is not chosen and the next fastest is.
   */
  check?: () => Promise<boolean>;
}

/** What a tuning pass decided, with the median milliseconds of every candidate it timed. */
export interface TuneResult {
  choice: string;
  timings: Record<string, number>;
  /** Where the choice came from: timed now, the in-memory cache, or the store. */
  source: 'timed' | 'memory' | 'store';
  /** Candidates whose check failed (never chosen). */
  rejected?: string[];
  /**
   * Candidates left out before timing, with why: their pipeline did not compile or validate on
   * this device (matmul's tuneLinear compiles each first).
   */
  excluded?: Record<string, string>;
  /** Ms of one run of every candidate at a smaller screening shape, when the op screens first. */
  screen?: Record<string, number>;
}

/** Options of one tuning pass. */
export interface AutotuneOptions {
  /** Timed runs per candidate (the median counts); default 3. */
  runs?: number;
  /** Untimed runs before timing (compiles the pipeline); default 1. */
  warmup?: number;
  /** Time again even when a choice is cached or stored. */
  force?: boolean;
  /**
   * A candidate whose warm-up alone takes longer than this many times the best median so far is
   * measured by its warm-up (it cannot win; timing it again would only spend the budget). Default 4.
   */
  hopeless?: number;
}

const memory = new Map<string, string>();
let store: TuneStore | null = null;

/** Plugs in (or, with null, removes) the persistent store consulted after the in-memory cache. */
export function setTuneStore(s: TuneStore | null): void {
  store = s;
}

/** A TuneStore over anything with getItem/setItem (e.g. window.localStorage). */
export function keyValueTuneStore(
  kv: { getItem(k: string): string | null; setItem(k: string, v: string): void },
  prefix = 'longlora.autotune:',
): TuneStore {
  return {
    get: (key) => kv.getItem(prefix + key),
    set: (key, choice) => kv.setItem(prefix + key, choice),
  };
}

/** Forgets every in-memory choice (the store is untouched). */
export function clearTuneCache(): void {
  memory.clear();
}

/** The cache key of one op on this runtime's adapter. */
export function tuneKey(rt: Runtime, op: string, dtype: string, bucket: string): string {
  const a = rt.info;
  const adapter = [a.vendor, a.architecture, a.device, a.description].filter(Boolean).join(' ');
  return `${adapter || a.name}|${op}|${dtype}|${bucket}`;
}

/** Rounds a dimension up to its power-of-two bucket (1, 2, 4, …). */
export function pow2Bucket(x: number): number {
  return x <= 1 ? 1 : 2 ** Math.ceil(Math.log2(x));
}

/** The choice cached in memory for `key`, if any (synchronous: launchers call it per dispatch). */
export function cachedChoice(key: string): string | undefined {
  return memory.get(key);
}

/** Records a choice in memory and in the store (used by tuning, and by callers restoring state). */
export async function rememberChoice(key: string, choice: string): Promise<void> {
  memory.set(key, choice);
  if (store) await store.set(key, choice);
}

/** The choice in memory or, failing that, in the store, among `names`; null when there is none. */
export async function knownChoice(
  key: string,
  names: ReadonlySet<string>,
): Promise<TuneResult | null> {
  const hit = memory.get(key);
  if (hit !== undefined && names.has(hit)) return { choice: hit, timings: {}, source: 'memory' };
  const stored = store ? await store.get(key) : undefined;
  if (stored && names.has(stored)) {
    memory.set(key, stored);
    return { choice: stored, timings: {}, source: 'store' };
  }
  return null;
}

/**
 * Returns the cached choice for `key`, else the stored one, else times every candidate (after one
 * warm-up run each) and keeps the fastest median. Candidates must leave the GPU state reusable.
 */
export async function autotune(
  rt: Runtime,
  key: string,
  candidates: readonly TuneCandidate[],
  opts: AutotuneOptions = {},
): Promise<TuneResult> {
  if (candidates.length === 0) throw new InternalError(`autotune ${key}: no candidates`);
  const names = new Set(candidates.map((c) => c.name));
  if (!opts.force) {
    const known = await knownChoice(key, names);
    if (known) return known;
  }
  const runs = Math.max(1, opts.runs ?? 3);
  const warmup = Math.max(1, opts.warmup ?? 1);
  const hopeless = opts.hopeless ?? 4;
  const timings: Record<string, number> = {};
  const rejected: string[] = [];
  let best = Infinity;
  for (const c of candidates) {
    const w0 = performance.now();
    for (let i = 0; i < warmup; i++) c.run();
    await rt.sync();
    const warm = (performance.now() - w0) / warmup;
    if (c.check && !(await c.check())) {
      rejected.push(c.name);
      continue;
    }
    if (warm > hopeless * best) {
      timings[c.name] = warm;
      continue;
    }
    const times: number[] = [];
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      c.run();
      await rt.sync();
      times.push(performance.now() - t0);
    }
    timings[c.name] = median(times);
    best = Math.min(best, timings[c.name]!);
  }
  const timed = candidates.filter((c) => timings[c.name] !== undefined);
  if (timed.length === 0) {
    throw new KernelCheckError(
      `autotune ${key}: every candidate failed its check (${rejected.join(', ')})`,
    );
  }
  let choice = timed[0]!.name;
  for (const c of timed) if (timings[c.name]! < timings[choice]!) choice = c.name;
  await rememberChoice(key, choice);
  return { choice, timings, source: 'timed', ...(rejected.length ? { rejected } : {}) };
}

/** The median of a non-empty list. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
