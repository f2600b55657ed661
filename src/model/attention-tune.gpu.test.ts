/**
 * The attention family tuned per adapter (issue 28): a model's tuning pass lists the step's
 * attention as a class, checks every variant that runs here against float64 (one that does not
 * compile or gives wrong numbers is excluded, with why, and never chosen), times the rest at the
 * step's shape, stores the choice (a second pass reads it), the step's attention launches use it and
 * stepKernels names it; whichever variant is stored, the step's loss and gradients equal the float64
 * reference.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { attentionTuneKey } from '../engine/kernels/attention.ts';
import { attentionCandidates, tuneAttention } from '../engine/kernels/attention-tune.ts';
import { clearTuneCache, rememberChoice, setTuneStore } from '../engine/kernels/autotune.ts';
import { loadShaderFromDisk } from '../engine/node-host.ts';
import { ATTENTION } from '../engine/kernels/registry.ts';
import type { DispatchSpec } from '../engine/runtime.ts';
import { randomRefModel, refLossAndGrads, type RefConfig } from '../reference/llama.ts';
import { freshRuntime, testRuntime, testTuneStore } from '../test/gpu.ts';
import {
  expectedGradients,
  gradientErrors,
  nextTokenLabels,
  refWeightSource,
  setNonZeroLora,
  shapeOfRef,
} from '../test/parity.ts';
import { tinyTuneConfig } from '../test/tune-model.ts';
import { Rng } from '../util/rng.ts';
import { LlamaModel } from './llama.ts';
import { LlamaParams } from './params.ts';
import { stepKernels } from './step-kernels.ts';
import { tuneModelOf, tuneStepKernels, type TuneProgress } from './tune.ts';
import type { LinearName } from './types.ts';

const TARGETS: LinearName[] = ['q_proj', 'v_proj'];
const T = 64;
const G = T / 4;
const cfg: RefConfig = tinyTuneConfig({ group: G, loraTargets: TARGETS, ropeFactor: 1 });
const lora = { rank: 4, alpha: 8, targets: TARGETS, trainEmbed: false, trainNorm: true };
const pass = { pattern: 's2' as const, group: G };

afterEach(() => {
  clearTuneCache();
  setTuneStore(null);
});

describe('tuning attention per adapter', () => {
  it('lists, checks, times, stores and uses the attention choice; the step still equals the reference', async () => {
    const rt = await testRuntime();
    const w = randomRefModel(cfg, 4);
    const params = await LlamaParams.load(
      rt,
      shapeOfRef(cfg),
      lora,
      refWeightSource(shapeOfRef(cfg), w, 'F32'),
      1,
    );
    setNonZeroLora(params, w, TARGETS, 3);
    const model = tuneModelOf(params);
    setTuneStore(await testTuneStore('attention'));

    // Listed and timed first, as one more class of the pass (matmul classes follow).
    const progress: TuneProgress[] = [];
    const first = await tuneStepKernels(rt, model, T, {
      attention: pass,
      runs: 1,
      onProgress: (p) => progress.push(p),
    });
    const a = first.attention!;
    expect(a).toMatchObject({ family: 'attention', T, H: 4, KV: 2, hd: 8, ...pass });
    expect(a.source).toBe('timed');
    // Every variant that runs here (SwiftShader has subgroups: all four) passed its check and
    // was timed; the choice is the fastest.
    const candidates = attentionCandidates(rt, 8);
    expect(candidates).toEqual(expect.arrayContaining(['direct', 'tiled', 'fa2', 'fa2_sg']));
    expect(a.excluded).toBeUndefined();
    expect(Object.keys(a.timings).sort()).toEqual([...candidates].sort());
    const fastest = Object.entries(a.timings).sort((x, y) => x[1] - y[1])[0]![0];
    expect(a.choice).toBe(fastest);
    expect(progress[0]).toMatchObject({ done: 0, total: first.matmul.length + 1 });
    expect(progress[0]!.current).toMatch(/^attention s2 64 tokens/);
    expect(progress.at(-1)).toEqual({
      done: first.matmul.length + 1,
      total: first.matmul.length + 1,
    });

    // The step's kernels name the tuned choice.
    const listed = stepKernels(rt, model, T, first.matmul, pass).find(
      (k) => k.family === 'attention',
    )!;
    expect(listed).toMatchObject({ variant: a.choice, source: 'tuned' });
    expect(listed.files).toEqual(Object.values(ATTENTION.variants[a.choice].files));

    // A second session reads it from the store and times nothing.
    clearTuneCache();
    const second = await tuneStepKernels(rt, model, T, { attention: pass });
    expect(second.attention).toMatchObject({ choice: a.choice, source: 'store' });

    // Whatever variant is stored for the shape, the step's attention launches run it and the
    // loss and gradients equal the float64 reference.
    const rng = new Rng(5);
    const tokens = Array.from({ length: T }, () => rng.int(cfg.vocab));
    const ref = refLossAndGrads(cfg, w, tokens, tokens);
    const expected = expectedGradients(ref.grads, { targets: TARGETS, trainEmbed: false });
    const key = attentionTuneKey(rt, { Tq: T, Tk: T, H: 4, KV: 2, hd: 8, ...pass });
    expect(key).toBe(a.key);
    for (const variant of candidates) {
      await rememberChoice(key, variant);
      const m = new LlamaModel(rt, params, { checkpointing: true });
      const shaders: string[] = [];
      const dispatch = rt.dispatch.bind(rt);
      rt.dispatch = (spec: DispatchSpec) => {
        shaders.push(spec.shader);
        dispatch(spec);
      };
      params.zeroGrads();
      const loss = await m.forwardBackward(
        { ids: Uint32Array.from(tokens), labels: nextTokenLabels(tokens, tokens) },
        { ...pass, ropeFactor: 1 },
      );
      rt.dispatch = dispatch;
      m.destroy();
      const ran = new Set(
        shaders.filter((s) => /^attention\.(forward|backward_dq|backward_dkdv)_/.test(s)),
      );
      expect([...ran].sort(), variant).toEqual(
        Object.values(ATTENTION.variants[variant].files).sort(),
      );
      expect(Math.abs(loss - ref.loss) / ref.loss, variant).toBeLessThan(1e-4);
      expect(await gradientErrors(rt, params, expected, 1e-3, ` (${variant})`)).toEqual([]);
    }
    params.destroy();
    expect(rt.liveTensors).toBe(0);
  });

  it('a variant that does not compile, or gives wrong numbers, is excluded with why and never chosen', async () => {
    // A fresh device whose tiled forward does not compile and whose fa2_sg forward scales the
    // scores wrongly (both real kernels on the real adapter, from edited sources).
    const rt = await freshRuntime();
    rt.registerShader('attention.forward_tiled', 'this is not WGSL');
    const sg = loadShaderFromDisk('attention.forward_fa2_sg');
    expect(sg).toContain('* p.scale;');
    rt.registerShader('attention.forward_fa2_sg', sg.replace('* p.scale;', '* p.scale * 1.01;'));
    const shape = { T: 64, H: 4, KV: 2, hd: 8, ...pass };
    const r = await tuneAttention(rt, shape, {
      variants: ['direct', 'tiled', 'fa2_sg'],
      runs: 1,
      force: true,
    });
    expect(r.choice).toBe('direct');
    expect(Object.keys(r.timings)).toEqual(['direct']);
    expect(r.excluded?.tiled).toMatch(/^did not compile: /);
    expect(r.excluded?.fa2_sg).toMatch(/^failed the float64 check: o\[\d+\]/);
    rt.destroy(true);
  });
});
