/**
 * The plan of per-token buffers bound in token blocks: on the real TinyLlama-1.1B config at 32768
 * tokens under a 128 MiB binding limit the [T, 2048] f32 buffers (256 MiB) are allocated whole and
 * bound as 128 MiB views by the row-local ops and attention, so the plan fits the limit; under a
 * maxBufferSize below such a buffer they are allocated in parts of whole token blocks
 * (Runtime.rowsTensor).
 */
import { describe, expect, it } from 'vitest';
import { realModelConfig } from '../test/real-shapes.ts';
import { rowBlockTokens } from './activations.ts';
import { planProblem, planTraining } from './plan.ts';
import { attentionBlockRows } from '../engine/kernels/attention.ts';
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
    const attn = { Tq: 32768, Tk: 32768, H: s.heads, KV: s.kvHeads, hd: s.headDim };
    expect(attentionBlockRows(attn, 128 * MiB)).toEqual({ query: 16384, key: 32768 });
    expect(p.largestAllocation).toEqual({ name: 'layer input', bytes: 32768 * 2048 * 4 });
    // Attention binds q/o in query blocks and k/v whole ([32768, 256] f32 is 32 MiB): every binding
    // fits, and the plan has no problem but the budget.
    expect(p.largestBuffer.bytes).toBeLessThanOrEqual(128 * MiB);
    expect(planProblem(p, limits, Infinity)).toBeNull();
  });

  it('allocates a per-token buffer larger than maxBufferSize in parts of 16384 tokens', () => {
    const limits = { maxBufferSize: 128 * MiB, maxStorageBufferBindingSize: 128 * MiB };
    const p = plan(limits);
    // The largest allocation is 128 MiB: a part of the layer inputs, or an embedding block (the
    // plan names the first of equals).
    expect(p.largestAllocation.bytes).toBe(16384 * 2048 * 4);
    // Parts change no byte count: the same totals as with a 1 GiB maxBufferSize.
    const roomy = plan({ ...limits, maxBufferSize: 1024 * MiB });
    expect(p.bytes).toEqual(roomy.bytes);
    expect(planProblem(p, limits, Infinity)).toBeNull();
  });
});

describe('Llama-2-7B at 16384 and 32768 tokens under 128 MiB bindings', () => {
  const s = realModelConfig('llama-2-7b');
  const limits = { maxBufferSize: 1024 * MiB, maxStorageBufferBindingSize: 128 * MiB };
  it.each([16384, 32768])('%i tokens: k/v in key blocks, every binding within the limit', (T) => {
    const p = planTraining({
      shape: s,
      weightBytes: 2,
      lora: defaultLora(),
      context: T,
      checkpointing: true,
      limits,
    });
    const attn = { Tq: T, Tk: T, H: s.heads, KV: s.kvHeads, hd: s.headDim };
    // [T, 4096] f32 is 256 or 512 MiB: 8192 rows a block.
    expect(attentionBlockRows(attn, 128 * MiB)).toEqual({ query: 8192, key: 8192 });
    expect(p.largestBuffer.bytes).toBeLessThanOrEqual(128 * MiB);
    expect(p.largestAllocation).toEqual({ name: 'layer input', bytes: T * 4096 * 4 });
    expect(planProblem(p, limits, Infinity)).toBeNull();
    // A 256 MiB maxBufferSize takes 32768 tokens too: [32768, 4096] f32 in two 256 MiB parts.
    const small = { ...limits, maxBufferSize: 256 * MiB };
    const q = planTraining({
      ...{ shape: s, weightBytes: 2, lora: defaultLora() },
      context: T,
      checkpointing: true,
      limits: small,
    });
    expect(q.largestAllocation).toEqual(
      T > 16384
        ? { name: 'layer input (one of 2 buffers)', bytes: 256 * MiB }
        : { name: 'layer input', bytes: T * 4096 * 4 },
    );
    expect(q.total).toBe(p.total);
    expect(planProblem(q, small, Infinity)).toBeNull();
  });
});
