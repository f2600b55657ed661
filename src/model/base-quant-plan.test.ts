/**
 * The plan of quantized base weights (issue 26 item 3): each frozen matrix in the GPU type
 * base-quant.ts's frozenType gives it (quantized on load, or a quantized GGUF's stored type), the
 * vocabulary matrices in row blocks of whole rows under the limits, the weights by type; and the
 * targets of quantizing on load at 8192 tokens under a 128 MiB binding / 256 MiB buffer cap.
 */
import { describe, expect, it } from 'vitest';
import { quantWeightBytes, type GpuQuantType } from '../engine/kernels/quant-layout.ts';
import { openModel } from '../io/model.ts';
import { bytesSource } from '../io/source.ts';
import { quantizedDemoGguf } from '../test/quant-fixtures.ts';
import { llama31Config } from '../test/llama31-config.ts';
import { realModelConfig } from '../test/real-shapes.ts';
import { frozenBytes, frozenType, type BaseQuant, type FrozenType } from './base-quant.ts';
import { defaultLora } from './longlora.ts';
import {
  budgetProblem,
  frozenBlockByteSizes,
  frozenTypeOf,
  planTraining,
  type PlanInput,
} from './plan.ts';
import { LINEAR_NAMES, linearShape, type LlamaShape } from './types.ts';

const MiB = 2 ** 20;
const GiB = 2 ** 30;
const limits = { maxBufferSize: 256 * MiB, maxStorageBufferBindingSize: 128 * MiB };

/** meta-llama/Llama-3.1-8B's published config.json (what planning needs of it). */
const LLAMA_31_8B = llama31Config();

const LONGLORA = defaultLora(); // r 8 on q, k, v, o; embeddings and norms trained (LoRA+)
const LORA = { ...defaultLora(), trainEmbed: false, trainNorm: false };

/** A bf16 model's plan at 8192 tokens under the caps, its base weights as `baseQuant` makes them. */
function plan8k(shape: LlamaShape, lora: PlanInput['lora'], baseQuant: BaseQuant) {
  return planTraining({
    shape,
    weightBytes: 2,
    frozenType: frozenTypeOf({ tensors: [], dtype: 'BF16' }, baseQuant),
    lora,
    context: 8192,
    checkpointing: true,
    limits,
  });
}

describe('frozen matrices in their GPU types', () => {
  it('plans a Q4_K [4096, 4096] projection at exactly its GPU bytes, a 4160-wide one as Q5_0', () => {
    expect(frozenBytes('Q4_K', 4096, 4096)).toBe(quantWeightBytes('Q4_K', 4096, 4096));
    expect(frozenType('BF16', 4096, 'q4_k')).toBe('Q4_K');
    // Rows not whole 256-value super-blocks: llama.cpp's fallback, Q5_0; not whole 32: as stored.
    expect(frozenType('BF16', 4160, 'q4_k')).toBe('Q5_0');
    expect(frozenType('BF16', 4100, 'q4_k')).toBe('bf16');
    expect(frozenType('Q6_K', 4096, 'q8_0')).toBe('Q6_K');
    const input: PlanInput = {
      shape: { ...realModelConfig('llama-2-7b'), layers: 1 },
      weightBytes: 2,
      lora: LONGLORA,
      context: 256,
      checkpointing: true,
    };
    const q4k = quantWeightBytes('Q4_K', 4096, 4096);
    const p = planTraining({
      ...input,
      frozenType: (name, cols) =>
        name.includes('q_proj') ? 'Q4_K' : frozenType('BF16', cols, 'none'),
    });
    expect(p.baseTypes).toEqual([
      { type: 'bf16', bytes: p.bytes.weights - q4k },
      { type: 'Q4_K', bytes: q4k },
    ]);
    // Without `frozenType` every frozen matrix is weightBytes wide: the Q4_K one's bytes come off.
    expect(planTraining(input).bytes.weights - p.bytes.weights).toBe(4096 * 4096 * 2 - q4k);
  });

  it('sums the weights category by type, largest first, and keeps the old plan without frozenType', () => {
    for (const bq of ['none', 'q8_0', 'q4_k'] as const) {
      const p = plan8k(realModelConfig('tinyllama-1.1b'), LORA, bq);
      expect(p.baseTypes.reduce((n, t) => n + t.bytes, 0)).toBe(p.bytes.weights);
      expect(p.baseTypes.map((t) => t.bytes)).toEqual(
        p.baseTypes.map((t) => t.bytes).sort((a, b) => b - a),
      );
      expect(p.baseTypes.map((t) => t.type)).toContain('f32'); // the frozen norms
    }
    const s = realModelConfig('llama-2-7b');
    const input = {
      shape: s,
      weightBytes: 2,
      lora: LONGLORA,
      context: 8192,
      checkpointing: true,
      limits,
    };
    const { baseTypes, ...old } = planTraining(input);
    expect(baseTypes).toEqual([{ type: 'bf16', bytes: old.bytes.weights }]);
    const { baseTypes: _, ...typed } = plan8k(s, LONGLORA, 'none');
    expect(typed).toEqual(old);
  });

  it('splits a quantized vocabulary matrix in blocks of whole rows within the binding limit', () => {
    const cap = 128 * MiB;
    for (const type of ['Q4_K', 'Q8_0'] as const satisfies readonly GpuQuantType[]) {
      const sizes = frozenBlockByteSizes(type, 128256, 4096, cap);
      const row = frozenBytes(type, 1, 4096);
      expect(sizes.reduce((a, b) => a + b, 0)).toBe(frozenBytes(type, 128256, 4096));
      for (const b of sizes) {
        expect(b).toBeLessThanOrEqual(cap);
        expect(b % row).toBe(0);
      }
      expect(sizes.length).toBe(Math.ceil(frozenBytes(type, 128256, 4096) / cap));
    }
    // Llama-3.1-8B under Q4_K: embedding and output layer in row blocks, every projection Q4_K,
    // the norms f32.
    const c = LLAMA_31_8B;
    const p = plan8k(c, LORA, 'q4_k');
    const projections = LINEAR_NAMES.reduce((n, l) => {
      const [out, inF] = linearShape(c, l);
      return n + frozenBytes('Q4_K', out, inF);
    }, 0);
    expect(p.baseTypes).toEqual([
      { type: 'Q4_K', bytes: 2 * frozenBytes('Q4_K', 128256, 4096) + c.layers * projections },
      { type: 'f32', bytes: 4 * (2 * c.layers + 1) * 4096 },
    ]);
  });

  it('plans a quantized GGUF with each tensor in its stored type', async () => {
    const m = await openModel([bytesSource('stories260K-q.gguf', await quantizedDemoGguf())]);
    const typeOf = frozenTypeOf(m, 'q4_k');
    const p = planTraining({
      shape: m.config,
      weightBytes: 4,
      frozenType: typeOf,
      lora: LORA,
      context: 256,
      checkpointing: true,
    });
    // Every stored type is kept (never quantized again), at its GPU bytes.
    const want = new Map<FrozenType, number>();
    for (const t of m.tensors) {
      if (t.shape.length !== 2) continue;
      if (m.config.tieWordEmbeddings && t.name === 'lm_head.weight') continue;
      const type = typeOf(t.name, t.shape[1]!);
      expect(type).toBe(t.stored?.type ?? frozenType(t.dtype, t.shape[1]!, 'q4_k'));
      want.set(type, (want.get(type) ?? 0) + frozenBytes(type, t.shape[0]!, t.shape[1]!));
    }
    const norms = m.tensors
      .filter((t) => t.shape.length === 1)
      .reduce((n, t) => n + 4 * t.shape[0]!, 0);
    want.set('f32', (want.get('f32') ?? 0) + norms);
    expect(new Map(p.baseTypes.map((t) => [t.type, t.bytes]))).toEqual(want);
  });
});

