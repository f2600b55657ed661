/**
 * stepKernels lists what a training step really launches: every family and variant whose shader a
 * step's dispatches use (forward, backward, the gradient norm), and no other, on this adapter.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { clearTuneCache } from '../engine/kernels/autotune.ts';
import { gradNormSquared } from '../engine/kernels/optimizer.ts';
import { KERNEL_FAMILIES, type KernelVariant } from '../engine/kernels/registry.ts';
import type { DispatchSpec } from '../engine/runtime.ts';
import { randomRefModel, type RefConfig } from '../reference/llama.ts';
import { testRuntime } from '../test/gpu.ts';
import { nextTokenLabels, refWeightSource, setNonZeroLora, shapeOfRef } from '../test/parity.ts';
import { Rng } from '../util/rng.ts';
import { LlamaModel } from './llama.ts';
import { LlamaParams } from './params.ts';
import { stepKernels } from './step-kernels.ts';
import { tuneModelOf } from './tune.ts';
import { LINEAR_NAMES } from './types.ts';

const TARGETS = [...LINEAR_NAMES];

function config(vocab: number): RefConfig {
  return {
    vocab,
    hidden: 32,
    intermediate: 48,
    layers: 1,
    heads: 4,
    kvHeads: 2,
    headDim: 8,
    rmsEps: 1e-5,
    ropeTheta: 10000,
    ropeFactor: 2,
    tied: true,
    pattern: 's2',
    group: 32,
    loraTargets: TARGETS,
    rank: 4,
    alpha: 8,
  };
}

/** Which family and variant each registered shader file belongs to. */
const OWNER = new Map<string, string>();
for (const f of KERNEL_FAMILIES)
  for (const v of Object.values(f.variants) as KernelVariant<unknown>[])
    for (const file of Object.values(v.files)) OWNER.set(file, `${f.family} ${v.name}`);

afterEach(() => clearTuneCache());

describe('the kernels a training step launches', () => {
  // V 40: the output layer's row blocks 4-aligned; V 42: not (the dW kernel is then the scalar
  // one on a CPU adapter). trainEmbed off: no dW at all.
  // On a CPU adapter with subgroups (SwiftShader), the output layer's backward variants: quad
  // where 16-byte loads fit (an f32 W, 4-aligned blocks), direct where they do not.
  for (const [vocab, trainEmbed, backward] of [
    [40, true, ['quad']],
    [42, true, ['direct', 'quad']],
    [42, false, ['direct']],
  ] as const) {
    it(`are the families and variants stepKernels lists (V ${vocab}, trainEmbed ${trainEmbed})`, async () => {
      const rt = await testRuntime();
      const cfg = config(vocab);
      const shape = shapeOfRef(cfg);
      const w = randomRefModel(cfg, 3);
      const lora = { rank: 4, alpha: 8, targets: TARGETS, trainEmbed, trainNorm: true };
      const source = refWeightSource(shape, w, 'BF16');
      const params = await LlamaParams.load(rt, shape, lora, source, 1, undefined, {
        optimizerState: false,
      });
      setNonZeroLora(params, w, TARGETS);
      const T = 64;
      const listed = stepKernels(rt, tuneModelOf(params), T);
      const launched = new Map<string, Set<string>>();
      const dispatch = rt.dispatch.bind(rt);
      rt.dispatch = (spec: DispatchSpec) => {
        const owner = OWNER.get(spec.shader);
        if (owner) launched.set(owner, (launched.get(owner) ?? new Set()).add(spec.shader));
        dispatch(spec);
      };
      const model = new LlamaModel(rt, params, { checkpointing: true });
      try {
        const rng = new Rng(7);
        const tokens = Array.from({ length: T }, () => rng.int(vocab));
        await model.forwardBackward(
          { ids: Uint32Array.from(tokens), labels: nextTokenLabels(tokens, tokens) },
          { pattern: 's2', group: 32, ropeFactor: 2 },
        );
        const out = rt.tensor([1], 'f32', 'workspace', 'norm');
        gradNormSquared(
          rt,
          params.trainables.map((t) => ({ tensor: t.grad, n: t.size })),
          out,
        );
        await rt.sync();
        out.destroy();
      } finally {
        rt.dispatch = dispatch;
        model.destroy();
      }
      const names = (cs: { family: string; variant: string }[]) =>
        [...new Set(cs.map((c) => `${c.family} ${c.variant}`))].sort();
      expect(names(listed)).toEqual([...launched.keys()].sort());
      for (const c of listed) {
        const files = launched.get(`${c.family} ${c.variant}`)!;
        for (const f of files) expect(c.files, `${c.family} ${c.variant}`).toContain(f);
      }
      // Every family of the registry runs in a step of this model (dHidden unaligned or on a CPU
      // adapter, or dW, by the cross-entropy kernels), matmul over its shape classes.
      expect(new Set(listed.map((c) => c.family)).size).toBe(KERNEL_FAMILIES.length);
      expect(listed.reduce((n, c) => n + (c.classes ?? 0), 0)).toBeGreaterThan(0);
      if (rt.info.isSoftware && rt.info.features.subgroups) {
        const back = listed.filter((c) => c.family === 'cross_entropy.backward');
        expect(back.map((c) => c.variant).sort()).toEqual(backward);
      }
      params.destroy();
      expect(rt.liveTensors).toBe(0);
    });
  }
});
