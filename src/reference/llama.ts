/**
 * Independent float64 reference of the LoRA+ Llama forward and hand-written backward, for model
 * parity tests. Written separately from src/engine and src/model on purpose: it shares no code with
 * them. Plain data in, plain data out; every tensor is a row-major Float64Array.
 */
import type { AttentionPattern } from '../util/attention-pattern.ts';
import { bf16ToF32, f32ToBf16 } from '../util/half.ts';
import { roundThroughHalf } from './checkpoint16.ts';
import { Rng } from '../util/rng.ts';
import {
  type AttnShape,
  type LoraPair,
  attention,
  attentionBackward,
  causalCrossEntropy,
  linear,
  linearBackwardInput,
  linearBackwardWeight,
  loraLinear,
  loraLinearBackward,
  rmsnorm,
  rmsnormBackward,
  rope,
  swiglu,
  swigluBackward,
} from './llama-ops.ts';
import { llama3InvFreq, type RefLlama3Rope } from './rope.ts';
import { loraScaling } from '../io/peft.ts';

export { attentionAllowed, type LoraPair } from './llama-ops.ts';
export type { RefLlama3Rope } from './rope.ts';

/** The model's inverse frequencies: Llama 3's when configured, else the default (undefined). */
function invFreqOf(cfg: RefConfig): Float64Array | undefined {
  return cfg.llama3 ? llama3InvFreq(cfg.headDim, cfg.ropeTheta, cfg.llama3) : undefined;
}

/** The modules LoRA may target, in Hugging Face names (a naming fact of the format, not numerics). */
export { LINEAR_NAMES as LORA_MODULES } from '../io/config.ts';

/** Model shape, rotary, attention pattern and LoRA settings of the reference model. */
export interface RefConfig {
  vocab: number;
  hidden: number;
  intermediate: number;
  layers: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  rmsEps: number;
  ropeTheta: number;
  /** Linear position interpolation: positions are divided by it (on top of llama3 when given). */
  ropeFactor: number;
  /** Llama 3's RoPE scaling of the frequencies (Hugging Face rope_type "llama3"); absent: none. */
  llama3?: RefLlama3Rope;
  tied: boolean;
  pattern: AttentionPattern;
  group: number;
  loraTargets: string[];
  rank: number;
  alpha: number;
  /**
   * Gradient checkpointing with 16-bit layer inputs (LlamaModel's `checkpoint16`): the backward
   * recomputes each decoder layer from its input rounded to this format (round to nearest even; f16 as in
   * src/reference/checkpoint16.ts) instead of the exact value. The forward and the loss are
   * unchanged (they use the exact inputs); the final norm's input is kept exactly. Absent: exact.
   */
  checkpointRound?: 'f16' | 'bf16';
  /**
   * Projections (HF names) with a frozen bias added after W·x and LoRA (Qwen2: q_proj, k_proj,
   * v_proj). Absent: none.
   */
  biases?: string[];
  /** RMSNorm of each q and k head (weights [headDim] shared by the heads) before RoPE (Qwen3). */
  qkNorm?: boolean;
}

/** One decoder layer's weights: projections are [out, in]; lora holds only targeted modules. */
export interface RefLayerWeights {
  inputNorm: Float64Array;
  postNorm: Float64Array;
  q: Float64Array;
  k: Float64Array;
  v: Float64Array;
  o: Float64Array;
  gate: Float64Array;
  up: Float64Array;
  down: Float64Array;
  lora: Record<string, LoraPair>;
  /** Biases [out] of the projections cfg.biases names, by HF name. */
  bias?: Record<string, Float64Array>;
  /** Per-head q / k norm weights [headDim] (cfg.qkNorm). */
  qNorm?: Float64Array;
  kNorm?: Float64Array;
}

/** All weights: embed [V, D], lmHead [V, D] (absent when tied), final norm [D]. */
export interface RefWeights {
  embed: Float64Array;
  lmHead?: Float64Array;
  norm: Float64Array;
  layers: RefLayerWeights[];
}

/** Gradients of the trainable tensors (lmHead only when untied, for completeness). */
export interface RefGrads {
  embed: Float64Array;
  norm: Float64Array;
  layers: {
    inputNorm: Float64Array;
    postNorm: Float64Array;
    lora: Record<string, LoraPair>;
    /** With cfg.qkNorm: the per-head q / k norm weights' gradients. */
    qNorm?: Float64Array;
    kNorm?: Float64Array;
  }[];
  lmHead?: Float64Array;
}

