import { describe, expect, it } from 'vitest';
import { createNodeRuntime } from '../engine/node-host.ts';
import { openModelPath } from '../io/open-node.ts';
import { refLossAndGrads, type RefConfig, type RefWeights } from '../reference/llama.ts';
import { DEMO_DIR } from '../test/assets-node.ts';
import { relativeError } from '../test/numeric.ts';
import { Rng } from '../util/rng.ts';
import { LlamaModel } from './llama.ts';
import { loraName } from '../io/block.ts';
import { bytesToF32 } from '../io/dtype.ts';
import { loadParams } from './session.ts';
import type { AttentionPattern, LinearName } from './types.ts';

const STORIES = DEMO_DIR;
const TARGETS: LinearName[] = ['q_proj', 'k_proj', 'v_proj', 'o_proj'];

describe('stories260K on the GPU vs the float64 reference (non-zero adapter)', () => {
  for (const pattern of ['s2', 's2roll', 'full'] as AttentionPattern[]) {
    it(`loss and every trainable gradient match with ${pattern}, rope ×2`, async () => {
      const opened = await openModelPath(STORIES);
      const c = opened.config;
      const f64 = async (name: string) => {
        const t = opened.tensors.find((x) => x.name === name)!;
        return Float64Array.from(bytesToF32(await t.read(), t.dtype));
      };
      const N = 64;
      const G = 16;
      const cfg: RefConfig = {
        vocab: c.vocabSize,
        hidden: c.hidden,
        intermediate: c.intermediate,
        layers: c.layers,
        heads: c.heads,
        kvHeads: c.kvHeads,
        headDim: c.headDim,
        rmsEps: c.rmsEps,
        ropeTheta: c.ropeTheta,
        ropeFactor: 2,
        tied: true,
        pattern,
        group: G,
        loraTargets: TARGETS,
        rank: 4,
        alpha: 8,
      };
      const rng = new Rng(17);
      const layers = [];
      for (let i = 0; i < c.layers; i++) {
        const p = `model.layers.${i}.`;
        const lora: RefWeights['layers'][number]['lora'] = {};
        for (const n of TARGETS) {
          const [out, inF] = n === 'q_proj' || n === 'o_proj' ? [64, 64] : [32, 64];
          lora[n] = {
            A: Float64Array.from(rng.floats(4 * inF, -0.1, 0.1)),
            B: Float64Array.from(rng.floats(out * 4, -0.1, 0.1)),
          };
        }
        layers.push({
          inputNorm: await f64(`${p}input_layernorm.weight`),
          postNorm: await f64(`${p}post_attention_layernorm.weight`),
          q: await f64(`${p}self_attn.q_proj.weight`),
          k: await f64(`${p}self_attn.k_proj.weight`),
          v: await f64(`${p}self_attn.v_proj.weight`),
          o: await f64(`${p}self_attn.o_proj.weight`),
          gate: await f64(`${p}mlp.gate_proj.weight`),
          up: await f64(`${p}mlp.up_proj.weight`),
          down: await f64(`${p}mlp.down_proj.weight`),
          lora,
        });
      }
      const w: RefWeights = {
        embed: await f64('model.embed_tokens.weight'),
        norm: await f64('model.norm.weight'),
        layers,
      };
      const tokens = Array.from({ length: N }, (_, i) => (i * 97 + 13) % c.vocabSize);
      tokens[0] = 1;
      const ref = refLossAndGrads(cfg, w, tokens);

      const rt = await createNodeRuntime();
      const params = await loadParams(
        rt,
        opened,
        { rank: 4, alpha: 8, targets: TARGETS, trainEmbed: true, trainNorm: true },
        0,
      );
      w.layers.forEach((l, i) => {
        for (const n of TARGETS) {
          params.setTrainable(loraName(i, n, 'A'), Float32Array.from(l.lora[n]!.A));
          params.setTrainable(loraName(i, n, 'B'), Float32Array.from(l.lora[n]!.B));
        }
      });
      const model = new LlamaModel(rt, params);
      const ids = Uint32Array.from(tokens);
      const labels = Int32Array.from(tokens, (_, t) => (t + 1 < N ? tokens[t + 1]! : -100));
      const loss = await model.forwardBackward(
        { ids, labels },
        { pattern, group: G, ropeFactor: 2 },
      );
      expect(Math.abs(loss - ref.loss) / ref.loss).toBeLessThan(1e-3);

      const expected = new Map<string, Float64Array>([
        ['model.embed_tokens.weight', ref.grads.embed],
        ['model.norm.weight', ref.grads.norm],
      ]);
      ref.grads.layers.forEach((g, i) => {
        expected.set(`model.layers.${i}.input_layernorm.weight`, g.inputNorm);
        expected.set(`model.layers.${i}.post_attention_layernorm.weight`, g.postNorm);
        for (const n of TARGETS) {
          expected.set(loraName(i, n, 'A'), g.lora[n]!.A);
          expected.set(loraName(i, n, 'B'), g.lora[n]!.B);
        }
      });
      const errors: string[] = [];
      let worst = 0;
      for (const t of params.trainables) {
        const err = relativeError(await rt.read(t.grad), expected.get(t.name)!);
        worst = Math.max(worst, err);
        if (!(err < 1e-3)) errors.push(`${t.name}: ${err.toExponential(2)}`);
      }
      console.log(
        `stories260K ${pattern}: loss ${loss.toFixed(6)} vs ${ref.loss.toFixed(6)}, worst gradient error ${worst.toExponential(2)}`,
      );
      expect(errors).toEqual([]);
      model.destroy();
      params.destroy();
      rt.destroy(true);
    });
  }
});
