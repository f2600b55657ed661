import { describe, expect, it } from 'vitest';
import { randomRefModel, refForwardLogits, type RefConfig } from '../reference/llama.ts';
import { testRuntime } from '../test/gpu.ts';
import { expectClose } from '../test/numeric.ts';
import { refWeightSource, setNonZeroLora, shapeOfRef, type StorageDtype } from '../test/parity.ts';
import { Rng } from '../util/rng.ts';
import { generate } from './generate.ts';
import { KvCache } from './kv-cache.ts';
import { LlamaModel } from './llama.ts';
import { LlamaParams } from './params.ts';
import type { LinearName } from './types.ts';

interface Case {
  name: string;
  dtype: StorageDtype;
  tied: boolean;
  ropeFactor: number;
  targets: LinearName[];
  /** Prompt length: above 64 the prefill spans two attention row tiles. */
  prompt: number;
  newTokens: number;
}

const QKVO: LinearName[] = ['q_proj', 'k_proj', 'v_proj', 'o_proj'];
const ALL: LinearName[] = [...QKVO, 'gate_proj', 'up_proj', 'down_proj'];

const cases: Case[] = [
  {
    name: 'f32, tied, rope ×1',
    dtype: 'F32',
    tied: true,
    ropeFactor: 1,
    targets: QKVO,
    prompt: 5,
    newTokens: 10,
  },
  {
    name: 'bf16, untied, rope ×2, all targets, 67-token prompt',
    dtype: 'BF16',
    tied: false,
    ropeFactor: 2,
    targets: ALL,
    prompt: 67,
    newTokens: 6,
  },
];

function argmax(x: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i]! > x[best]!) best = i;
  return best;
}

describe('KV-cache decoding vs the float64 reference (tiny GQA model, non-zero LoRA)', () => {
  for (const c of cases) {
    it(`each step's logits match a full forward of prompt + generated: ${c.name}`, async () => {
      const rt = await testRuntime();
      const before = rt.memory.snapshot().current;
      const cfg: RefConfig = {
        vocab: 37,
        hidden: 16,
        intermediate: 24,
        layers: 2,
        heads: 4,
        kvHeads: 2,
        headDim: 4,
        rmsEps: 1e-5,
        ropeTheta: 10000,
        ropeFactor: c.ropeFactor,
        tied: c.tied,
        pattern: 'full',
        group: 2,
        loraTargets: c.targets,
        rank: 3,
        alpha: 6,
      };
      const w = randomRefModel(cfg, 11);
      const shape = shapeOfRef(cfg);
      const lora = { rank: 3, alpha: 6, targets: c.targets, trainEmbed: true, trainNorm: true };
      const params = await LlamaParams.load(rt, shape, lora, refWeightSource(shape, w, c.dtype), 1);
      setNonZeroLora(params, w, c.targets);
      const model = new LlamaModel(rt, params);
      model.invFreqFor(c.ropeFactor); // cached by the model: part of the baseline
      const base = rt.memory.snapshot().current;

      const rng = new Rng(5);
      const prompt = Array.from({ length: c.prompt }, () => rng.int(cfg.vocab));
      const seq = [...prompt];
      const cache = new KvCache(model, c.prompt + c.newTokens);
      let pending = prompt;
      for (let step = 0; step < c.newTokens; step++) {
        const got = await model.decode(pending, cache, c.ropeFactor);
        const all = refForwardLogits(cfg, w, seq);
        const want = all.subarray((seq.length - 1) * cfg.vocab, seq.length * cfg.vocab);
        expectClose(`step ${step} logits`, got, want, 1e-4, 1e-3);
        const id = argmax(got);
        expect(id, `step ${step} argmax`).toBe(argmax(want));
        expect(cache.length).toBe(seq.length);
        seq.push(id);
        pending = [id];
      }
      // The last token was sampled, not fed: one position is left, two do not fit.
      await expect(model.decode([0, 0], cache, c.ropeFactor)).rejects.toThrow(/exceed/);
      cache.destroy();
      expect(rt.memory.snapshot().current).toEqual(base);

      const ids = await generate(model, prompt, {
        maxNewTokens: c.newTokens,
        temperature: 0,
        topP: 1,
        seed: 0,
        ropeFactor: c.ropeFactor,
      });
      expect(ids).toEqual(seq.slice(c.prompt));
      expect(rt.memory.snapshot().current).toEqual(base);

      model.destroy();
      params.destroy();
      expect(rt.memory.snapshot().current).toEqual(before);
    });
  }
});
