import { describe, expect, it } from 'vitest';
import type { AdapterSummary } from '../engine/device.ts';
import type { OpenedModel } from '../io/model.ts';
import { realModelConfig } from '../test/real-shapes.ts';
import { studioDefaults } from '../train/settings.ts';
import type { LinearName } from '../model/types.ts';
import { parseHfConfig } from '../io/config.ts';
import { planTraining } from '../model/plan.ts';
import { qwen3_06BConfigJson } from '../test/fixtures.ts';
import { checkpointBytes, planFor, type Session } from './session.ts';

const GiB = 2 ** 30;
const adapter = {
  isSoftware: false,
  limits: { maxBufferSize: 2 * GiB, maxStorageBufferBindingSize: 128 * 2 ** 20 },
} as AdapterSummary;

/** A session holding a model's config only (planning reads no weights). */
function session(name: 'llama-3.2-1b' | 'tinyllama-1.1b'): Session {
  const config = realModelConfig(name);
  const opened = { config, dtypes: ['BF16'], tensors: [] } as unknown as OpenedModel;
  return { model: { opened, tokenizer: null, name }, data: null };
}

describe("the studio's plan", () => {
  it('plans Llama-3.2-1B at 8k within an 8 GB card, its embedding state in CPU memory', () => {
    const s = session('llama-3.2-1b');
    const settings = {
      ...studioDefaults({ contextLength: 131072, defaultContext: 32768, parameters: 1.2e9 }),
      context: 8192,
    };
    const plan = planFor(s, adapter, settings, 8 * GiB);
    expect(plan.fits).toBe(true);
    expect(plan.warnings).toEqual([]);
    expect(plan.budgetStated).toBe(true);
    expect(plan.total).toBeLessThan(7 * GiB);
    expect(plan.largestBuffer).toBeLessThanOrEqual(128 * 2 ** 20);
    expect(plan.hostBytes).toBe(8 * 128256 * 2048);
    // Stated smaller than the plan: a warning, and the run may still start.
    const small = planFor(s, adapter, settings, 4 * GiB);
    expect(small.fits).toBe(true);
    expect(small.warnings[0]!.message).toMatch(/the budget is 4\.00 GiB/);
    // Beyond max_position_embeddings with llama3 scaling: a problem, with what to change.
    const far = planFor(s, adapter, { ...settings, context: 262144 }, null);
    expect(far.fits).toBe(false);
    expect(far.problems.map((p) => p.fix)).toContain('Use at most 131072 tokens.');
  });

  it('plans the base weights as the settings quantize them, by type', () => {
    const s = session('tinyllama-1.1b');
    const settings = studioDefaults({
      contextLength: 2048,
      defaultContext: 8192,
      parameters: 1.1e9,
    });
    const stored = planFor(s, adapter, settings, null);
    expect(stored.baseTypes).toEqual([{ type: 'bf16', bytes: stored.bytes.weights }]);
    const q4 = planFor(s, adapter, { ...settings, baseQuant: 'q4_k' }, null);
    expect(q4.baseTypes.map((t) => t.type)).toEqual(['Q4_K']);
    expect(q4.baseTypes[0]!.bytes).toBe(q4.bytes.weights);
    expect(stored.total - q4.total).toBe(stored.bytes.weights - q4.bytes.weights);
  });

  it('keeps a small embedding state on the GPU (TinyLlama)', () => {
    const settings = {
      ...studioDefaults({ contextLength: 2048, defaultContext: 8192, parameters: 1.1e9 }),
    };
    const plan = planFor(session('tinyllama-1.1b'), adapter, settings, null);
    expect(plan.hostBytes).toBe(0);
    expect(plan.budgetStated).toBe(false);
    expect(plan.limits.budget).toBe(8 * GiB);
  });
});

describe('the assumed GPU memory', () => {
  it('is one default on every adapter, hardware or software (CPU)', () => {
    const settings = studioDefaults({
      contextLength: 2048,
      defaultContext: 8192,
      parameters: 1.1e9,
    });
    for (const isSoftware of [false, true]) {
      const plan = planFor(session('tinyllama-1.1b'), { ...adapter, isSoftware }, settings, null);
      expect(plan.budgetStated, `software ${isSoftware}`).toBe(false);
      expect(plan.limits.budget, `software ${isSoftware}`).toBe(8 * GiB);
    }
  });
});

describe('the checkpoint size shown before a run', () => {
  it('counts every tensor the run trains, Qwen3 q/k norms included, as the plan does', () => {
    const config = parseHfConfig(qwen3_06BConfigJson());
    expect(config.qkNorm).toBe(true);
    for (const [trainEmbed, trainNorm] of [
      [true, true],
      [false, true],
      [true, false],
      [false, false],
    ]) {
      const lora = {
        rank: 8,
        alpha: 16,
        targets: ['q_proj', 'v_proj'] as LinearName[],
        trainEmbed: trainEmbed!,
        trainNorm: trainNorm!,
      };
      const plan = planTraining({
        shape: config,
        weightBytes: 2,
        lora,
        context: 1024,
        checkpointing: true,
      });
      // Each trained value as f32 with its two AdamW moments, plus the manifest's allowance.
      expect(checkpointBytes(config, lora), `embed ${trainEmbed}, norms ${trainNorm}`).toBe(
        3 * 4 * plan.trainableParams + 16 * 1024,
      );
    }
  });
});
