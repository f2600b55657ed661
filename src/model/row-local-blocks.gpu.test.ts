/**
 * The row-local ops in token blocks: a runtime that binds 32 KiB (but allocates more) runs a
 * 200-token step of a model with hidden 64 — every [200, 64] f32 buffer (the residual stream, the
 * norm outputs, hMid, dResid, dXn, dHn: 50 KiB) is larger than a binding, so the norms, q/k/v/o
 * and their LoRA, RoPE, the residual adds, the 16-bit checkpoint pack/unpack, the embedding lookup
 * and the output layer's hidden input run on row views of 128 and 72 tokens. With 16 KiB bindings
 * and 4 heads, q/o [200, 64] and k/v [200, 32] are split too: attention runs in 4 query blocks and 2
 * key blocks (forward merged by log-sum-exp, backward accumulated over blocks). Loss and every
 * trainable gradient match the float64 reference (s2, s2roll and full; tied and untied; f32
 * checkpoints, 16-bit checkpoints, no checkpointing), KV-cache decoding still matches, and the memory
 * plan equals the allocation, its largest binding one 128-token view.
 */
import { describe, expect, it } from 'vitest';
import { randomRefModel, refLossAndGrads, type RefConfig } from '../reference/llama.ts';
import {
  cappedRuntimes,
  expectedGradients,
  gradientErrors,
  nextTokenLabels,
  refWeightSource,
  setNonZeroLora,
  shapeOfRef,
  expectDecodeMatchesReference,
} from '../test/parity.ts';
import { Rng } from '../util/rng.ts';
import { rowBlockTokens } from './activations.ts';
import { KvCache } from './kv-cache.ts';
import { LlamaModel } from './llama.ts';
import { LlamaParams } from './params.ts';
import { planTraining } from './plan.ts';
import { LINEAR_NAMES, type AttentionPattern, type LinearName } from './types.ts';

const ALL: LinearName[] = [...LINEAR_NAMES];
const T = 200;

/** A binding cap (buffers up to 1 MiB unless maxBuffer says less) and the model shape it splits. */
interface Setup {
  name: string;
  cap: number;
  /** maxBufferSize; default 1 MiB. */
  maxBuffer?: number;
  /** The plan's largest allocation; default one whole [200, 64] f32 layer input. */
  allocation?: { name: string; bytes: number };
  intermediate: number;
  heads: number;
  kvHeads: number;
  /** Tokens per row-local block, and the plan's largest binding. */
  rowBlock: number;
  largest: { name: string; bytes: number };
}

const SETUPS: Setup[] = [
  {
    // q/o [200, 32] and k/v [200, 16] f32 (25 and 12.5 KiB) fit a binding whole; [200, 64] does not.
    name: 'row-local ops in token blocks, attention whole (32 KiB bindings)',
    cap: 32 * 1024,
    intermediate: 96,
    heads: 2,
    kvHeads: 1,
    rowBlock: 128,
    largest: { name: 'per-token activations (one of 2 token blocks)', bytes: 128 * 64 * 4 },
  },
  {
    // q/o [200, 64] (50 KiB) in 4 query blocks of 64 rows, k/v [200, 32] in 2 key blocks of 128.
    name: 'row-local ops and attention in query and key blocks (16 KiB bindings)',
    cap: 16 * 1024,
    intermediate: 64,
    heads: 4,
    kvHeads: 2,
    rowBlock: 64,
    // Row views, query-block views and the embedding's row blocks all bind 16 KiB; the first named
    // of them is the plan's largest.
    largest: { name: 'embed_tokens (one of 2 blocks)', bytes: 16 * 1024 },
  },
  {
    // As above with buffers of at most 16 KiB too: every [200, 64] f32 buffer is stored in 4 parts
    // of 64 tokens, k/v [200, 32] (and the KV cache) and the 16-bit checkpoints in 2 of 128.
    name: 'per-token buffers stored in parts (16 KiB buffers and bindings)',
    cap: 16 * 1024,
    maxBuffer: 16 * 1024,
    intermediate: 64,
    heads: 4,
    kvHeads: 2,
    rowBlock: 64,
    largest: { name: 'embed_tokens (one of 2 blocks)', bytes: 16 * 1024 },
    allocation: { name: 'embed_tokens (one of 2 blocks)', bytes: 16 * 1024 },
  },
];

