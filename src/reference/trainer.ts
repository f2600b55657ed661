/**
 * Float64 reference of the training loop in src/train/trainer.ts, written again in plain TypeScript
 * on the reference model (refLossAndGrads): micro-batches of one block whose gradients are summed
 * over `gradAccum`, the loss and gradient norm of their mean, global-norm clipping
 * (coefficient min(1, clip / (norm + 1e-6))), linear warmup then a constant or cosine learning rate,
 * and AdamW with bias correction and decoupled weight decay on the LoRA matrices only. Blocks are
 * taken in file order or shuffled per epoch by the same seeded generator as the trainer.
 */
import { linearPath, type LinearName } from '../io/config.ts';
import { IGNORE_INDEX } from '../util/labels.ts';
import { Rng } from '../util/rng.ts';
import { refLossAndGrads, type RefConfig, type RefGrads, type RefWeights } from './llama.ts';
import { adamwStep } from './optimizer.ts';

export interface RefTrainSettings {
  lr: number;
  warmup: number;
  schedule: 'constant' | 'cosine';
  steps: number;
  gradAccum: number;
  /** Global gradient-norm clip (0 = off). */
  clip: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  trainEmbed: boolean;
  trainNorm: boolean;
  order: 'sequential' | 'shuffled';
  seed: number;
}

/** A block as src/train cuts it: labels[t] is the target of position t (−100: none). */
export interface RefBlock {
  ids: ArrayLike<number>;
  labels: ArrayLike<number>;
}

export interface RefStepRecord {
  step: number;
  loss: number;
  gradNorm: number;
  lr: number;
}

/** One trained tensor of the reference: its parameter, where its gradient is, and its moments. */
export interface RefTrainable {
  name: string;
  param: Float64Array;
  grad: (g: RefGrads) => Float64Array;
  decay: boolean;
}

/** The learning rate at optimizer step `step` (1-based): linear warmup, then constant or cosine. */
export function refLearningRate(s: RefTrainSettings, step: number): number {
  if (s.warmup > 0 && step <= s.warmup) return (s.lr * step) / s.warmup;
  if (s.schedule === 'constant') return s.lr;
  const t = Math.min(1, (step - s.warmup) / Math.max(1, s.steps - s.warmup));
  return (s.lr * (1 + Math.cos(Math.PI * t))) / 2;
}

/**
 * The tensors training changes, by their Hugging Face names: the embedding (when trained; tied or
 * not, lm_head stays frozen), each layer's two norms and the final norm (when trained), and the
 * LoRA A and B of every target.
 */
export function refTrainables(
  cfg: RefConfig,
  w: RefWeights,
  o: { trainEmbed: boolean; trainNorm: boolean },
): RefTrainable[] {
  const out: RefTrainable[] = [];
  if (o.trainEmbed)
    out.push({
      name: 'model.embed_tokens.weight',
      param: w.embed,
      grad: (g) => g.embed,
      decay: false,
    });
  w.layers.forEach((l, i) => {
    if (o.trainNorm) {
      out.push({
        name: `model.layers.${i}.input_layernorm.weight`,
        param: l.inputNorm,
        grad: (g) => g.layers[i]!.inputNorm,
        decay: false,
      });
      out.push({
        name: `model.layers.${i}.post_attention_layernorm.weight`,
        param: l.postNorm,
        grad: (g) => g.layers[i]!.postNorm,
        decay: false,
      });
    }
    for (const t of cfg.loraTargets) {
      for (const which of ['A', 'B'] as const) {
        out.push({
          name: `model.layers.${i}.${linearPath(t as LinearName)}.lora_${which}.weight`,
          param: l.lora[t]![which],
          grad: (g) => g.layers[i]!.lora[t]![which],
          decay: true,
        });
      }
    }
  });
  if (o.trainNorm)
    out.push({ name: 'model.norm.weight', param: w.norm, grad: (g) => g.norm, decay: false });
  return out;
}

/** The order of the blocks for one epoch: 0..n−1, or Fisher–Yates shuffled by `rng`. */
function epochOrder(n: number, s: RefTrainSettings, rng: Rng): number[] {
  const a = Array.from({ length: n }, (_, i) => i);
  if (s.order === 'sequential') return a;
  for (let i = a.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

/**
 * Trains `w` in place for `s.steps` optimizer steps on `blocks` and returns each step's record. The
 * model's pattern, group and RoPE factor are `cfg`'s.
 */
export function refTrain(
  cfg: RefConfig,
  w: RefWeights,
  blocks: readonly RefBlock[],
  s: RefTrainSettings,
): RefStepRecord[] {
  if (blocks.length === 0) throw new Error('no training blocks');
  const trainables = refTrainables(cfg, w, s);
  const moments = trainables.map((t) => ({
    m: new Float64Array(t.param.length),
    v: new Float64Array(t.param.length),
  }));
  const rng = new Rng(s.seed);
  let order = epochOrder(blocks.length, s, rng);
  let index = 0;
  const records: RefStepRecord[] = [];
  for (let step = 1; step <= s.steps; step++) {
    const sums = trainables.map((t) => new Float64Array(t.param.length));
    let lossSum = 0;
    for (let k = 0; k < s.gradAccum; k++) {
      if (index >= order.length) {
        order = epochOrder(blocks.length, s, rng);
        index = 0;
      }
      const b = blocks[order[index++]!]!;
      const N = b.ids.length;
      if (b.labels[N - 1] !== IGNORE_INDEX)
        throw new Error('the last position of a block has no next token: its label must be −100');
      // The reference takes Hugging Face labels (position t is scored against labels[t + 1]).
      const hf = Array.from({ length: N }, (_, t) => (t === 0 ? IGNORE_INDEX : b.labels[t - 1]!));
      const r = refLossAndGrads(cfg, w, Array.from(b.ids), hf);
      lossSum += r.loss;
      trainables.forEach((t, i) => {
        const g = t.grad(r.grads);
        const acc = sums[i]!;
        for (let e = 0; e < acc.length; e++) acc[e]! += g[e]!;
      });
    }
    let sq = 0;
    for (const acc of sums) for (const x of acc) sq += x * x;
    const gradNorm = Math.sqrt(sq) / s.gradAccum;
    const clipCoef = s.clip > 0 ? Math.min(1, s.clip / (gradNorm + 1e-6)) : 1;
    const lr = refLearningRate(s, step);
    trainables.forEach((t, i) => {
      adamwStep(t.param, sums[i]!, moments[i]!.m, moments[i]!.v, t.param.length, {
        lr,
        beta1: s.beta1,
        beta2: s.beta2,
        eps: s.eps,
        weightDecay: t.decay ? s.weightDecay : 0,
        step,
        gradScale: clipCoef / s.gradAccum,
      });
    });
    records.push({ step, loss: lossSum / s.gradAccum, gradNorm, lr });
  }
  return records;
}
