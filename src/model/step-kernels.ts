/**
 * The kernels a training step of a model launches, family by family, as the registry
 * (engine/kernels/registry.ts) and the tuning choices decide them on this adapter: what `longlora
 * tune --json` and the studio's GPU panel list. The same rules the launchers apply, read at the
 * model's shapes (a GPU test compares them with the dispatches of a real step).
 */
import { cachedChoice } from '../engine/kernels/autotune.ts';
import { crossEntropyChunk, outputLinearOk } from '../engine/kernels/cross_entropy.ts';
import { linearTuneKey, variantSupported } from '../engine/kernels/matmul.ts';
import { attentionTuneKey, resolveAttentionVariant } from '../engine/kernels/attention.ts';
import {
  ATTENTION,
  chooseVariant,
  CROSS_ENTROPY,
  CROSS_ENTROPY_BACKWARD,
  GRADNORM,
  LORA,
  MATMUL,
  MATMUL_QUANT,
  RMSNORM,
  type CrossEntropyBackwardShape,
  type KernelChoice,
  type KernelFamily,
  type MatmulVariant,
} from '../engine/kernels/registry.ts';
import { blockBytesLimit, blockRowCount } from '../engine/row-blocks.ts';
import type { Runtime } from '../engine/runtime.ts';
import { tokenBlocks } from './activations.ts';
import {
  defaultAttentionPass,
  linearLaunches,
  quantLaunches,
  type AttentionPass,
  type TuneChoice,
  type TuneModel,
} from './tune.ts';
import {
  quantLinearTuneKey,
  resolveQuantVariant,
  type QuantMatmulVariant,
} from '../engine/kernels/matmul-quant.ts';

/** The shader file a quantized launch runs (its variant's forward or input-gradient kernel). */
function quantFile(c: { choice: string; op: string }): string {
  const v = MATMUL_QUANT.variants[c.choice as QuantMatmulVariant];
  return c.op === 'forward' ? v.files.forward : v.files.backward_input;
}

/**
 * Every family a training step of `model` at T tokens launches on this adapter, with the variant
 * it runs: matmul one entry per variant (and source) with its count of shape classes — from
 * `matmul` (a tuning pass's choices) or else the cache and the default rule, as the launchers
 * resolve them — then attention (run as `attention`, by default the training default: the tuned
 * choice for that shape, else the rule), cross_entropy, cross_entropy.backward (the output layer's
 * backward products the cross-entropy kernels run), lora (weight gradients, where LoRA targets
 * exist), rmsnorm and gradnorm.
 */
