/**
 * The MLP's token blocks in the memory plan on the real shapes at 8192 tokens under a 128 MiB binding
 * cap: TinyLlama-1.1B, Llama-3.2-1B and Llama-2-7B, refused before (their [8192, intermediate] f32
 * MLP activations are 176 / 256 / 344 MiB), now plan every buffer within the cap, the MLP buffers at
 * 2048 tokens; every other per-token buffer fits whole.
 */
import { describe, expect, it } from 'vitest';
import { realModelConfig } from '../test/real-shapes.ts';
import { MLP_BLOCK_TOKENS, mlpBlockTokens } from './activations.ts';
import { defaultLora } from './longlora.ts';
import { planProblem, planTraining } from './plan.ts';

const CAP = 128 * 2 ** 20;
const limits = { maxBufferSize: 2 ** 30, maxStorageBufferBindingSize: CAP };
const T = 8192;
const NAMES = ['tinyllama-1.1b', 'llama-3.2-1b', 'llama-2-7b'] as const;

describe('MLP token blocks in the plan at 8192 tokens under 128 MiB bindings', () => {
  it.each(NAMES)('%s: every buffer fits the cap; the MLP runs in 4 blocks of 2048', (name) => {
    const s = realModelConfig(name);
    const lora = defaultLora();
    // Whole, the MLP activations would not fit; every other per-token buffer does.
    expect(4 * T * s.intermediate).toBeGreaterThan(CAP);
    const Hq = s.heads * s.headDim;
    const Hkv = s.kvHeads * s.headDim;
    for (const cols of [s.hidden, Hq, Hkv, lora.rank, 1])
      expect(4 * T * cols).toBeLessThanOrEqual(CAP);
    expect(4 * s.heads * T).toBeLessThanOrEqual(CAP);

    expect(mlpBlockTokens(T, s.intermediate, CAP)).toBe(MLP_BLOCK_TOKENS);
    for (const checkpointing of [true, false]) {
      const plan = planTraining({
        shape: s,
        weightBytes: 2,
        lora,
        context: T,
        checkpointing,
        limits,
      });
      expect(plan.largestBuffer.bytes).toBeLessThanOrEqual(CAP);
      expect(planProblem(plan, limits, Infinity)).toBeNull();
    }
    // The block is what the plan names when nothing larger is allocated.
    const small = planTraining({
      shape: { ...s, vocabSize: 64 },
      weightBytes: 2,
      lora: { ...lora, trainEmbed: false },
      context: T,
      checkpointing: true,
      limits,
    });
    const blockBytes = 4 * MLP_BLOCK_TOKENS * s.intermediate;
    if (blockBytes > 4 * T * Math.max(s.hidden, Hq))
      expect(small.largestBuffer).toEqual({
        name: 'mlp activations (one of 4 token blocks)',
        bytes: blockBytes,
      });
  });

  it('a cap that holds fewer than 64 tokens of the MLP is refused by the plan, naming it', () => {
    const s = realModelConfig('tinyllama-1.1b');
    const tight = { maxBufferSize: 2 ** 30, maxStorageBufferBindingSize: 63 * 4 * s.intermediate };
    // Narrow everything but the MLP so its weights fit and its activations are the largest.
    const shape = { ...s, vocabSize: 64, hidden: 16, heads: 2, kvHeads: 2, headDim: 8 };
    const plan = planTraining({
      shape,
      weightBytes: 2,
      lora: { ...defaultLora(), trainEmbed: false },
      context: 128,
      checkpointing: true,
      limits: tight,
    });
    expect(plan.largestBuffer.name).toMatch(/^mlp activations/);
    expect(planProblem(plan, tight, Infinity)).toMatch(
      /^mlp activations \(one of 2 token blocks\) needs one buffer/,
    );
  });
});
