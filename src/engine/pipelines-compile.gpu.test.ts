import { expect, it } from 'vitest';
import { tuneLinear } from './kernels/matmul.ts';
import { testRuntime } from '../test/gpu.ts';

/** `p`, or 'timed out' after `ms`. */
const within = <T>(p: Promise<T>, ms: number) =>
  Promise.race([p, new Promise<'timed out'>((r) => setTimeout(() => r('timed out'), ms))]);

// Tuning compiles one shader module under several pipeline constants (matmul's W layout: the input
// gradient, then the forward). Chromium never settled a second getCompilationInfo() on a module, so
// the studio's tuning pass stopped at its third class until the module's info was asked for once.
it('one module compiled under two sets of constants (tuning the input gradient, then the forward) settles', async () => {
  const rt = await testRuntime();
  for (const op of ['backwardInput', 'forward'] as const) {
    const r = await within(tuneLinear(rt, op, 'f32', 64, 8, 576, { force: true, runs: 1 }), 30_000);
    expect(r, op).not.toBe('timed out');
    if (r !== 'timed out') expect(Object.keys(r.timings), op).toContain('direct');
  }
});
