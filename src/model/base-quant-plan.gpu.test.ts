/**
 * The plan of quantized base weights is what LlamaParams.load allocates, to the byte: the wide model
 * (every width whole 256-value blocks) quantized on load to Q8_0 and Q4_K under caps that split its
 * vocabulary matrices into row blocks, with and without LoRA+ (a frozen embedding is quantized too),
 * and the quantized demo GGUF in its stored types.
 */
import { describe, expect, it } from 'vitest';
import { openModel } from '../io/model.ts';
import { bytesSource } from '../io/source.ts';
import { cappedRuntime } from '../test/gpu.ts';
import { quantizedDemoGguf } from '../test/quant-fixtures.ts';
import { wideHfFolder } from '../test/wide-model.ts';
import type { BaseQuant } from './base-quant.ts';
import { defaultLora } from './longlora.ts';
import { LlamaParams } from './params.ts';
import { frozenBlockByteSizes, frozenTypeOf, planTraining } from './plan.ts';
import { weightSource } from './session.ts';

const LONGLORA = defaultLora();
const LORA = { ...defaultLora(), trainEmbed: false, trainNorm: false };

async function check(
  files: [string, Uint8Array][],
  baseQuant: BaseQuant,
  cap: number,
  lora: typeof LORA,
): Promise<void> {
  const m = await openModel(files.map(([name, bytes]) => bytesSource(name, bytes)));
  const rt = await cappedRuntime({ maxBufferSize: cap, maxStorageBufferBindingSize: cap });
  try {
    const before = rt.memory.snapshot().current;
    const params = await LlamaParams.load(rt, m.config, lora, weightSource(m), 1, undefined, {
      optimizerState: false,
      baseQuant,
    });
    const used = rt.memory.snapshot().current;
    const plan = planTraining({
      shape: m.config,
      weightBytes: 4,
      frozenType: frozenTypeOf(m, baseQuant),
      lora,
      context: 64,
      checkpointing: true,
      optimizerState: false,
      limits: rt.info.limits,
    });
    const what = `${baseQuant}, embed ${lora.trainEmbed ? 'trained' : 'frozen'}`;
    expect(used.weights - before.weights, what).toBe(plan.bytes.weights);
    expect(used.lora - before.lora, what).toBe(plan.bytes.lora);
    params.destroy();
  } finally {
    rt.destroy(true);
  }
}

describe('quantized base weights: plan = allocation', () => {
  const wide = Object.entries(wideHfFolder());

  // Q8_0 [256, 256] is 72 KiB, its [290, 256] vocabulary matrices 81.6 KiB: two row blocks each.
  it.each([
    ['q8_0', 73728],
    ['q4_k', 40960],
  ] as const)(
    'the wide model quantized on load to %s, vocabulary matrices split',
    async (q, cap) => {
      const type = q === 'q8_0' ? 'Q8_0' : 'Q4_K';
      expect(frozenBlockByteSizes(type, 290, 256, cap)).toHaveLength(2);
      for (const lora of [LONGLORA, LORA]) await check(wide, q, cap, lora);
    },
  );

  it('the quantized demo GGUF in its stored types', async () => {
    const gguf: [string, Uint8Array][] = [['stories260K-q.gguf', await quantizedDemoGguf()]];
    for (const lora of [LONGLORA, LORA]) await check(gguf, 'none', 2 ** 20, lora);
  });
});
