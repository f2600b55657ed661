/**
 * Kernel autotuning in the product: the launch list covers exactly the matmul shape classes a
 * training step launches; a first load times them once and stores the choices in the host's real
 * storage (a file in Node, IndexedDB in Chromium), a second load reads them and times nothing; and
 * whichever variant a cache names, the step's loss and every gradient equal the float64 reference.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { clearTuneCache, rememberChoice, setTuneStore } from '../engine/kernels/autotune.ts';
import { MATMUL_VARIANTS, linearTuneKey, type LinearOp } from '../engine/kernels/matmul.ts';
import { MATMUL, type MatmulVariantSpec } from '../engine/kernels/registry.ts';
import type { DispatchSpec } from '../engine/runtime.ts';
import { randomRefModel, refLossAndGrads, type RefConfig } from '../reference/llama.ts';
import { testRuntime, testTuneStore } from '../test/gpu.ts';
import { tinyTuneConfig } from '../test/tune-model.ts';
import {
  expectedGradients,
  gradientErrors,
  nextTokenLabels,
  refWeightSource,
  setNonZeroLora,
  shapeOfRef,
} from '../test/parity.ts';
import { Rng } from '../util/rng.ts';
import { LlamaModel } from './llama.ts';
import { LlamaParams } from './params.ts';
import { linearLaunches, tuneModelKernels, tuneModelOf, type TuneProgress } from './tune.ts';
import { LINEAR_NAMES } from './types.ts';

const TARGETS = [...LINEAR_NAMES];
const G = 32;

function config(): RefConfig {
  return tinyTuneConfig({ group: G, loraTargets: TARGETS });
}

const lora = { rank: 4, alpha: 8, targets: TARGETS, trainEmbed: true, trainNorm: true };

/** bf16 base weights (the packed path) with non-zero LoRA, ready for a forward and backward. */
async function load(seed = 5) {
  const rt = await testRuntime();
  const cfg = config();
  const shape = shapeOfRef(cfg);
  const w = randomRefModel(cfg, seed);
  const params = await LlamaParams.load(
    rt,
    shape,
    lora,
    refWeightSource(shape, w, 'BF16'),
    1,
    undefined,
    {
      optimizerState: false,
    },
  );
  setNonZeroLora(params, w, TARGETS);
  return { rt, cfg, w, params };
}

/** One forward and backward at T tokens; returns the loss. */
async function step(p: Awaited<ReturnType<typeof load>>, tokens: number[]) {
  const model = new LlamaModel(p.rt, p.params, { checkpointing: true });
  const labels = nextTokenLabels(tokens, tokens);
  const loss = await model.forwardBackward(
    { ids: Uint32Array.from(tokens), labels },
    { pattern: 's2', group: G, ropeFactor: p.cfg.ropeFactor },
  );
  model.destroy();
  return loss;
}

function tokensOf(T: number, seed: number): number[] {
  const rng = new Rng(seed);
  return Array.from({ length: T }, () => rng.int(40));
}

afterEach(() => {
  clearTuneCache();
  setTuneStore(null);
});