type ProjKey = 'q' | 'k' | 'v' | 'o' | 'gate' | 'up' | 'down';
const PROJ: Record<string, ProjKey> = {
  q_proj: 'q',
  k_proj: 'k',
  v_proj: 'v',
  o_proj: 'o',
  gate_proj: 'gate',
  up_proj: 'up',
  down_proj: 'down',
};

const NAME = Object.fromEntries(Object.entries(PROJ).map(([n, k]) => [k, n])) as Record<
  ProjKey,
  string
>;

/** [in, out] feature sizes of each projection. */
function projShapes(cfg: RefConfig): Record<ProjKey, [number, number]> {
  const { hidden: D, intermediate: F, heads: H, kvHeads: KV, headDim: hd } = cfg;
  return {
    q: [D, H * hd],
    k: [D, KV * hd],
    v: [D, KV * hd],
    o: [H * hd, D],
    gate: [D, F],
    up: [D, F],
    down: [F, D],
  };
}

function checkLength(name: string, a: Float64Array | undefined, n: number): void {
  if (!a || a.length !== n)
    throw new Error(`ref llama: ${name} has ${a?.length} values, want ${n}`);
}

function validate(cfg: RefConfig, w: RefWeights, tokens: number[], labels?: number[]): void {
  const { vocab: V, hidden: D, heads: H, kvHeads: KV, headDim: hd } = cfg;
  if (H % KV !== 0) throw new Error(`ref llama: heads ${H} not a multiple of kvHeads ${KV}`);
  if (hd % 2 !== 0) throw new Error(`ref llama: headDim ${hd} must be even`);
  if (cfg.pattern !== 'full' && !(cfg.group >= 2 && cfg.group % 2 === 0)) {
    throw new Error(`ref llama: group ${cfg.group} must be an even number ≥ 2`);
  }
  for (const t of cfg.loraTargets) if (!(t in PROJ)) throw new Error(`ref llama: bad target ${t}`);
  checkLength('embed', w.embed, V * D);
  checkLength('norm', w.norm, D);
  if (!cfg.tied) checkLength('lmHead', w.lmHead, V * D);
  if (w.layers.length !== cfg.layers) throw new Error(`ref llama: ${w.layers.length} layers`);
  const shapes = projShapes(cfg);
  w.layers.forEach((l, i) => {
    checkLength(`layers[${i}].inputNorm`, l.inputNorm, D);
    checkLength(`layers[${i}].postNorm`, l.postNorm, D);
    for (const [key, [inF, outF]] of Object.entries(shapes)) {
      checkLength(`layers[${i}].${key}`, l[key as ProjKey], inF * outF);
    }
    for (const t of cfg.biases ?? [])
      checkLength(`layers[${i}].bias.${t}`, l.bias?.[t], shapes[PROJ[t]!][1]);
    if (cfg.qkNorm) {
      checkLength(`layers[${i}].qNorm`, l.qNorm, hd);
      checkLength(`layers[${i}].kNorm`, l.kNorm, hd);
    }
    for (const t of cfg.loraTargets) {
      const [inF, outF] = shapes[PROJ[t]!];
      checkLength(`layers[${i}].lora.${t}.A`, l.lora[t]?.A, cfg.rank * inF);
      checkLength(`layers[${i}].lora.${t}.B`, l.lora[t]?.B, outF * cfg.rank);
    }
  });
  for (const t of tokens) {
    if (!Number.isInteger(t) || t < 0 || t >= V)
      throw new Error(`ref llama: token ${t} out of range`);
  }
  if (labels && labels.length !== tokens.length) {
    throw new Error(`ref llama: ${labels.length} labels for ${tokens.length} tokens`);
  }
}

/** Saved activations of one decoder layer (enough for the backward, nothing recomputed). */
interface LayerCache {
  x: Float64Array;
  n1: Float64Array;
  rstd1: Float64Array;
  u: Partial<Record<ProjKey, Float64Array>>;
  q: Float64Array;
  k: Float64Array;
  v: Float64Array;
  P: Float64Array;
  /** With cfg.qkNorm: q and k before their per-head norm, and its rstd per token and head. */
  qPre?: Float64Array;
  kPre?: Float64Array;
  rstdQ?: Float64Array;
  rstdK?: Float64Array;
  ao: Float64Array;
  h: Float64Array;
  n2: Float64Array;
  rstd2: Float64Array;
  g: Float64Array;
  up: Float64Array;
  act: Float64Array;
}

