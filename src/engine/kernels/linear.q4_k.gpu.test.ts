import { afterEach, describe, expect, it } from 'vitest';
import { clearTuneCache } from './autotune.ts';
import { quantTuneCandidates, resolveQuantVariant, tuneQuantLinear } from './matmul-quant.ts';
import { checkQuantLinear, quantLinearSuite } from '../../test/linear-quant-check.ts';
import { testRuntime } from '../../test/gpu.ts';

quantLinearSuite('Q4_K');

afterEach(() => clearTuneCache());

describe('quantized matmul autotune (tuneQuantLinear)', () => {
  it('times the type’s candidates once, caches the fastest per shape class, and the launcher runs it', async () => {
    const rt = await testRuntime();
    const [T, inF, outF] = [16, 512, 40];
    const candidates = quantTuneCandidates('Q4_K', T);
    expect(candidates).toEqual(['q4_k', 'q4_k_rows8', 'q4_k_quad']);
    expect(quantTuneCandidates('Q4_K', 4)).toEqual(['q4_k']);
    const first = await tuneQuantLinear(rt, 'backwardInput', 'Q4_K', T, inF, outF, { runs: 1 });
    expect(first.source).toBe('timed');
    const timed = candidates.filter((v) => v !== 'q4_k_quad' || rt.info.features.subgroups);
    expect(Object.keys(first.timings).sort()).toEqual([...timed].sort());
    expect(first.rejected).toBeUndefined();
    const fastest = Object.entries(first.timings).reduce((x, y) => (y[1] < x[1] ? y : x))[0];
    expect(first.choice).toBe(fastest);
    // The same class (T 9…16, in 257…512, out 33…64): a cache hit, no timing.
    const again = await tuneQuantLinear(rt, 'backwardInput', 'Q4_K', 12, 512, 60);
    expect(again).toMatchObject({ source: 'memory', choice: first.choice });
    const shape = { op: 'backwardInput', quant: 'Q4_K', M: T, N: inF, K: outF } as const;
    expect(resolveQuantVariant(rt, shape)).toBe(first.choice);
    // Without a forced variant the launcher runs the choice, and computes the right thing.
    await checkQuantLinear(rt, 'backwardInput', 'Q4_K', [T, inF, outF], { accumulate: false });
    expect(rt.liveTensors).toBe(0);
  });

  it('times a W larger than its bound on fewer rows, stored under the full shape', async () => {
    const rt = await testRuntime();
    const [T, inF, outF] = [8, 256, 1000]; // 152 bytes a row; timed on 50 rows
    rt.memory.resetPeak();
    const peak0 = rt.memory.snapshot().peak.workspace;
    const r = await tuneQuantLinear(rt, 'forward', 'Q4_K', T, inF, outF, {
      runs: 1,
      maxWeightBytes: 50 * 152,
    });
    expect(r.source).toBe('timed');
    const peak = rt.memory.snapshot().peak.workspace;
    expect(peak - peak0).toBeLessThanOrEqual(50 * 152 + (8 * 256 + 8 * 50) * 4);
    const shape = { op: 'forward', quant: 'Q4_K', M: T, N: outF, K: inF } as const;
    expect(resolveQuantVariant(rt, shape)).toBe(r.choice);
    expect(rt.liveTensors).toBe(0);
  });
});
