/** The trainer on an odd query-head count (9 query heads over 3 kv heads, as SmolLM2 has). */
import { describe, expect, it } from 'vitest';
import { LlamaModel } from '../model/llama.ts';
import { LlamaParams } from '../model/params.ts';
import { randomRefModel, type RefConfig } from '../reference/llama.ts';
import { testRuntime } from '../test/gpu.ts';
import { randomDataset, refWeightSource, shapeOfRef } from '../test/parity.ts';
import type { Dataset } from './data.ts';
import { Trainer } from './trainer.ts';
import { cliDefaults, groupOf, loraOf, type RunSettings } from './settings.ts';

const CONTEXT = 32;
const refCfg: RefConfig = {
  vocab: 31,
  hidden: 36,
  intermediate: 40,
  layers: 2,
  heads: 9,
  kvHeads: 3,
  headDim: 4,
  rmsEps: 1e-5,
  ropeTheta: 10000,
  ropeFactor: 2,
  tied: true,
  pattern: 's2',
  group: CONTEXT / 4,
  loraTargets: ['q_proj', 'k_proj', 'v_proj', 'o_proj'],
  rank: 2,
  alpha: 4,
};

function dataset(): Dataset {
  const { vocab } = refCfg;
  return randomDataset({ vocab, context: CONTEXT, seed: 4, blocks: 5, train: 4, heldOut: true });
}

describe('trainer with 9 query heads over 3 kv heads', () => {
  it('trains with s2 (the default group N/4): finite losses that change', async () => {
    const rt = await testRuntime();
    const shape = shapeOfRef(refCfg);
    const settings: RunSettings = {
      ...cliDefaults(CONTEXT),
      ropeFactor: Math.max(1, Math.ceil(CONTEXT / 16)),
      rank: 2,
      alpha: 4,
      targets: ['q_proj', 'k_proj', 'v_proj', 'o_proj'],
      trainable: ['embed', 'norm'],
      lr: 2e-2,
      warmup: 1,
      steps: 3,
      checkpointEvery: 0,
      seed: 3,
    };
    expect(settings.attention).toBe('s2');
    expect(groupOf(settings)).toBe(CONTEXT / 4);
    const params = await LlamaParams.load(
      rt,
      shape,
      loraOf(settings),
      refWeightSource(shape, randomRefModel(refCfg, 2), 'BF16'),
      1,
    );
    const model = new LlamaModel(rt, params);
    const trainer = new Trainer(rt, model, dataset(), settings, {
      modelFingerprint: 'odd-heads',
      modelName: 'tiny 9/3',
    });
    expect(await trainer.run()).toBe('done');
    const losses = trainer.steps.map((s) => s.loss);
    expect(losses).toHaveLength(3);
    for (const l of losses) expect(Number.isFinite(l) && l > 0).toBe(true);
    expect(new Set(losses).size).toBe(3);
    for (const s of trainer.steps) expect(Number.isFinite(s.gradNorm) && s.gradNorm > 0).toBe(true);
    // LoRA B starts at zero; AdamW moved it (o_proj reads all 9 heads' outputs).
    const B = params.trainables.find((t) =>
      t.name.endsWith('layers.1.self_attn.o_proj.lora_B.weight'),
    )!;
    const b = await rt.read(B.param);
    expect(b.some((x) => x !== 0)).toBe(true);
    expect(b.every((x) => Number.isFinite(x))).toBe(true);
    trainer.destroy();
    model.destroy();
    params.destroy();
    expect(rt.liveTensors).toBe(0);
  });
});