function attnShape(cfg: RefConfig, N: number): AttnShape {
  const { heads: H, kvHeads: KV, headDim: hd, pattern, group: G } = cfg;
  return { N, H, KV, hd, pattern, G };
}

function layerForward(cfg: RefConfig, l: RefLayerWeights, x: Float64Array, N: number) {
  const { hidden: D, heads: H, kvHeads: KV, headDim: hd, rank } = cfg;
  const scaling = loraScaling(cfg.alpha, cfg.rank);
  const shapes = projShapes(cfg);
  const u: Partial<Record<ProjKey, Float64Array>> = {};
  const proj = (key: ProjKey, input: Float64Array): Float64Array => {
    const [inF, outF] = shapes[key];
    const r = loraLinear(input, l[key], loraOf(cfg, l, key), N, inF, outF, rank, scaling);
    if (r.u) u[key] = r.u;
    // The bias after W·x + LoRA (PEFT's LoRA layer wraps the biased base layer).
    const b = cfg.biases?.includes(NAME[key]) ? l.bias![NAME[key]]! : undefined;
    if (b) for (let e = 0; e < r.y.length; e++) r.y[e]! += b[e % outF]!;
    return r.y;
  };
  const { y: n1, rstd: rstd1 } = rmsnorm(x, l.inputNorm, N, D, cfg.rmsEps);
  const inv = invFreqOf(cfg);
  const qPre = proj('q', n1);
  const kPre = proj('k', n1);
  // Qwen3: each head of q and k RMS-normed over its head_dim values (rows of [N·heads, hd]).
  const qn = cfg.qkNorm ? rmsnorm(qPre, l.qNorm!, N * H, hd, cfg.rmsEps) : null;
  const kn = cfg.qkNorm ? rmsnorm(kPre, l.kNorm!, N * KV, hd, cfg.rmsEps) : null;
  const q = rope(qn?.y ?? qPre, N, H, hd, cfg.ropeTheta, cfg.ropeFactor, false, inv);
  const k = rope(kn?.y ?? kPre, N, KV, hd, cfg.ropeTheta, cfg.ropeFactor, false, inv);
  const v = proj('v', n1);
  const { out: ao, P } = attention(q, k, v, attnShape(cfg, N));
  const h = proj('o', ao).map((o, e) => o + x[e]!);
  const { y: n2, rstd: rstd2 } = rmsnorm(h, l.postNorm, N, D, cfg.rmsEps);
  const g = proj('gate', n2);
  const up = proj('up', n2);
  const act = swiglu(g, up);
  const out = proj('down', act).map((d, e) => d + h[e]!);
  const cache: LayerCache = { x, n1, rstd1, u, q, k, v, P, ao, h, n2, rstd2, g, up, act };
  if (qn && kn) Object.assign(cache, { qPre, kPre, rstdQ: qn.rstd, rstdK: kn.rstd });
  return { out, cache };
}

function loraOf(cfg: RefConfig, l: RefLayerWeights, key: ProjKey): LoraPair | undefined {
  return cfg.loraTargets.includes(NAME[key]) ? l.lora[NAME[key]] : undefined;
}

