/**
 * The autotune of a quantized base (issue 26 item 2): the launch list of a model whose frozen
 * weights stay in ggml blocks names the quantized products a step launches (each projection's
 * forward and input gradient, the output layer's row blocks), tuneModelKernels times the
 * matmul.quant candidates for them (each checked against float64 before it can be chosen), the
 * launches then use the choices, the step lists the family, and the step's loss and every gradient
 * still equal the float64 reference on the dequantized weights.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clearTuneCache } from '../engine/kernels/autotune.ts';
import { MATMUL_QUANT } from '../engine/kernels/registry.ts';
import type { DispatchSpec, Runtime } from '../engine/runtime.ts';
import { randomRefModel, refLossAndGrads, type RefConfig } from '../reference/llama.ts';
import { testRuntime } from '../test/gpu.ts';
import {
  expectedGradients,
  gradientErrors,
  nextTokenLabels,
  setNonZeroLora,
  shapeOfRef,
} from '../test/parity.ts';
import { quantWeightSource } from '../test/quant-parity.ts';
import { Rng } from '../util/rng.ts';
import { LlamaModel } from './llama.ts';
import { LlamaParams } from './params.ts';
import { stepKernels } from './step-kernels.ts';
import { quantLaunches, tuneModelKernels, tuneModelOf } from './tune.ts';
import type { LinearName } from './types.ts';

const TARGETS: LinearName[] = ['q_proj', 'v_proj'];
const T = 32;
const cfg: RefConfig = {
  vocab: 96,
  hidden: 64,
  intermediate: 128,
  layers: 1,
  heads: 2,
  kvHeads: 1,
  headDim: 32,
  rmsEps: 1e-5,
  ropeTheta: 10000,
  ropeFactor: 1,
  tied: true,
  pattern: 's2',
  group: 8,
  loraTargets: TARGETS,
  rank: 4,
  alpha: 8,
};

describe('tuning the quantized products of a Q8_0 base', () => {
  let rt: Runtime;
  beforeAll(async () => {
    rt = await testRuntime();
    clearTuneCache();
  });
  afterAll(() => {
    clearTuneCache();
    rt.destroy(true);
  });

  it('lists, times and uses the matmul.quant choices; the step still equals the reference', async () => {
    const shape = shapeOfRef(cfg);
    const w = randomRefModel(cfg, 3);
    const lora = { rank: 4, alpha: 8, targets: TARGETS, trainEmbed: false, trainNorm: true };
    const src = quantWeightSource(shape, w, 'Q8_0', { trainEmbed: false });
    const params = await LlamaParams.load(rt, shape, lora, src, 1);
    const model = tuneModelOf(params);
    const launches = quantLaunches(rt, model, T);
    // Every projection (forward and input gradient) and the tied output layer, all Q8_0.
    const what = new Set(launches.flatMap((l) => l.what.split(', ')));
    for (const n of ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'])
      expect(what.has(n), n).toBe(true);
    expect(what.has('output layer')).toBe(true);
    expect(new Set(launches.map((l) => l.dtype))).toEqual(new Set(['Q8_0']));
    expect(new Set(launches.map((l) => l.op))).toEqual(new Set(['forward', 'backwardInput']));

    const choices = await tuneModelKernels(rt, model, T, { runs: 2 });
    const quant = choices.filter((c) => c.family === 'matmul.quant');
    expect(quant).toHaveLength(launches.length);
    for (const c of quant) {
      expect(c.source).toBe('timed');
      expect(MATMUL_QUANT.variants[c.choice as keyof typeof MATMUL_QUANT.variants].quant).toBe(
        'Q8_0',
      );
      expect(Object.keys(c.timings).length).toBeGreaterThan(0);
    }
    // The step's kernels name the family and its choices' files.
    const listed = stepKernels(rt, model, T).filter((k) => k.family === 'matmul.quant');
    expect(listed.length).toBeGreaterThan(0);
    expect(listed.every((k) => k.source === 'tuned')).toBe(true);

    // A step: the launches run the tuned variants, and the numbers stay the reference's.
    setNonZeroLora(params, w, TARGETS, 7);
    const rng = new Rng(2);
    const tokens = Array.from({ length: T }, () => rng.int(cfg.vocab));
    const ref = refLossAndGrads(cfg, w, tokens, tokens);
    const m = new LlamaModel(rt, params, { checkpointing: true });
    const labels: string[] = [];
    const dispatch = rt.dispatch.bind(rt);
    rt.dispatch = (spec: DispatchSpec) => {
      labels.push(spec.label ?? '');
      dispatch(spec);
    };
    const loss = await m.forwardBackward(
      { ids: Uint32Array.from(tokens), labels: nextTokenLabels(tokens, tokens) },
      { pattern: 's2', group: cfg.group, ropeFactor: 1 },
    );
    rt.dispatch = dispatch;
    const chosen = new Set(quant.map((c) => c.choice));
    const ran = labels.filter((l) => / q8_0/.test(l) && l.startsWith('linear.'));
    expect(ran.length).toBeGreaterThan(0);
    for (const l of ran) expect([...chosen].some((c) => l.includes(` ${c} `))).toBe(true);
    expect(Math.abs(loss - ref.loss) / ref.loss).toBeLessThan(2e-3);
    const expected = expectedGradients(ref.grads, { targets: TARGETS, trainEmbed: false });
    expect(await gradientErrors(rt, params, expected, 2e-3)).toEqual([]);
    m.destroy();
    params.destroy();
  });
});
