/**
 * The plan of per-token buffers bound in token blocks: on the real TinyLlama-1.1B config at 32768
 * tokens under a 128 MiB binding limit the [T, 2048] f32 buffers (256 MiB) are allocated whole and
 * bound as 128 MiB views by the row-local ops (attention still binds q/o whole, and the plan names
 * that); a maxBufferSize below such a buffer refuses the plan, naming it and the limit.
 */
import { describe, expect, it } from 'vitest';
import { realModelConfig } from '../test/real-shapes.ts';
import { rowBlockTokens } from './activations.ts';
import { planProblem, planTraining } from './plan.ts';
import { defaultLora } from './longlora.ts';

const MiB = 2 ** 20;

describe('the plan with per-token buffers in token blocks', () => {
  const s = realModelConfig('tinyllama-1.1b');
  const plan = (limits: { maxBufferSize: number; maxStorageBufferBindingSize: number }) =>
    planTraining({
      shape: s,
      weightBytes: 2,
      lora: defaultLora(),
      context: 32768,
      checkpointing: true,
      limits,
    });

  it('binds [32768, 2048] f32 in token blocks within 128 MiB and allocates it whole', () => {
    const limits = { maxBufferSize: 1024 * MiB, maxStorageBufferBindingSize: 128 * MiB };
    const p = plan(limits);
    const Tr = rowBlockTokens(s, 32768, 128 * MiB);
    expect(Tr).toBe(16384);
    expect(p.largestAllocation).toEqual({ name: 'layer input', bytes: 32768 * 2048 * 4 });
    // Attention still binds q/o whole: that, not a per-token buffer, is now what the plan refuses.
    expect(p.largestBuffer).toEqual({ name: 'attention q/o', bytes: 32768 * 2048 * 4 });
    expect(planProblem(p, limits, Infinity)).toMatch(/^attention q\/o needs one buffer/);
  });

  it('refuses a per-token buffer larger than maxBufferSize, naming it', () => {
    const limits = { maxBufferSize: 128 * MiB, maxStorageBufferBindingSize: 128 * MiB };
    expect(planProblem(plan(limits), limits, Infinity)).toMatch(
      /^layer input needs one buffer of 0\.25 GiB, more than this GPU allocates \(0\.13 GiB\)/,
    );
  });
});
