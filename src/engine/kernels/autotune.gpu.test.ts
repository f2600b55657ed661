import { afterEach, describe, expect, it } from 'vitest';
import {
  clearTuneCache,
  keyValueTuneStore,
  median,
  pow2Bucket,
  setTuneStore,
  type TuneStore,
} from './autotune.ts';
import { linearForward, linearTuneKey, resolveVariant, tunedDims, tuneLinear } from './matmul.ts';
import { linearForward as refForward } from '../../reference/matmul.ts';
import { testRuntime } from '../../test/gpu.ts';
import { expectClose } from '../../test/numeric.ts';
import { Rng } from '../../util/rng.ts';

afterEach(() => {
  clearTuneCache();
  setTuneStore(null);
});

describe('matmul autotune', () => {
  it('buckets shapes and takes medians', () => {
    expect([1, 2, 3, 5, 64, 65].map(pow2Bucket)).toEqual([1, 2, 4, 8, 64, 128]);
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });

  it('times the variants once, caches the fastest per shape class, and launches it', async () => {
    const rt = await testRuntime();
    const [T, inF, outF] = [40, 32, 36];
    const first = await tuneLinear(rt, 'forward', 'f32', T, inF, outF, {
      runs: 2,
      variants: ['tiled', 'direct'],
    });
    expect(first.source).toBe('timed');
    expect(Object.keys(first.timings).sort()).toEqual(['direct', 'tiled']);
    for (const ms of Object.values(first.timings)) expect(ms).toBeGreaterThan(0);
    const fastest = first.timings.tiled! <= first.timings.direct! ? 'tiled' : 'direct';
    expect(first.choice).toBe(fastest);
    // Same bucket (T 33…64, in 17…32, out 33…64, aligned): a cache hit, no timing.
    const again = await tuneLinear(rt, 'forward', 'f32', 50, 28, 60, {
      variants: ['tiled', 'direct'],
    });
    expect(again).toMatchObject({ source: 'memory', choice: first.choice });
    expect(resolveVariant(rt, 'forward', 'f32', T, outF, inF)).toBe(first.choice);
    expect(rt.liveTensors).toBe(0);

    // The launcher uses the cached choice and still computes the right thing.
    const rng = new Rng(3);
    const x = rng.floats(T * inF);
    const w = rng.floats(outF * inF);
    const tx = rt.tensor([T, inF], 'f32', 'activations', 'x', x);
    const tw = rt.tensor([outF, inF], 'f32', 'weights', 'w', w);
    const ty = rt.tensor([T, outF], 'f32', 'activations', 'y');
    linearForward(rt, tx, tw, ty, T, inF, outF);
    expectClose('y', await rt.read(ty), refForward(x, w, T, inF, outF), 1e-5, 1e-3);
    for (const t of [tx, tw, ty]) t.destroy();
  });

  it('times a W larger than its bound on fewer rows, stored under the full shape', async () => {
    // Cut to a multiple of 8 plus the remainder (the same alignment), the larger dimension only.
    expect(tunedDims(49152, 576, 'f32')).toEqual([14560, 576]);
    expect(tunedDims(576, 49155, 'bf16')).toEqual([576, 29123]);
    expect(tunedDims(64, 64, 'f32')).toEqual([64, 64]);
    const rt = await testRuntime();
    const [T, inF, outF] = [8, 16, 1000]; // W 64 000 bytes, timed on 400 rows (25 600 bytes)
    expect(tunedDims(outF, inF, 'f32', 25_600)).toEqual([400, 16]);
    rt.memory.resetPeak();
    const peak0 = rt.memory.snapshot().peak.workspace;
    const r = await tuneLinear(rt, 'forward', 'f32', T, inF, outF, {
      runs: 1,
      variants: ['tiled', 'direct'],
      maxWeightBytes: 25_600,
    });
    expect(r.source).toBe('timed');
    // A, W and C of the cut shape: 8×16 + 400×16 + 8×400 floats.
    const peak = rt.memory.snapshot().peak.workspace;
    expect(peak - peak0).toBeLessThanOrEqual((8 * 16 + 400 * 16 + 8 * 400) * 4);
    expect(resolveVariant(rt, 'forward', 'f32', T, outF, inF)).toBe(r.choice);
    expect(rt.liveTensors).toBe(0);
  });

  it('reads and writes choices through a pluggable store', async () => {
    const rt = await testRuntime();
    const kv = new Map<string, string>();
    const store: TuneStore = keyValueTuneStore({
      getItem: (k) => kv.get(k) ?? null,
      setItem: (k, v) => void kv.set(k, v),
    });
    setTuneStore(store);
    // A choice persisted by an earlier session is used without timing anything.
    const key = linearTuneKey(rt, 'backwardInput', 'bf16', 8, 24, 16);
    kv.set(`longlora.autotune:${key}`, 'naive');
    const hit = await tuneLinear(rt, 'backwardInput', 'bf16', 8, 24, 16, {
      variants: ['naive', 'tiled'],
    });
    expect(hit).toMatchObject({ source: 'store', choice: 'naive', timings: {} });
    expect(resolveVariant(rt, 'backwardInput', 'bf16', 8, 24, 16)).toBe('naive');
    // A fresh decision is written back to the store.
    const timed = await tuneLinear(rt, 'forward', 'bf16', 8, 16, 24, {
      runs: 1,
      variants: ['naive', 'tiled'],
    });
    expect(timed.source).toBe('timed');
    expect(kv.get(`longlora.autotune:${linearTuneKey(rt, 'forward', 'bf16', 8, 24, 16)}`)).toBe(
      timed.choice,
    );
  });
});
