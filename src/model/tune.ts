/**
 * Kernel autotuning for a loaded model: before a run (or an evaluation) at T tokens, the step's
 * attention (tuneAttention: every variant that runs here, checked against a float64 attention on a
 * small shape, timed forward and backward at the step's shape and pattern) and every matmul shape
 * class the layers will launch — each projection's forward and input gradient at the token blocks
 * the graph runs them in, the LoRA products, and the quantized products of a frozen weight kept in
 * ggml blocks (the matmul.quant family: tuneQuantLinear) — are timed once per adapter (tuneLinear:
 * the eligible variants on random operands, each checked against a float64 dot product) and the
 * choices cached in memory and in the persistent store (setTuneStore: IndexedDB in the studio, a
 * file in the CLI's cache folder). A second load finds every choice in the store and times nothing.
 */
import { blockBytesLimit, blockRowCount } from '../engine/row-blocks.ts';
import { crossEntropyChunk, outputLinearOk } from '../engine/kernels/cross_entropy.ts';
import { knownChoice } from '../engine/kernels/autotune.ts';
import {
  attentionCandidates,
  tuneAttention,
  type AttentionTuneResult,
  type AttentionTuneShape,
} from '../engine/kernels/attention-tune.ts';
import {
  attentionTuneKey,
  attentionVariant,
  type AttentionVariant,
} from '../engine/kernels/attention.ts';
import type { AttentionPattern } from '../util/attention-pattern.ts';
import { attentionProblem, groupSize } from './longlora.ts';
import {
  linearTuneKey,
  resolveVariant,
  tuneCandidates,
  tuneLinear,
  type LinearOp,
  type MatmulVariant,
  type WeightDType,
} from '../engine/kernels/matmul.ts';
import type { Runtime } from '../engine/runtime.ts';
import { archOf } from '../io/arch.ts';
import {
  globalName,
  LINEAR_NAMES,
  linearShape,
  linearSource,
  linearSpec,
  type LinearName,
} from '../io/block.ts';
import { mlpBlockTokens, rowBlockTokens, tokenBlocks } from './activations.ts';
import type { OpenedModel } from '../io/model.ts';
import type { LoraSettings } from './longlora.ts';
import type { LlamaParams } from './params.ts';
import { isQuantWeight } from '../engine/kernels/frozen.ts';
import { quantBlockRowCount, QuantRows } from '../engine/quant-rows.ts';
import {
  quantLinearTuneKey,
  quantTuneCandidates,
  resolveQuantVariant,
  tuneQuantLinear,
  type QuantMatmulVariant,
  type QuantWeightType,
} from '../engine/kernels/matmul-quant.ts';
import { isQuantType, type BaseQuant, type FrozenType } from './base-quant.ts';
import { frozenTypeOf } from './plan.ts';
import type { LlamaShape } from './types.ts';

/** Time bound of a first-use tuning pass before a run (shape classes past it keep defaults). */
export const TUNE_BUDGET_MS = 60_000;

/**
 * The bound on a CPU (software) adapter: its variants differ by less than a GPU's (the registry's
 * defaults there are the measured winners), and each second of timing is a second before the first
 * step — a quantized 135M model's classes took about 70 s to time on SwiftShader.
 */
export const TUNE_BUDGET_SOFTWARE_MS = 15_000;

/** The tuning bound before a run on this adapter. */
export function tuneBudgetMs(rt: Runtime): number {
  return rt.info.isSoftware ? TUNE_BUDGET_SOFTWARE_MS : TUNE_BUDGET_MS;
}

/** One matmul launch shape: C[M, N] = A[M, K] · op(W). */
export interface LinearLaunch {
  op: LinearOp;
  dtype: WeightDType;
  M: number;
  N: number;
  K: number;
  /** What launches it: a linear's name (with " LoRA A" / " LoRA B" for its LoRA products). */
  what: string;
}

/** One quantized matmul launch shape: C[M, N] = A[M, K] · op(W), W in `dtype`'s blocks. */
export interface QuantLaunch extends Omit<LinearLaunch, 'dtype'> {
  dtype: QuantWeightType;
}

/** What one tuned shape class decided (family matmul, or matmul.quant for a quantized W). */
export interface TuneChoice extends Omit<LinearLaunch, 'dtype'> {
  family: 'matmul' | 'matmul.quant';
  dtype: WeightDType | QuantWeightType;
  key: string;
  choice: MatmulVariant | QuantMatmulVariant;
  source: 'timed' | 'memory' | 'store' | 'default';
  /** Median ms per candidate (empty unless timed now). */
  timings: Record<string, number>;
  rejected?: string[];
  /** Candidates left out before timing because their pipeline did not compile here, with why. */
  excluded?: Record<string, string>;
  /** Ms of one run of each candidate at 64 rows, when the class was screened there first. */
  screen?: Record<string, number>;
}