/** Backward through one layer: returns dx of its input; accumulates its parameter gradients. */
function layerBackward(
  cfg: RefConfig,
  l: RefLayerWeights,
  c: LayerCache,
  dout: Float64Array,
  N: number,
  grads: RefGrads['layers'][number],
): Float64Array {
  const { hidden: D, heads: H, kvHeads: KV, headDim: hd, rank } = cfg;
  const scaling = loraScaling(cfg.alpha, cfg.rank);
  const shapes = projShapes(cfg);
  const projBack = (key: ProjKey, dy: Float64Array, input: Float64Array, dx: Float64Array) => {
    const [inF, outF] = shapes[key];
    const lora = loraOf(cfg, l, key);
    const g = lora ? grads.lora[NAME[key]] : undefined;
    loraLinearBackward(dy, input, l[key], lora, c.u[key], N, inF, outF, rank, scaling, dx, g);
  };
  // MLP branch: out = h + down(silu(gate(n2)) · up(n2)).
  const dh = dout.slice();
  const dact = new Float64Array(c.act.length);
  projBack('down', dout, c.act, dact);
  const { dg, du } = swigluBackward(dact, c.g, c.up);
  const dn2 = new Float64Array(N * D);
  projBack('gate', dg, c.n2, dn2);
  projBack('up', du, c.n2, dn2);
  rmsnormBackward(dn2, c.h, l.postNorm, c.rstd2, N, D, dh, grads.postNorm);
  // Attention branch: h = x + o(attn(rope(q(n1)), rope(k(n1)), v(n1))).
  const dx = dh.slice();
  const dao = new Float64Array(c.ao.length);
  projBack('o', dh, c.ao, dao);
  const { dq, dk, dv } = attentionBackward(dao, c.q, c.k, c.v, c.P, attnShape(cfg, N));
  const dn1 = new Float64Array(N * D);
  const inv = invFreqOf(cfg);
  let dqPre = rope(dq, N, H, hd, cfg.ropeTheta, cfg.ropeFactor, true, inv);
  let dkPre = rope(dk, N, KV, hd, cfg.ropeTheta, cfg.ropeFactor, true, inv);
  if (cfg.qkNorm) {
    const [gq, gk] = [new Float64Array(dqPre.length), new Float64Array(dkPre.length)];
    rmsnormBackward(dqPre, c.qPre!, l.qNorm!, c.rstdQ!, N * H, hd, gq, grads.qNorm!);
    rmsnormBackward(dkPre, c.kPre!, l.kNorm!, c.rstdK!, N * KV, hd, gk, grads.kNorm!);
    [dqPre, dkPre] = [gq, gk];
  }
  projBack('q', dqPre, c.n1, dn1);
  projBack('k', dkPre, c.n1, dn1);
  projBack('v', dv, c.n1, dn1);
  rmsnormBackward(dn1, c.x, l.inputNorm, c.rstd1, N, D, dx, grads.inputNorm);
  return dx;
}

function embed(cfg: RefConfig, w: RefWeights, tokens: number[]): Float64Array {
  const D = cfg.hidden;
  const x = new Float64Array(tokens.length * D);
  tokens.forEach((t, i) => x.set(w.embed.subarray(t * D, (t + 1) * D), i * D));
  return x;
}

function forward(cfg: RefConfig, w: RefWeights, tokens: number[]) {
  const N = tokens.length;
  let x = embed(cfg, w, tokens);
  const caches: LayerCache[] = [];
  for (const l of w.layers) {
    const r = layerForward(cfg, l, x, N);
    caches.push(r.cache);
    x = r.out;
  }
  const { y: nf, rstd } = rmsnorm(x, w.norm, N, cfg.hidden, cfg.rmsEps);
  const head = cfg.tied ? w.embed : w.lmHead!;
  const logits = linear(nf, head, N, cfg.hidden, cfg.vocab);
  return { logits, caches, xLast: x, nf, rstd, head };
}

/** Logits [N, vocab] under cfg.pattern (use pattern 'full' for evaluation/generation parity). */
export function refForwardLogits(cfg: RefConfig, w: RefWeights, tokens: number[]): Float64Array {
  validate(cfg, w, tokens);
  return forward(cfg, w, tokens).logits;
}

/**
 * Mean causal-LM cross-entropy (labels default to tokens; −100 ignored) and hand-derived gradients
 * of every trainable tensor. With nothing counted the loss is 0 and all gradients are zero.
 */
export function refLossAndGrads(
  cfg: RefConfig,
  w: RefWeights,
  tokens: number[],
  labels?: number[],
): { loss: number; counted: number; grads: RefGrads } {
  validate(cfg, w, tokens, labels);
  const { vocab: V, hidden: D } = cfg;
  const N = tokens.length;
  const f = forward(cfg, w, tokens);
  const ce = causalCrossEntropy(f.logits, labels ?? tokens, N, V);
  const grads = zeroGrads(cfg, w);

  const dhead = cfg.tied ? grads.embed : grads.lmHead!;
  linearBackwardWeight(ce.dlogits, f.nf, N, D, V, dhead);
  const dnf = new Float64Array(N * D);
  linearBackwardInput(ce.dlogits, f.head, N, D, V, dnf);
  let dx: Float64Array = new Float64Array(N * D);
  rmsnormBackward(dnf, f.xLast, w.norm, f.rstd, N, D, dx, grads.norm);
  for (let i = cfg.layers - 1; i >= 0; i--) {
    const round = cfg.checkpointRound;
    const cache = round
      ? layerForward(cfg, w.layers[i]!, roundTo16(f.caches[i]!.x, round), N).cache
      : f.caches[i]!;
    dx = layerBackward(cfg, w.layers[i]!, cache, dx, N, grads.layers[i]!);
  }
  tokens.forEach((t, i) => {
    for (let d = 0; d < D; d++) grads.embed[t * D + d]! += dx[i * D + d]!;
  });
  return { loss: ce.loss, counted: ce.count, grads };
}