export function stepKernels(
  rt: Runtime,
  model: TuneModel,
  T: number,
  matmul?: readonly Pick<
    TuneChoice,
    'family' | 'choice' | 'source' | 'op' | 'dtype' | 'M' | 'N' | 'K'
  >[],
  attention: AttentionPass = defaultAttentionPass(T),
): KernelChoice[] {
  const a = rt.info;
  const s = model.shape;
  const out: KernelChoice[] = [];
  const add = (family: KernelFamily, variant: string, files: string[]) => {
    const had = out.find((c) => c.family === family && c.variant === variant);
    if (had) had.files = [...new Set([...had.files, ...files])];
    else out.push({ family, variant, files, source: 'default' });
  };

  // matmul: per shape class, as resolveVariant picks at launch.
  const classes = matmul ?? [
    ...linearLaunches(rt, model, T).map((l) => {
      const hit = cachedChoice(linearTuneKey(rt, l.op, l.dtype, l.M, l.N, l.K)) as
        MatmulVariant | undefined;
      const tuned = hit !== undefined && variantSupported(rt, hit, l.op, l.dtype, l.M, l.N, l.K);
      return {
        ...l,
        family: 'matmul' as const,
        choice: tuned ? hit : MATMUL.pick(a, l),
        source: tuned ? ('memory' as const) : ('default' as const),
      };
    }),
    // The quantized products of frozen weights kept in blocks, as resolveQuantVariant picks.
    ...quantLaunches(rt, model, T).map((l) => {
      const s = { op: l.op, quant: l.dtype, M: l.M, N: l.N, K: l.K };
      const hit = cachedChoice(quantLinearTuneKey(rt, s));
      const choice = resolveQuantVariant(rt, s);
      return {
        ...l,
        family: 'matmul.quant' as const,
        choice,
        source: hit === choice ? ('memory' as const) : ('default' as const),
      };
    }),
  ];
  const matmuls = new Map<string, KernelChoice>();
  for (const c of classes) {
    const source = c.source === 'default' ? 'default' : 'tuned';
    const key = `${c.family} ${c.choice} ${source}`;
    const had = matmuls.get(key);
    if (had) {
      had.classes! += 1;
      if (c.family === 'matmul.quant') had.files = [...new Set([...had.files, quantFile(c)])];
    } else if (c.family === 'matmul.quant') {
      const files = [quantFile(c)];
      matmuls.set(key, { family: 'matmul.quant', variant: c.choice, files, source, classes: 1 });
    } else {
      const files = [MATMUL.variants[c.choice as MatmulVariant].files['']];
      matmuls.set(key, { family: 'matmul', variant: c.choice, files, source, classes: 1 });
    }
  }
  out.push(...matmuls.values());

  // attention: as resolveAttentionVariant picks at launch.
  const att = { Tq: T, Tk: T, H: s.heads, KV: s.kvHeads, hd: s.headDim, ...attention };
  const av = resolveAttentionVariant(rt, att);
  out.push({
    family: 'attention',
    variant: av,
    files: Object.values(ATTENTION.variants[av].files),
    source: cachedChoice(attentionTuneKey(rt, att)) === av ? 'tuned' : 'default',
  });

  // The output layer: logits through the linear launchers where W is whole and aligned (the
  // cross-entropy kernels otherwise), then the softmax and the loss sum.
  const V = s.vocabSize;
  const D = s.hidden;
  const limit = blockBytesLimit(a.limits);
  // A quantized output layer's products run in the quantized launchers (the matmul.quant family).
  const od = model.outputDtype === 'quant' ? null : model.outputDtype;
  const perBlock = od ? blockRowCount(V, D, od, limit) : V;
  const w = od && { whole: perBlock >= V, dtype: od };
  const chunks = [...new Set(tokenBlocks(T, crossEntropyChunk(rt, T, V)).map(([, n]) => n))];
  const ce = chooseVariant(CROSS_ENTROPY, a, {});
  const ceFiles = CROSS_ENTROPY.variants[ce].files;
  const ownLogits = !!w && chunks.some((M) => !outputLinearOk(rt, 'auto', w, 'forward', M, V, D));
  add('cross_entropy', ce, [
    ...(ownLogits ? [ceFiles.logits] : []),
    ceFiles.softmax,
    ceFiles.loss_sum,
  ]);

  // Its backward products where the cross-entropy kernels run them: dHidden unless the linear
  // launchers take it, dW (per row block of the embedding's f32 gradient) when the output trains.
  const back = (
    product: CrossEntropyBackwardShape['product'],
    dtype: CrossEntropyBackwardShape['dtype'],
    rows: number,
  ) => {
    const spans: [number, number][] = [];
    for (let r0 = 0; r0 < V; r0 += rows) spans.push([r0, Math.min(rows, V - r0)]);
    for (const [row0, n] of spans) {
      const shape = { product, dtype, D, V, row0, rows: n, forward: ce, scalar: false };
      const v = chooseVariant(CROSS_ENTROPY_BACKWARD, a, shape);
      add('cross_entropy.backward', v, [CROSS_ENTROPY_BACKWARD.variants[v].files[product]]);
    }
  };
  if (od && w && chunks.some((M) => !outputLinearOk(rt, 'auto', w, 'backwardInput', M, D, V)))
    back('dhidden', od, perBlock);
  if (model.outputTrainable) back('dweight', 'f32', blockRowCount(V, D, 'f32', limit));

  if (model.lora.rank > 0 && model.lora.targets.length > 0) {
    const v = chooseVariant(LORA, a, {});
    add('lora', v, [LORA.variants[v].files.weightgrad]);
  }
  const norm = chooseVariant(RMSNORM, a, {});
  add('rmsnorm', norm, Object.values(RMSNORM.variants[norm].files));
  const gn = chooseVariant(GRADNORM, a, {});
  add('gradnorm', gn, [GRADNORM.variants[gn].files.partial]);
  return out;
}
