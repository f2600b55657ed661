/**
 * The plan of offloaded checkpoints (issue 27 items 2 and 3): the targets of `longlora info
 * --base-quant q4_k --offload checkpoints` under a 128 MiB binding / 256 MiB buffer cap, what `auto`
 * picks, and the host budget's refusal.
 */
import { describe, expect, it } from 'vitest';
import { llama31Config } from '../test/llama31-config.ts';
import { realModelConfig } from '../test/real-shapes.ts';
import { defaultLora } from './longlora.ts';
import type { Offload } from './offload-setting.ts';
import { frozenTypeOf, hostBudgetProblem, planWithOffload, type PlanInput } from './plan.ts';
import type { LlamaShape } from './types.ts';

const MiB = 2 ** 20;
const GiB = 2 ** 30;
const limits = { maxBufferSize: 256 * MiB, maxStorageBufferBindingSize: 128 * MiB };
const LONGLORA = defaultLora(); // r 8 on q, k, v, o; embeddings and norms trained (LoRA+)
const LORA = { ...defaultLora(), trainEmbed: false, trainNorm: false };

/** A bf16 model's plan with a Q4_K base, its checkpoints as `offload` says (budget for auto). */
function plan(
  shape: LlamaShape,
  lora: PlanInput['lora'],
  context: number,
  offload: Offload,
  budget = 12 * GiB,
) {
  const input: PlanInput = {
    shape,
    weightBytes: 2,
    frozenType: frozenTypeOf({ tensors: [], dtype: 'BF16' }, 'q4_k'),
    lora,
    context,
    checkpointing: true,
    limits,
  };
  return planWithOffload(input, offload, budget);
}

describe('offloaded checkpoints at long contexts, Q4_K base, 128/256 MiB caps', () => {
  it('Llama-2-7B LongLoRA (s2, LoRA+) at 32,768 tokens plans at most 12 GiB of GPU memory', () => {
    const s = realModelConfig('llama-2-7b');
    // Before issue 27: 21.98 GiB; sharing dead buffers alone: 19.48.
    expect(plan(s, LONGLORA, 32768, 'none').total / GiB).toBeCloseTo(19.48, 2);
    const p = plan(s, LONGLORA, 32768, 'checkpoints');
    expect(p.offloaded).toBe(true);
    expect(p.total / GiB).toBeCloseTo(11.98, 2);
    expect(p.total).toBeLessThanOrEqual(12 * GiB);
    // 32 layer inputs of [32768, 4096] in 16 bits in host memory, and the embedding's moments.
    expect(p.host.checkpoints).toBe(32 * 32768 * 4096 * 2);
    expect(p.host.optimizer).toBe(8 * 32000 * 4096);
    expect(p.hostBytes / GiB).toBeCloseTo(8.98, 2);
  });

  it('Llama-3.1-8B LoRA (q, k, v, o) at 32,768 plans at most 12 GiB, at 8,192 at most 8 GiB', () => {
    const s = llama31Config();
    // Before issue 27: 20.29 and 9.02 GiB.
    expect(plan(s, LORA, 32768, 'none').total / GiB).toBeCloseTo(17.79, 2);
    const long = plan(s, LORA, 32768, 'checkpoints');
    expect(long.total / GiB).toBeCloseTo(10.29, 2);
    expect(long.total).toBeLessThanOrEqual(12 * GiB);
    expect(long.hostBytes).toBe(32 * 32768 * 4096 * 2);
    const short = plan(s, LORA, 8192, 'checkpoints');
    expect(short.total / GiB).toBeCloseTo(6.52, 2);
    expect(short.total).toBeLessThanOrEqual(8 * GiB);
  });

  it('auto offloads only when the plan that keeps them on the GPU does not fit the budget', () => {
    const s = llama31Config();
    expect(plan(s, LORA, 8192, 'auto', 12 * GiB).offloaded).toBe(false);
    expect(plan(s, LORA, 8192, 'auto', 8 * GiB).offloaded).toBe(true);
    expect(plan(s, LORA, 8192, 'none', 8 * GiB).offloaded).toBe(false);
    const kept = plan(s, LORA, 8192, 'none');
    expect(plan(s, LORA, 8192, 'auto', kept.total).offloaded).toBe(false);
    expect(plan(s, LORA, 8192, 'auto', kept.total - 1).offloaded).toBe(true);
  });

  it('refuses a plan over the host budget, saying what it holds and what to change', () => {
    const p = plan(realModelConfig('llama-2-7b'), LONGLORA, 32768, 'checkpoints');
    const fix = 'Keep checkpoints in GPU memory.';
    const assumed = { bytes: 4 * GiB, stated: false, assumed: 'half the reported device memory' };
    expect(hostBudgetProblem(p, assumed, fix)).toBe(
      'Training needs about 8.98 GiB of host memory (8.00 GiB of offloaded checkpoints, ' +
        '1000 MiB of embedding optimizer state); the host budget is an assumed 4.00 GiB ' +
        '(half the reported device memory). Keep checkpoints in GPU memory.',
    );
    expect(hostBudgetProblem(p, { bytes: 16 * GiB, stated: true, assumed: '' }, fix)).toBeNull();
  });
});