function baseConfig(tied: boolean, pattern: AttentionPattern, setup: Setup): RefConfig {
  return {
    vocab: 96,
    hidden: 64,
    intermediate: setup.intermediate,
    layers: 2,
    heads: setup.heads,
    kvHeads: setup.kvHeads,
    headDim: 16,
    rmsEps: 1e-5,
    ropeTheta: 10000,
    ropeFactor: 2,
    tied,
    pattern,
    group: 40,
    loraTargets: ALL,
    rank: 4,
    alpha: 8,
  };
}

interface Case {
  tied: boolean;
  pattern: AttentionPattern;
  checkpointing: boolean;
  checkpoint16: boolean;
  trainEmbed: boolean;
}

const cases: Case[] = [
  { tied: true, pattern: 's2', checkpointing: true, checkpoint16: false, trainEmbed: true },
  { tied: false, pattern: 's2roll', checkpointing: true, checkpoint16: false, trainEmbed: true },
  { tied: false, pattern: 'full', checkpointing: false, checkpoint16: false, trainEmbed: false },
  { tied: true, pattern: 's2roll', checkpointing: true, checkpoint16: true, trainEmbed: true },
];

describe.each(SETUPS)('$name vs the float64 reference', (setup) => {
  const runtimeFor = cappedRuntimes();
  const CAPS = {
    maxStorageBufferBindingSize: setup.cap,
    maxBufferSize: setup.maxBuffer ?? 1 << 20,
  };
  const runtime = () => runtimeFor(CAPS);
  const refConfig = (tied: boolean, pattern: AttentionPattern) => baseConfig(tied, pattern, setup);

  it(`picks ${setup.rowBlock}-token blocks for [200, 64] f32`, () => {
    const shape = shapeOfRef(refConfig(true, 's2'));
    expect(rowBlockTokens(shape, T, setup.cap)).toBe(setup.rowBlock);
    expect(rowBlockTokens(shape, T, T * 64 * 4)).toBe(T);
    expect(() => rowBlockTokens(shape, T, 63 * 64 * 4)).toThrow(/per-token activations/);
  });

  for (const c of cases) {
    const name =
      `${c.pattern}, ${c.tied ? 'tied' : 'untied'}, ` +
      (c.checkpointing
        ? c.checkpoint16
          ? '16-bit checkpoints'
          : 'checkpointing'
        : 'no checkpointing');
    it(`loss and every trainable gradient match: ${name}`, async () => {
      const rt = await runtime();
      const refCfg: RefConfig = {
        ...refConfig(c.tied, c.pattern),
        ...(c.checkpoint16 ? { checkpointRound: 'f16' as const } : {}),
      };
      const w = randomRefModel(refCfg, 23);
      const shape = shapeOfRef(refCfg);
      const lora = { rank: 4, alpha: 8, targets: ALL, trainEmbed: c.trainEmbed, trainNorm: true };
      const params = await LlamaParams.load(rt, shape, lora, refWeightSource(shape, w, 'F32'), 1);
      setNonZeroLora(params, w, ALL, 1);
      const rng = new Rng(4);
      const tokens = Array.from({ length: T }, () => rng.int(refCfg.vocab));
      const labels = tokens.map((t, i) => (i % 41 === 3 ? -100 : t));
      const ref = refLossAndGrads(refCfg, w, tokens, labels);
      const model = new LlamaModel(rt, params, {
        checkpointing: c.checkpointing,
        checkpoint16: c.checkpoint16,
      });
      const pass = { pattern: c.pattern, group: refCfg.group, ropeFactor: 2 };
      const ids = Uint32Array.from(tokens);
      // Which per-token buffers the step stores in parts (past the maxBufferSize cap).
      const parts = new Map<string, number>();
      const rowsTensor = rt.rowsTensor.bind(rt);
      rt.rowsTensor = (...args) => {
        const t = rowsTensor(...args);
        if (t.split) parts.set(t.label, t.parts.length);
        return t;
      };
      const loss = await model
        .forwardBackward({ ids, labels: nextTokenLabels(tokens, labels) }, pass)
        .finally(() => {
          rt.rowsTensor = rowsTensor;
        });
      if (setup.maxBuffer) {
        // dq, d(final norm) and the final norm's output share hMid, dXn and xn1 (activations.ts).
        for (const label of ['h0', 'xn1', 'q', 'attn', 'hMid', 'dResid', 'dXn'])
          expect(parts.get(label), label).toBe(4);
        for (const label of ['k', 'v', 'dk', 'dv']) expect(parts.get(label), label).toBe(2);
        if (c.checkpoint16) expect(parts.get('h0 f16')).toBe(2);
      } else {
        expect(parts.size).toBe(0);
      }
      expect(Math.abs(loss - ref.loss) / ref.loss).toBeLessThan(1e-3);
      const expected = expectedGradients(ref.grads, { targets: ALL, trainEmbed: c.trainEmbed });
      expect(await gradientErrors(rt, params, expected, 1e-3)).toEqual([]);
      model.destroy();
      params.destroy();
      expect(rt.liveTensors).toBe(0);
    });
  }

  for (const checkpointing of [true, false]) {
    it(`the memory plan equals the allocation; its largest binding is one token block's view (checkpointing ${checkpointing ? 'on' : 'off'})`, async () => {
      const rt = await runtime();
      const before = rt.memory.snapshot().current;
      const refCfg = refConfig(false, 's2');
      const shape = shapeOfRef(refCfg);
      const lora = { rank: 4, alpha: 8, targets: ALL, trainEmbed: true, trainNorm: true };
      const src = refWeightSource(shape, randomRefModel(refCfg, 1), 'BF16');
      const params = await LlamaParams.load(rt, shape, lora, src, 1);
      const model = new LlamaModel(rt, params, { checkpointing });
      const ids = Uint32Array.from({ length: T }, (_, i) => (i * 37) % refCfg.vocab);
      await model.forwardBackward(
        { ids, labels: Int32Array.from(ids) },
        { pattern: 's2', group: refCfg.group, ropeFactor: 2 },
      );
      const used = rt.memory.snapshot().current;
      const plan = planTraining({
        shape,
        weightBytes: 2,
        lora,
        context: T,
        checkpointing,
        limits: rt.info.limits,
      });
      for (const k of ['weights', 'lora', 'gradients', 'optimizer', 'activations'] as const) {
        expect(used[k] - before[k], k).toBe(plan.bytes[k]);
      }
      expect(used.workspace - before.workspace).toBeLessThanOrEqual(plan.bytes.workspace);
      expect(plan.largestBuffer).toEqual(setup.largest);
      expect(plan.largestAllocation).toEqual(
        setup.allocation ?? { name: 'layer input', bytes: T * 64 * 4 },
      );
      model.destroy();
      params.destroy();
      expect(rt.liveTensors).toBe(0);
    });
  }

  for (const tied of [true, false]) {
    it(`KV-cache decoding: a ${T}-token prefill in row blocks and the steps after it match (${tied ? 'tied' : 'untied'})`, async () => {
      const rt = await runtime();
      const refCfg = { ...refConfig(tied, 'full'), ropeFactor: 1 };
      const w = randomRefModel(refCfg, 6);
      const shape = shapeOfRef(refCfg);
      const lora = { rank: 4, alpha: 8, targets: ALL, trainEmbed: false, trainNorm: true };
      const params = await LlamaParams.load(rt, shape, lora, refWeightSource(shape, w, 'F32'), 1);
      setNonZeroLora(params, w, ALL, 7);
      const model = new LlamaModel(rt, params);
      const rng = new Rng(10);
      const seq = Array.from({ length: T }, () => rng.int(refCfg.vocab));
      const cache = new KvCache(model, T + 3);
      // [203, 32] f32 (25 KiB) is stored in two parts under 16 KiB buffers.
      expect(cache.k[0]!.parts.length).toBe(setup.maxBuffer ? 2 : 1);
      await expectDecodeMatchesReference({
        ...{ model, cache, cfg: refCfg, w, prompt: seq, steps: 3, ropeFactor: 1 },
        next: (step) => (step * 29 + 5) % refCfg.vocab,
      });
      cache.destroy();
      model.destroy();
      params.destroy();
      expect(rt.liveTensors).toBe(0);
    });
  }
});