/** How a step runs attention: its pattern and group size (the context for full). */
export interface AttentionPass {
  pattern: AttentionPattern;
  group: number;
}

/** The training default at T tokens: s2 with G = T / 4 where T allows it, else full causal. */
export function defaultAttentionPass(T: number): AttentionPass {
  const group = groupSize(T, 's2');
  return attentionProblem(T, 's2', group)
    ? { pattern: 'full', group: T }
    : { pattern: 's2', group };
}

/** What tuning decided for the step's attention (family attention). */
export interface AttentionTuneChoice extends AttentionTuneResult, AttentionTuneShape {
  family: 'attention';
}

/** A step's tuning: its attention and every matmul shape class. */
export interface StepTuning {
  /** null when the pass left attention out (tuneModelKernels). */
  attention: AttentionTuneChoice | null;
  matmul: TuneChoice[];
}

/** The attention shape of a step of `model` at T tokens run as `pass`. */
export function attentionShapeOf(model: TuneModel, T: number, pass: AttentionPass) {
  const s = model.shape;
  const shape: AttentionTuneShape = { T, H: s.heads, KV: s.kvHeads, hd: s.headDim, ...pass };
  return shape;
}

/** Progress of a tuning pass (the studio's "Tuning kernels for this GPU"). */
export interface TuneProgress {
  done: number;
  total: number;
  /** The shape class being timed now. */
  current?: string;
}

/** Options of tuneModelKernels. */
export interface TuneModelOptions {
  onProgress?: (p: TuneProgress) => void;
  /** Stop timing new shape classes after this many ms (the rest keep their defaults). */
  budgetMs?: number;
  /** Time again even when choices are cached or stored. */
  force?: boolean;
  /** Timed runs per candidate. */
  runs?: number;
  /**
   * The step's attention, tuned first (tuneStepKernels; default defaultAttentionPass(T)); false
   * leaves attention out.
   */
  attention?: AttentionPass | false;
}

/** What a launch list needs of a model: its shape, LoRA rank and targets, each weight's dtype. */
export interface TuneModel {
  shape: LlamaShape;
  lora: Pick<LoraSettings, 'rank' | 'targets'>;
  /**
   * Storage dtype of a linear's frozen weight (layers share it), or 'quant' when the GPU keeps it in
   * ggml blocks (its products go to the quantized launchers, tuned as the matmul.quant family).
   */
  weightDtype: (n: LinearName) => WeightDType | 'quant';
  /** Dtype of the output layer as the GPU holds it (f32 when it is the trainable embedding). */
  outputDtype: WeightDType | 'quant';
  /** The quantized types a linear's frozen weight has over the layers (none when float). */
  quantTypes?: (n: LinearName) => QuantWeightType[];
  /** A quantized output layer: its type and the rows of each of its row blocks. */
  outputQuant?: { type: QuantWeightType; rows: number[] };
  /** The output layer is the trainable embedding (a step computes its gradient dW). */
  outputTrainable: boolean;
}

/** TuneModel of loaded parameters. */
export function tuneModelOf(params: LlamaParams): TuneModel {
  const layer = params.layers[0];
  const head = params.lmHead;
  return {
    quantTypes: (n) => [
      ...new Set(
        params.layers.flatMap((l) => {
          const w = l.w[n];
          return isQuantWeight(w) ? [w.type] : [];
        }),
      ),
    ],
    ...(head instanceof QuantRows && {
      outputQuant: { type: head.type, rows: head.pieces.map((p) => p.rows) },
    }),
    shape: params.shape,
    lora: params.lora,
    weightDtype: (n) => {
      const w = layer?.w[n];
      return w && isQuantWeight(w) ? 'quant' : asWeightDType(w?.dtype ?? 'f32');
    },
    outputDtype: params.lmHead instanceof QuantRows ? 'quant' : asWeightDType(params.lmHead.dtype),
    outputTrainable: params.outputTrainable,
  };
}