describe('quantize on load at 8192 tokens, 128 MiB bindings / 256 MiB buffers', () => {
  it('Llama-2-7B LongLoRA (s2, LoRA+) with a Q4_K base plans at most 10 GiB (18.1 GiB as stored)', () => {
    const s = realModelConfig('llama-2-7b');
    expect(plan8k(s, LONGLORA, 'none').total / GiB).toBeCloseTo(17.49, 2);
    const p = plan8k(s, LONGLORA, 'q4_k');
    expect(p.total).toBeLessThanOrEqual(10 * GiB);
    expect(p.total / GiB).toBeCloseTo(8.83, 2);
    expect(p.baseTypes.map((t) => t.type)).toEqual(['Q4_K']);
  });

  it('TinyLlama-1.1B LongLoRA with a Q4_K base plans at most 3.5 GiB (4.5 GiB as stored)', () => {
    const s = realModelConfig('tinyllama-1.1b');
    expect(plan8k(s, LONGLORA, 'none').total / GiB).toBeCloseTo(4.48, 2);
    const p = plan8k(s, LONGLORA, 'q4_k');
    expect(p.total).toBeLessThanOrEqual(3.5 * GiB);
    expect(p.total / GiB).toBeCloseTo(3.13, 2);
  });

  it('Llama-3.1-8B LoRA (q, k, v, o) with a Q4_K base plans at most 9 GiB (18.9 GiB as stored)', () => {
    expect(plan8k(LLAMA_31_8B, LORA, 'none').total / GiB).toBeCloseTo(18.91, 2);
    const p = plan8k(LLAMA_31_8B, LORA, 'q4_k');
    // 9.02 GiB before the backward shared the forward's dead [T, 4096] buffers (activations.ts).
    expect(p.total / GiB).toBeCloseTo(8.39, 2);
    expect(p.total).toBeLessThanOrEqual(9 * GiB);
  });
});

describe('over the budget', () => {
  it('suggests 4-bit base weights when most of the base is a float dtype, not when it is quantized', () => {
    const s = realModelConfig('llama-2-7b');
    const asStored = plan8k(s, LONGLORA, 'none');
    expect(budgetProblem(asStored, 12 * GiB)).toMatch(/set Base weights to 4-bit \(Q4_K\)\.$/);
    const q4 = plan8k(s, LONGLORA, 'q4_k');
    expect(budgetProblem(q4, 12 * GiB)).toBeNull();
    expect(budgetProblem(q4, 8 * GiB)).not.toMatch(/Base weights/);
  });
});
