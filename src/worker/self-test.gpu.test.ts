import { describe, expect, it } from 'vitest';
import { testRuntime } from '../test/gpu.ts';
import { runSelfTest } from './self-test.ts';

describe('worker GPU self-test', () => {
  it('runs matmulNT on an odd shape and matches the float64 reference', async () => {
    const rt = await testRuntime();
    const before = rt.liveTensors;
    const r = await runSelfTest(rt);
    expect(r.shape).toEqual([37, 29, 53]);
    expect(r.maxError).toBeLessThanOrEqual(1e-4);
    expect(r.ok).toBe(true);
    expect(r.ms).toBeGreaterThan(0);
    expect(rt.liveTensors).toBe(before);
  });

  it('two self-tests at once (React StrictMode runs effects twice) both pass', async () => {
    const rt = await testRuntime();
    const [a, b] = await Promise.all([runSelfTest(rt), runSelfTest(rt)]);
    expect(a.ok && b.ok).toBe(true);
  });
});