/** TuneModel of an opened (not uploaded) model: dtypes from the files, as LlamaParams keeps them. */
export function tuneModelOfOpened(
  m: OpenedModel,
  lora: LoraSettings,
  baseQuant: BaseQuant = 'none',
  limits?: { maxBufferSize: number; maxStorageBufferBindingSize: number },
): TuneModel {
  const dtypes = new Map(m.tensors.map((t) => [t.name, t.dtype as string]));
  const arch = archOf(m.config);
  const s = m.config;
  // As loadParams stores it: a tied output layer is the embedding, f32 when that is trainable;
  // each frozen matrix in the GPU type base-quant.ts's rule gives it.
  const type = frozenTypeOf(m, baseQuant);
  const tied = s.tieWordEmbeddings || !dtypes.has(globalName(arch, 'lmHead'));
  const head = globalName(arch, tied ? 'embed' : 'lmHead');
  const headType = tied && lora.trainEmbed ? 'f32' : type(head, s.hidden);
  const linearTypes = (n: LinearName) =>
    Array.from({ length: s.layers }, (_, i) =>
      type(linearSource(arch, s, i, n).name, linearShape(s, n)[1]),
    );
  const quantOf = (t: FrozenType[]) => [
    ...new Set(t.filter((x): x is QuantWeightType => isQuantType(x))),
  ];
  let outputQuant: TuneModel['outputQuant'];
  if (isQuantType(headType)) {
    const max = limits ? blockBytesLimit(limits) : Infinity;
    const per = Number.isFinite(max)
      ? quantBlockRowCount(headType, s.vocabSize, s.hidden, max)
      : s.vocabSize;
    const rows: number[] = [];
    for (let r0 = 0; r0 < s.vocabSize; r0 += per) rows.push(Math.min(per, s.vocabSize - r0));
    outputQuant = { type: headType, rows };
  }
  return {
    shape: s,
    lora,
    weightDtype: (n) => {
      const t = linearTypes(n)[0] ?? 'f32';
      return isQuantType(t) ? 'quant' : asWeightDType(t);
    },
    quantTypes: (n) => quantOf(linearTypes(n)),
    outputDtype: isQuantType(headType) ? 'quant' : asWeightDType(headType),
    ...(outputQuant && { outputQuant }),
    outputTrainable: tied && lora.trainEmbed,
  };
}

/**
 * Every quantized matmul shape one training step launches (the frozen projections kept in blocks
 * and a quantized output layer's row blocks, forward and input gradient), one entry per tuning key.
 */
export function quantLaunches(rt: Runtime, model: TuneModel, T: number): QuantLaunch[] {
  const s = model.shape;
  const sizes = stepTokenSizes(rt, s, T);
  const out: QuantLaunch[] = [];
  for (const n of LINEAR_NAMES) {
    const [outF, inF] = linearShape(s, n);
    for (const dtype of model.quantTypes?.(n) ?? []) {
      for (const M of sizes[linearSpec(n).sublayer === 'mlp' ? 'mlp' : 'row']) {
        out.push({ op: 'forward', dtype, M, N: outF, K: inF, what: n });
        out.push({ op: 'backwardInput', dtype, M, N: inF, K: outF, what: n });
      }
    }
  }
  const q = model.outputQuant;
  if (q) {
    const D = s.hidden;
    for (const M of sizes.output) {
      for (const rows of new Set(q.rows)) {
        out.push({ op: 'forward', dtype: q.type, M, N: rows, K: D, what: 'output layer' });
        out.push({ op: 'backwardInput', dtype: q.type, M, N: D, K: rows, what: 'output layer' });
      }
    }
  }
  return perClass(out, (l) =>
    quantLinearTuneKey(rt, { op: l.op, quant: l.dtype, M: l.M, N: l.N, K: l.K }),
  );
}

/**
 * The token counts a step runs its products at: q/k/v/o in row blocks, gate/up/down in MLP blocks
 * (the blocks llama.ts runs them in), the output layer in cross-entropy chunks.
 */
function stepTokenSizes(
  rt: Runtime,
  s: LlamaShape,
  T: number,
): Record<'row' | 'mlp' | 'output', Set<number>> {
  const limit = blockBytesLimit(rt.info.limits);
  const counts = (blocks: [number, number][]) => new Set(blocks.map(([, n]) => n));
  return {
    row: counts(tokenBlocks(T, rowBlockTokens(s, T, limit))),
    mlp: counts(tokenBlocks(T, mlpBlockTokens(T, s.intermediate, limit))),
    output: counts(tokenBlocks(T, crossEntropyChunk(rt, T, s.vocabSize))),
  };
}