/** Each value rounded to f32, then to the 16-bit format (nearest even), and back: what a 16-bit checkpoint holds. */
function roundTo16(x: Float64Array, kind: 'f16' | 'bf16'): Float64Array {
  return kind === 'f16' ? roundThroughHalf(x) : x.map((v) => bf16ToF32(f32ToBf16(v)));
}

function zeroGrads(cfg: RefConfig, w: RefWeights): RefGrads {
  const grads: RefGrads = {
    embed: new Float64Array(w.embed.length),
    norm: new Float64Array(w.norm.length),
    layers: w.layers.map((l) => {
      const lora: Record<string, LoraPair> = {};
      for (const t of cfg.loraTargets) {
        lora[t] = {
          A: new Float64Array(l.lora[t]!.A.length),
          B: new Float64Array(l.lora[t]!.B.length),
        };
      }
      return {
        inputNorm: new Float64Array(l.inputNorm.length),
        postNorm: new Float64Array(l.postNorm.length),
        lora,
        ...(cfg.qkNorm
          ? { qNorm: new Float64Array(cfg.headDim), kNorm: new Float64Array(cfg.headDim) }
          : {}),
      };
    }),
  };
  if (!cfg.tied) grads.lmHead = new Float64Array(w.lmHead!.length);
  return grads;
}

/**
 * A seeded random model for cfg: base weights ~ U(±1/√in), embeddings ~ U(±1), norms ~ 1 ± 0.2
 * (q/k head norms too), biases ~ U(±0.5) (models without either draw no more numbers than before),
 * LoRA A ~ U(±1/√in) and B ~ U(±1/√rank) (non-zero so the LoRA paths are exercised).
 */
export function randomRefModel(cfg: RefConfig, seed: number): RefWeights {
  const rng = new Rng(seed);
  const uni = (n: number, bound: number): Float64Array => {
    const a = new Float64Array(n);
    for (let e = 0; e < n; e++) a[e] = rng.uniform(-bound, bound);
    return a;
  };
  const normW = (n: number): Float64Array => uni(n, 0.2).map((x) => 1 + x);
  const { vocab: V, hidden: D } = cfg;
  const shapes = projShapes(cfg);
  const mat = (key: ProjKey): Float64Array => {
    const [inF, outF] = shapes[key];
    return uni(inF * outF, 1 / Math.sqrt(inF));
  };
  const layers: RefLayerWeights[] = [];
  for (let i = 0; i < cfg.layers; i++) {
    const l: RefLayerWeights = {
      inputNorm: normW(D),
      postNorm: normW(D),
      q: mat('q'),
      k: mat('k'),
      v: mat('v'),
      o: mat('o'),
      gate: mat('gate'),
      up: mat('up'),
      down: mat('down'),
      lora: {},
    };
    for (const t of cfg.biases ?? []) {
      l.bias ??= {};
      l.bias[t] = uni(shapes[PROJ[t]!][1], 0.5);
    }
    if (cfg.qkNorm) {
      l.qNorm = normW(cfg.headDim);
      l.kNorm = normW(cfg.headDim);
    }
    for (const t of cfg.loraTargets) {
      const [inF, outF] = shapes[PROJ[t]!];
      l.lora[t] = {
        A: uni(cfg.rank * inF, 1 / Math.sqrt(inF)),
        B: uni(outF * cfg.rank, 1 / Math.sqrt(cfg.rank)),
      };
    }
    layers.push(l);
  }
  const w: RefWeights = { embed: uni(V * D, 1), norm: normW(D), layers };
  if (!cfg.tied) w.lmHead = uni(V * D, 1 / Math.sqrt(D));
  return w;
}
