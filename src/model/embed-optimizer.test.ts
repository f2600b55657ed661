/**
 * Where the trainable embedding's AdamW moments live: the default rule on the real shapes and the
 * plan in both modes (GPU optimizer bytes, host bytes) at 8192 tokens under a 128 MiB binding cap.
 */
import { describe, expect, it } from 'vitest';
import { realModelConfig, REAL_MODEL_NAMES } from '../test/real-shapes.ts';
import { defaultEmbedOptimizer, defaultLora } from './longlora.ts';
import { planTraining } from './plan.ts';

const CAP = 128 * 2 ** 20;
const limits = { maxBufferSize: CAP, maxStorageBufferBindingSize: CAP };
const plan = (name: (typeof REAL_MODEL_NAMES)[number], embedOptimizer?: 'gpu' | 'cpu') =>
  planTraining({
    shape: realModelConfig(name),
    weightBytes: 2,
    lora: defaultLora(),
    context: 8192,
    checkpointing: true,
    limits,
    ...(embedOptimizer ? { embedOptimizer } : {}),
  });

describe('embedding optimizer state on the CPU', () => {
  it('is the default above 2^26 embedding parameters: Llama-3.2-1B and Llama-2-7B, not TinyLlama', () => {
    const got = Object.fromEntries(
      REAL_MODEL_NAMES.map((n) => [n, defaultEmbedOptimizer(realModelConfig(n))]),
    );
    expect(got).toEqual({
      'smollm2-135m': 'gpu',
      'tinyllama-1.1b': 'gpu',
      'llama-3.2-1b': 'cpu',
      'llama-2-7b': 'cpu',
    });
  });

  it.each(REAL_MODEL_NAMES)(
    '%s: cpu moves exactly the embedding moments (8·V·D) from the GPU plan to host memory',
    (name) => {
      const c = realModelConfig(name);
      const gpu = plan(name, 'gpu');
      const cpu = plan(name, 'cpu');
      const moments = 8 * c.vocabSize * c.hidden;
      expect(gpu.hostBytes).toBe(0);
      expect(gpu.bytes.optimizer).toBe(8 * gpu.trainableParams);
      expect(cpu.bytes.optimizer).toBe(gpu.bytes.optimizer - moments);
      expect(cpu.hostBytes).toBe(moments);
      expect(cpu.total).toBe(gpu.total - moments);
      expect({ ...cpu.bytes, optimizer: 0 }).toEqual({ ...gpu.bytes, optimizer: 0 });
      expect(cpu.largestBuffer).toEqual(gpu.largestBuffer);
      // The default follows the rule; nothing moves without optimizer state or a trainable embedding.
      expect(plan(name)).toEqual(defaultEmbedOptimizer(c) === 'cpu' ? cpu : gpu);
      const frozen = { ...defaultLora(), trainEmbed: false };
      const base = { shape: c, weightBytes: 2, context: 8192, checkpointing: true, limits };
      expect(planTraining({ ...base, lora: frozen, embedOptimizer: 'cpu' }).hostBytes).toBe(0);
      const noAdam = { ...base, lora: defaultLora(), optimizerState: false };
      expect(planTraining({ ...noAdam, embedOptimizer: 'cpu' })).toEqual(planTraining(noAdam));
    },
  );
});