/** One entry per shape class (its tuning key): the launches of a class share its choice. */
function perClass<L extends { what: string }>(launches: L[], key: (l: L) => string): L[] {
  const byKey = new Map<string, L>();
  for (const l of launches) {
    const k = key(l);
    const had = byKey.get(k);
    if (had) had.what = had.what.includes(l.what) ? had.what : `${had.what}, ${l.what}`;
    else byKey.set(k, { ...l });
  }
  return [...byKey.values()];
}

function asWeightDType(d: string): WeightDType {
  return d === 'bf16' || d === 'f16' ? d : 'f32';
}

/**
 * Every matmul shape one training step (forward, recomputation, backward) of the model at T tokens
 * launches through the linear launchers, one entry per tuning key (shape class): the projections in
 * the token blocks llama.ts runs them in (row blocks for q/k/v/o, MLP blocks for gate/up/down), and
 * the LoRA products of the targets (x·Aᵀ, xa·Bᵀ, dy·B, g·A).
 */
export function linearLaunches(rt: Runtime, model: TuneModel, T: number): LinearLaunch[] {
  const s = model.shape;
  const limit = blockBytesLimit(rt.info.limits);
  const sizes = stepTokenSizes(rt, s, T);
  const r = model.lora.rank;
  const targets = new Set<LinearName>(model.lora.targets);
  const out: LinearLaunch[] = [];
  for (const n of LINEAR_NAMES) {
    const [outF, inF] = linearShape(s, n);
    const dtype = model.weightDtype(n);
    const lora = targets.has(n);
    for (const M of sizes[linearSpec(n).sublayer === 'mlp' ? 'mlp' : 'row']) {
      if (dtype !== 'quant') {
        out.push({ op: 'forward', dtype, M, N: outF, K: inF, what: n });
        out.push({ op: 'backwardInput', dtype, M, N: inF, K: outF, what: n });
      }
      if (!lora) continue;
      out.push({ op: 'forward', dtype: 'f32', M, N: r, K: inF, what: `${n} LoRA A` });
      out.push({ op: 'forward', dtype: 'f32', M, N: outF, K: r, what: `${n} LoRA B` });
      out.push({ op: 'backwardInput', dtype: 'f32', M, N: r, K: outF, what: `${n} LoRA B` });
      out.push({ op: 'backwardInput', dtype: 'f32', M, N: inF, K: r, what: `${n} LoRA A` });
    }
  }
  // The output layer's logits and dHidden products, per cross-entropy chunk of tokens, where
  // crossEntropyForward sends them through the linear launchers (the same predicate).
  const V = s.vocabSize;
  const D = s.hidden;
  const od = model.outputDtype;
  // A quantized output layer goes to the quantized launchers (quantLaunches).
  const w = od === 'quant' ? null : { whole: blockRowCount(V, D, od, limit) >= V, dtype: od };
  for (const M of sizes.output) {
    if (!w) break;
    for (const [op, N, K] of [
      ['forward', V, D],
      ['backwardInput', D, V],
    ] as const) {
      if (outputLinearOk(rt, 'auto', w, op, M, N, K))
        out.push({ op, dtype: w.dtype, M, N, K, what: 'output layer' });
    }
  }
  return perClass(out, (l) => linearTuneKey(rt, l.op, l.dtype, l.M, l.N, l.K));
}

/**
 * Tunes every matmul shape class of a step of `params` at T tokens that has no choice yet (in
 * memory or in the store), within `budgetMs`; returns each class's choice and where it came from.
 * Attention is left out (tuneStepKernels tunes both).
 */
export async function tuneModelKernels(
  rt: Runtime,
  model: TuneModel,
  T: number,
  opts: TuneModelOptions = {},
): Promise<TuneChoice[]> {
  return (await tuneStepKernels(rt, model, T, { ...opts, attention: false })).matmul;
}

/**
 * Tunes a step of `model` at T tokens: first its attention (opts.attention, by default the training
 * default), then every matmul shape class, each that has no choice yet (in memory or in the store),
 * within `budgetMs` (past it, attention and the classes left keep their defaults); returns every
 * choice and where it came from. Progress counts attention as one more class.
 */
