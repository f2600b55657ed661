/**
 * A quantized base (issue 26 item 2): every ggml type the reader takes kept in its blocks on the
 * GPU — the projections, the untied output layer, and the embedding's lookup when LoRA+ does not
 * train it — gives the loss and every trainable gradient of the float64 reference run on the
 * dequantized weights, within 2e-3. Widths are whole 256-value blocks (every type fits), with GQA
 * (16 query / 8 kv heads of 16: the projections' shapes of 4 / 2 heads of 64, without the ~7 s
 * SwiftShader takes to compile attention at head_dim 64), one layer, and an output layer split
 * into row blocks by a small binding cap.
 * Quantize-on-load (`baseQuant` q8_0, q4_k) gives the same blocks as llama.cpp's reference.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Runtime } from '../engine/runtime.ts';
import { QuantRows } from '../engine/quant-rows.ts';
import { isQuantWeight } from '../engine/kernels/frozen.ts';
import { quantWeightBytes } from '../engine/kernels/quant-layout.ts';
import { QUANT_TYPES, type QuantType } from '../io/quant.ts';
import { randomRefModel, refLossAndGrads, type RefConfig } from '../reference/llama.ts';
import { cappedRuntime } from '../test/gpu.ts';
import {
  expectedGradients,
  gradientErrors,
  nextTokenLabels,
  setNonZeroLora,
  shapeOfRef,
} from '../test/parity.ts';
import { quantWeightSource } from '../test/quant-parity.ts';
import { Rng } from '../util/rng.ts';
import type { BaseQuant } from './base-quant.ts';
import { LlamaModel } from './llama.ts';
import { LlamaParams } from './params.ts';
import type { LinearName } from './types.ts';

const TARGETS: LinearName[] = ['q_proj', 'k_proj', 'v_proj', 'o_proj'];
const T = 16;
const VOCAB = 1024;
const HIDDEN = 256;
const FFN = 512;

/**
 * One binding cap for every case (one runtime, its pipelines compiled once): the largest
 * projection ([512, 256] in Q8_0, the widest layout) and the per-token buffers fit, and what must
 * split does — the [1024, 256] output layer in every type (Q4_K, the narrowest, is still larger)
 * and the trained f32 embedding.
 */
const CAP = Math.ceil(Math.max(quantWeightBytes('Q8_0', FFN, HIDDEN), 4 * T * FFN) / 256) * 256;

const refCfg = (tied: boolean): RefConfig => ({
  vocab: VOCAB,
  hidden: HIDDEN,
  intermediate: FFN,
  layers: 1,
  heads: 16,
  kvHeads: 8,
  headDim: 16,
  rmsEps: 1e-5,
  ropeTheta: 10000,
  ropeFactor: 1,
  tied,
  pattern: 's2',
  group: 8,
  loraTargets: TARGETS,
  rank: 4,
  alpha: 8,
});

interface Case {
  type: QuantType;
  /** LoRA+ (embedding and norms trained, untied quantized head) or LoRA on a tied quantized table. */
  plus: boolean;
  /** Give f32 weights and quantize on load instead of giving the blocks. */
  onLoad?: BaseQuant;
}

const cases: Case[] = [
  ...QUANT_TYPES.map((type) => ({ type, plus: true })),
  ...(['Q8_0', 'Q4_K', 'Q6_K', 'Q5_1'] as const).map((type) => ({ type, plus: false })),
  { type: 'Q8_0', plus: true, onLoad: 'q8_0' },
  { type: 'Q4_K', plus: false, onLoad: 'q4_k' },
];

describe('a quantized base against the float64 reference on its dequantized weights', () => {
  let rt: Runtime;
  beforeAll(async () => {
    rt = await cappedRuntime({ maxStorageBufferBindingSize: CAP, maxBufferSize: CAP });
  });
  afterAll(() => rt.destroy(true));

  for (const c of cases) {
    const what = c.plus
      ? 'LoRA+ (embedding, norms), untied quantized output layer'
      : 'LoRA, tied quantized embedding and output layer';
    const how = c.onLoad ? `, quantized on load (baseQuant ${c.onLoad})` : '';
    it(`${c.type}: loss and every trainable gradient within 2e-3: ${what}${how}`, async () => {
      const cfg = refCfg(!c.plus);
      const shape = shapeOfRef(cfg);
      const w = randomRefModel(cfg, 31);
      const lora = { rank: 4, alpha: 8, targets: TARGETS, trainEmbed: c.plus, trainNorm: true };
      const src = quantWeightSource(shape, w, c.type, {
        trainEmbed: c.plus,
        asFloat: !!c.onLoad,
      });
      const params = await LlamaParams.load(rt, shape, lora, src, 1, undefined, {
        baseQuant: c.onLoad ?? 'none',
      });
      // What the GPU keeps: every projection in blocks, the frozen vocabulary matrices too.
      for (const l of params.layers)
        for (const n of TARGETS) expect(isQuantWeight(l.w[n])).toBe(true);
      const head = params.lmHead;
      expect(head instanceof QuantRows && head.type).toBe(c.type);
      expect(head instanceof QuantRows && head.pieces.length).toBeGreaterThan(1);
      expect(params.embed instanceof QuantRows).toBe(!c.plus);

      setNonZeroLora(params, w, TARGETS, 7);
      const rng = new Rng(5);
      const tokens = Array.from({ length: T }, () => rng.int(VOCAB));
      const labels = tokens.map((t, i) => (i % 13 === 2 ? -100 : t));
      const ref = refLossAndGrads(cfg, w, tokens, labels);
      const model = new LlamaModel(rt, params, { checkpointing: true });
      const loss = await model.forwardBackward(
        { ids: Uint32Array.from(tokens), labels: nextTokenLabels(tokens, labels) },
        { pattern: 's2', group: cfg.group, ropeFactor: 1 },
      );
      expect(Math.abs(loss - ref.loss) / ref.loss).toBeLessThan(2e-3);
      const expected = expectedGradients(ref.grads, { targets: TARGETS, trainEmbed: c.plus });
      expect(await gradientErrors(rt, params, expected, 2e-3)).toEqual([]);
      model.destroy();
      params.destroy();
      expect(rt.liveTensors).toBe(0);
    });
  }
});
