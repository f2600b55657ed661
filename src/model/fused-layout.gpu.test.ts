/**
 * A new architecture that only fuses and renames tensors is one description: the same weights stored
 * as Phi-3 stores them (q/k/v in one qkv_proj with its bias, gate/up in one gate_up_proj) under other
 * names (src/test/fused-arch.ts) load through that description alone and give the Llama layout's
 * loss and every LoRA+ gradient exactly, with the trainables under the description's names.
 */
import { describe, expect, it } from 'vitest';
import { randomRefModel, type RefConfig } from '../reference/llama.ts';
import { FUSED, fusedWeightSource } from '../test/fused-arch.ts';
import { testRuntime } from '../test/gpu.ts';
import { nextTokenLabels, refWeightSource, shapeOfRef } from '../test/parity.ts';
import { Rng } from '../util/rng.ts';
import { LlamaModel } from './llama.ts';
import { LlamaParams, type WeightSource } from './params.ts';
import type { LinearName } from './types.ts';

const N = 16;
/** A fused tensor's parts are no LoRA targets (PEFT adapts the fused module as one). */
const TARGETS: LinearName[] = ['o_proj', 'down_proj'];

/** Qwen-like: q/k/v biases (one fused bias here), per-head q/k norms, untied output layer. */
const CFG: RefConfig = {
  vocab: 37,
  hidden: 16,
  intermediate: 24,
  layers: 2,
  heads: 4,
  kvHeads: 2,
  headDim: 4,
  rmsEps: 1e-6,
  ropeTheta: 10000,
  ropeFactor: 1,
  pattern: 'full',
  group: N,
  loraTargets: TARGETS,
  rank: 2,
  alpha: 4,
  tied: false,
  biases: ['q_proj', 'k_proj', 'v_proj'],
  qkNorm: true,
};

async function run(
  src: (shape: ReturnType<typeof shapeOfRef>) => Promise<WeightSource>,
  fused: boolean,
) {
  const rt = await testRuntime();
  const shape = shapeOfRef(CFG);
  const lora = { rank: 2, alpha: 4, targets: TARGETS, trainEmbed: true, trainNorm: true };
  const params = await LlamaParams.load(rt, shape, lora, await src(shape), 1, undefined, {
    optimizerState: false,
    ...(fused ? { arch: FUSED } : {}),
  });
  // Non-zero LoRA B (A's gradients are zero while B is), the same in both layouts' trainable order.
  params.trainables.forEach((t, i) => {
    if (t.name.includes('.lora_B'))
      params.setTrainable(t.name, new Rng(7 + i).floats(t.size, -0.5, 0.5));
  });
  const rng = new Rng(4);
  const tokens = Array.from({ length: N }, () => rng.int(CFG.vocab));
  const model = new LlamaModel(rt, params, { checkpointing: true });
  const loss = await model.forwardBackward(
    { ids: Uint32Array.from(tokens), labels: nextTokenLabels(tokens, tokens) },
    { pattern: 'full', group: N, ropeFactor: 1 },
  );
  const grads: [string, Float32Array][] = [];
  for (const t of params.trainables) grads.push([t.name, await rt.read(t.grad)]);
  model.destroy();
  params.destroy();
  expect(rt.liveTensors).toBe(0);
  return { loss, grads };
}

describe('a fused, renamed layout described once', () => {
  it('loads the same model: the same loss and LoRA+ gradients, under its own names', async () => {
    const w = randomRefModel(CFG, 31);
    const llama = (shape: ReturnType<typeof shapeOfRef>) =>
      Promise.resolve(refWeightSource(shape, w, 'F32'));
    const plain = await run(llama, false);
    const fused = await run(async (shape) => fusedWeightSource(shape, await llama(shape)), true);
    expect(Number.isFinite(plain.loss)).toBe(true);
    expect(fused.loss).toBe(plain.loss);
    expect(fused.grads.map(([n]) => n).slice(0, 8)).toEqual([
      'transformer.wte.weight',
      'transformer.h.0.ln_1.weight',
      'transformer.h.0.ln_2.weight',
      'transformer.h.0.attn.q_ln.weight',
      'transformer.h.0.attn.k_ln.weight',
      'transformer.h.0.attn.out.lora_A.weight',
      'transformer.h.0.attn.out.lora_B.weight',
      'transformer.h.0.mlp.down.lora_A.weight',
    ]);
    expect(fused.grads.length).toBe(plain.grads.length);
    fused.grads.forEach(([name, g], i) => {
      const [plainName, want] = plain.grads[i]!;
      expect(g, `${name} (${plainName})`).toEqual(want);
    });
    // The gradients are not all zero (the comparison above would then say nothing).
    expect(plain.grads.every(([, g]) => g.some((x) => x !== 0))).toBe(true);
  }, 600_000);
});