export async function tuneStepKernels(
  rt: Runtime,
  model: TuneModel,
  T: number,
  opts: TuneModelOptions = {},
): Promise<StepTuning> {
  const pass = opts.attention ?? defaultAttentionPass(T);
  const att = pass ? attentionShapeOf(model, T, pass) : null;
  let attention: AttentionTuneChoice | null = null;
  if (att && !opts.force) {
    const names = new Set<string>(attentionCandidates(rt, att.hd));
    const key = attentionTuneKey(rt, { Tq: T, Tk: T, ...att });
    const k = await knownChoice(key, names);
    if (k)
      attention = { ...att, ...k, key, family: 'attention', choice: k.choice as AttentionVariant };
  }
  if (att && !attention && rt.info.isSoftware && opts.budgetMs !== undefined) {
    // A bounded pass on a CPU adapter keeps the rule's choice: compiling the workgroup-memory
    // candidates takes about 10 s there (stories260K's shape: 14 s for the four), and they measured
    // 4–21× slower than direct (tuneAttention at 128 and 256 tokens). `longlora tune` times them.
    const key = attentionTuneKey(rt, { Tq: T, Tk: T, ...att });
    const choice = attentionVariant(rt, att.hd);
    const untimed = attentionCandidates(rt, att.hd);
    const why = 'a software adapter’s bounded pass keeps the rule (longlora tune times them)';
    attention = {
      ...att,
      key,
      family: 'attention',
      choice,
      source: 'default',
      timings: {},
      untimed,
      why,
    };
  }
  const launches = linearLaunches(rt, model, T).map((l) => ({
    ...l,
    family: 'matmul' as const,
    key: linearTuneKey(rt, l.op, l.dtype, l.M, l.N, l.K),
  }));
  const quant = quantLaunches(rt, model, T).map((l) => ({
    ...l,
    family: 'matmul.quant' as const,
    key: quantLinearTuneKey(rt, { op: l.op, quant: l.dtype, M: l.M, N: l.N, K: l.K }),
  }));
  // Classes with a choice in memory or in the store are not timed (nor reported as progress).
  const known = new Map<string, TuneChoice>();
  if (!opts.force) {
    for (const l of launches) {
      const names = new Set<string>(tuneCandidates(l.M));
      const k = await knownChoice(l.key, names);
      if (k) known.set(l.key, { ...l, ...k, choice: k.choice as MatmulVariant });
    }
    for (const l of quant) {
      const names = new Set<string>(quantTuneCandidates(l.dtype, l.M));
      const k = await knownChoice(l.key, names);
      if (k) known.set(l.key, { ...l, ...k, choice: k.choice as QuantMatmulVariant });
    }
  }
  const todo = [...launches, ...quant].filter((l) => !known.has(l.key));
  const budget = opts.budgetMs ?? Infinity;
  const t0 = performance.now();
  const first = att && !attention ? 1 : 0;
  const total = todo.length + first;
  if (att && !attention) {
    const current = `attention ${att.pattern} ${T} tokens, ${att.H}/${att.KV} heads of ${att.hd}`;
    opts.onProgress?.({ done: 0, total, current });
    const r = await tuneAttention(rt, att, {
      force: opts.force,
      runs: opts.runs,
      deadline: t0 + budget,
    });
    attention = { ...att, ...r, family: 'attention' };
  }
  const timed = new Map<string, TuneChoice>();
  for (const [n, l] of todo.entries()) {
    const i = n + first;
    const current = `${l.what} ${l.op} ${l.dtype} ${l.M}×${l.N}×${l.K}`;
    opts.onProgress?.({ done: i, total, current });
    // tuneLinear takes [T, in, out]: forward's N is out and K in; the input gradient's the reverse.
    const [inF, outF] = l.op === 'forward' ? [l.K, l.N] : [l.N, l.K];
    const over = performance.now() - t0 > budget;
    if (l.family === 'matmul.quant') {
      const s = { op: l.op, quant: l.dtype, M: l.M, N: l.N, K: l.K };
      if (over) {
        timed.set(l.key, {
          ...l,
          choice: resolveQuantVariant(rt, s),
          source: 'default',
          timings: {},
        });
        continue;
      }
      const r = await tuneQuantLinear(rt, l.op, l.dtype, l.M, inF, outF, {
        force: opts.force,
        runs: opts.runs,
      });
      timed.set(l.key, { ...l, ...r, choice: r.choice as QuantMatmulVariant });
      continue;
    }
    if (over) {
      const choice = resolveVariant(rt, l.op, l.dtype, l.M, l.N, l.K);
      timed.set(l.key, { ...l, choice, source: 'default', timings: {} });
      continue;
    }
    const r = await tuneLinear(rt, l.op, l.dtype, l.M, inF, outF, {
      force: opts.force,
      runs: opts.runs,
    });
    timed.set(l.key, { ...l, ...r, choice: r.choice as MatmulVariant });
  }
  if (total) opts.onProgress?.({ done: total, total });
  const matmul = [...launches, ...quant].map((l) => known.get(l.key) ?? timed.get(l.key)!);
  return { attention, matmul };
}