describe('kernel autotuning of a loaded model', () => {
  it('lists exactly the matmul shape classes a training step launches', async () => {
    const p = await load();
    const { rt } = p;
    const T = 128;
    const launched = new Set<string>();
    const dispatch = rt.dispatch.bind(rt);
    rt.dispatch = (spec: DispatchSpec) => {
      // Labels: `linear.<op> <variant> <dtype> <M>x<N>x<K>`.
      const m = /^linear\.(\w+) \w+ (\w+) (\d+)x(\d+)x(\d+)$/.exec(spec.label ?? '');
      if (m) {
        const [M, N, K] = [m[3], m[4], m[5]].map(Number) as [number, number, number];
        launched.add(linearTuneKey(rt, m[1] as LinearOp, m[2] as 'f32', M, N, K));
      }
      dispatch(spec);
    };
    try {
      await step(p, tokensOf(T, 1));
    } finally {
      rt.dispatch = dispatch;
    }
    const listed = linearLaunches(rt, tuneModelOf(p.params), T).map((l) =>
      linearTuneKey(rt, l.op, l.dtype, l.M, l.N, l.K),
    );
    expect(new Set(listed).size).toBe(listed.length);
    expect([...launched].sort()).toEqual([...listed].sort());
    // The output layer's products among them (V 40, D 32: whole and aligned): the logits, and
    // dHidden on a GPU (on a CPU adapter the cross-entropy kernel computes it).
    const output = linearLaunches(rt, tuneModelOf(p.params), T).filter((l) =>
      l.what.includes('output layer'),
    );
    expect(output.map((l) => [l.op, l.M, l.N, l.K])).toEqual([
      ['forward', T, 40, 32],
      ...(rt.info.isSoftware ? [] : [['backwardInput', T, 32, 40]]),
    ]);
    expect(listed.some((k) => k.includes('|bf16|'))).toBe(true);
    p.params.destroy();
    expect(rt.liveTensors).toBe(0);
  });

  it('times every class on the first load, stores the choices, and the second load reads them', async () => {
    const p = await load();
    const { rt } = p;
    setTuneStore(await testTuneStore('load'));
    const model = tuneModelOf(p.params);
    const progress: TuneProgress[] = [];
    const first = await tuneModelKernels(rt, model, 96, {
      onProgress: (e) => progress.push(e),
      runs: 1,
    });
    expect(first.length).toBeGreaterThan(10);
    for (const c of first) {
      expect(c.source).toBe('timed');
      expect(Object.keys(c.timings)).toContain(c.choice);
      for (const ms of Object.values(c.timings)) expect(ms).toBeGreaterThan(0);
    }
    // Every class was screened at 64 rows first (96 > 64) and the screen covered the candidates.
    expect(first.every((c) => c.screen && Object.keys(c.screen).length >= 2)).toBe(true);
    expect(progress.at(-1)).toEqual({ done: first.length, total: first.length });
    expect(progress.length).toBe(first.length + 1);

    // A new session (memory cleared, same store): every choice comes from the store, nothing is
    // timed and no progress is reported.
    clearTuneCache();
    const progress2: TuneProgress[] = [];
    const second = await tuneModelKernels(rt, model, 96, { onProgress: (e) => progress2.push(e) });
    expect(second.map((c) => c.source)).toEqual(first.map(() => 'store'));
    expect(second.map((c) => c.choice)).toEqual(first.map((c) => c.choice));
    expect(progress2).toEqual([]);
    p.params.destroy();
    expect(rt.liveTensors).toBe(0);
  });

  it('whatever variant the cache names, loss and every gradient equal the float64 reference', async () => {
    const T = 64;
    const tokens = tokensOf(T, 2);
    // The reference on the weights as the GPU holds them (refWeightSource rounds them to bf16).
    const { w, params: first } = await load();
    first.destroy();
    const ref = refLossAndGrads(config(), w, tokens, tokens);
    const expected = expectedGradients(ref.grads, { targets: TARGETS, trainEmbed: true });
    // Names a cache here cannot make run (the emulations, which tuning never chooses, or
    // variants whose features this adapter lacks: half, sgmatrix) run the defaults, which the
    // other passes already run.
    const rt = await testRuntime();
    const runnable = MATMUL_VARIANTS.filter((v) => {
      const spec: MatmulVariantSpec = MATMUL.variants[v];
      const runs = spec.needs.every((f) => rt.info.features[f]) && (spec.usable?.(rt.info) ?? true);
      return runs && !spec.emulates;
    });
    expect(runnable).toEqual(expect.arrayContaining(['naive', 'tiled', 'direct']));
    for (const variant of runnable) {
      const p = await load();
      // Every class of this model "tuned" to `variant` (a stale or wrong cache); launchers skip a
      // cached choice this adapter or shape cannot run and use the default.
      clearTuneCache();
      for (const l of linearLaunches(p.rt, tuneModelOf(p.params), T))
        await rememberChoice(linearTuneKey(p.rt, l.op, l.dtype, l.M, l.N, l.K), variant);
      const loss = await step(p, tokens);
      expect(Math.abs(loss - ref.loss) / ref.loss, variant).toBeLessThan(1e-4);
      expect(await gradientErrors(p.rt, p.params, expected, 1e-3, ` (${variant})`)).toEqual([]);
      p.params.destroy();
    }
  });
});
