/**
 * The activation buffers and workspaces of the Llama graph (src/model/llama.ts): what one forward,
 * its backward and one decoding step write, how they are allocated (training and evaluation in
 * category activations with backward's buffers in workspace; decoding all in workspace), and how
 * they are freed.
 */
import { TooLargeError } from '../engine/errors.ts';
import {
  headRmsnormBackwardWorkspaceSize,
  rmsnormBackwardWorkspaceSize,
} from '../engine/kernels/rmsnorm.ts';
import { blockBytesLimit, viewBlockRows, VIEW_ROW_GRANULE } from '../engine/row-blocks.ts';
import type { Runtime, Tensor } from '../engine/runtime.ts';
import type { LlamaParams } from './params.ts';
import type { LinearName, LlamaShape } from './types.ts';

/**
 * Whether training keeps its layer-input checkpoints in 16 bits (LlamaModel's `checkpoint16`) unless
 * told: on for models with hidden ≥ 1024 (every real one but SmolLM2-135M; it saves 2·T·D·(L−2)
 * bytes, 1.875 GiB on Llama-2-7B at 8192 tokens), off for the tiny test and demo models, whose
 * gradients then match the exact float64 reference as before.
 */
export function checkpoint16Default(shape: LlamaShape): boolean {
  return shape.hidden >= 1024;
}

/**
 * Tokens per MLP block at most, unless the binding cap asks for fewer: the MLP's [tokens,
 * intermediate] buffers are allocated at block size, so at long contexts they stay small (Llama-2-7B:
 * [2048, 11008] f32 is 86 MiB a buffer, against 344 MiB at 8192 tokens). Every buffer of a
 * shorter step is one block, and the MLP runs as one launch per projection as before.
 */
export const MLP_BLOCK_TOKENS = 2048;

/**
 * Tokens per block of a decoder layer's MLP (gate_proj, up_proj, SwiGLU, down_proj, their LoRA and
 * backward) over T tokens with intermediate size F, whose [block, F] f32 buffers must fit
 * `maxBytes` (the runtime's blockBytesLimit): all T when they fit it and MLP_BLOCK_TOKENS, else the
 * largest multiple of 64 tokens within both (so each block's row views of the [T, ·] buffers start
 * aligned). Throws TooLargeError when not even 64 tokens fit.
 */
export function mlpBlockTokens(T: number, F: number, maxBytes: number): number {
  const n = viewBlockRows(T, 4 * F, maxBytes, MLP_BLOCK_TOKENS);
  if (n < 1) {
    const bytes = 4 * F * Math.min(T, VIEW_ROW_GRANULE);
    throw new TooLargeError('mlp activations', bytes, 'maxStorageBufferBindingSize', maxBytes);
  }
  return n;
}

/**
 * Tokens per block of the row-local ops over T tokens (the norms, the q/k/v/o projections and their
 * LoRA, RoPE, the residual adds, the 16-bit checkpoint pack/unpack, the embedding lookup): each
 * binds row views of the per-token [T, width] f32 buffers (width up to max(hidden, heads·head_dim,
 * kv_heads·head_dim)), so those buffers may exceed the binding limit `maxBytes` as long as each
 * block's view fits it. All T when [T, width] fits, else the largest multiple of 64 tokens that
 * does. Throws TooLargeError when not even 64 tokens fit.
 */
export function rowBlockTokens(shape: LlamaShape, T: number, maxBytes: number): number {
  const width = Math.max(shape.hidden, shape.heads * shape.headDim, shape.kvHeads * shape.headDim);
  const n = viewBlockRows(T, 4 * width, maxBytes);
  if (n < 1) {
    const bytes = 4 * width * Math.min(T, VIEW_ROW_GRANULE);
    throw new TooLargeError(
      'per-token activations',
      bytes,
      'maxStorageBufferBindingSize',
      maxBytes,
    );
  }
  return n;
}

/** Floats of the scratch weight gradient frozen norms write into: hidden, or head_dim if larger. */
export function frozenNormGradSize(s: LlamaShape): number {
  return s.qkNorm ? Math.max(s.hidden, s.headDim) : s.hidden;
}

/** Floats of the norms' weight-gradient partial sums over T tokens (the per-head q norm's when larger). */
export function normWorkspaceSize(s: LlamaShape, T: number): number {
  const layer = rmsnormBackwardWorkspaceSize(T, s.hidden);
  return s.qkNorm
    ? Math.max(layer, headRmsnormBackwardWorkspaceSize(T, s.heads, s.headDim))
    : layer;
}

/** [first token, token count] of each MLP block of T tokens in blocks of `per`. */
export function tokenBlocks(T: number, per: number): [number, number][] {
  const out: [number, number][] = [];
  for (let t0 = 0; t0 < T; t0 += per) out.push([t0, Math.min(per, T - t0)]);
  return out;
}

/**
 * Intermediates of one decoder layer (recomputed in backward when checkpointing). gate, up and act
 * hold one MLP token block [block, F] (see mlpBlockTokens); the rest all T tokens.
 */
export interface LayerActs {
  xn1: Tensor;
  rstd1: Tensor;
  q: Tensor;
  k: Tensor;
  v: Tensor;
  attn: Tensor;
  lse: Tensor;
  hMid: Tensor;
  xn2: Tensor;
  rstd2: Tensor;
  gate: Tensor;
  up: Tensor;
  act: Tensor;
  xa: Partial<Record<LinearName, Tensor>>;
  /**
   * With per-head q/k norms (shape.qkNorm): q and k before their norm ([T, H·hd], [T, KV·hd]) and
   * the norms' rstd ([T, H], [T, KV]); q and k then hold the normed, rotated values.
   */
  qPre?: Tensor;
  kPre?: Tensor;
  rstdQ?: Tensor;
  rstdK?: Tensor;
}

/** Buffers for backward, shared by all layers (dAct, dGate, dUp: one MLP token block). */
export interface GradActs {
  dResid: Tensor;
  dXn: Tensor;
  dAttn: Tensor;
  dq: Tensor;
  dk: Tensor;
  dv: Tensor;
  dAct: Tensor;
  dGate: Tensor;
  dUp: Tensor;
  loraWs: Tensor;
  dwFrozen: Tensor;
  /** Attention backward's row statistics [H, T]. */
  attnWs: Tensor;
  /** RMSNorm weight-gradient partial sums (the per-head q/k norms' too). */
  normWs: Tensor;
  /** With per-head q/k norms: d(q, k before the norm). */
  dqPre?: Tensor;
  dkPre?: Tensor;
}

/** What one forward over T tokens writes. */
export interface ForwardActs {
  T: number;
  ids: Tensor;
  /**
   * The residual stream, layer l reading h[l] and writing h[l+1] (indices taken modulo the length):
   * training keeps all L+1 (h[0] = embeddings); decoding keeps one, updated in place, which is sound
   * because a layer reads its input for the last time before it writes its output.
   */
  h: Tensor[];
  /** One set (reused by every layer), or one per layer when backward runs without checkpointing. */
  layers: LayerActs[];
  /** The final norm's output [T, D] and its rstd. */
  hn: Tensor;
  rstdF: Tensor;
}

/** Per-context activation buffers of training and evaluation. */
export interface Acts extends ForwardActs {
  /**
   * Training with 16-bit checkpoints: layer l's input as binary16 [T, D] (packed two per u32), and
   * h holds only two f32 buffers (the forward ping-pongs between them; the backward unpacks layer
   * l's input into one and recomputes the layer into the other). Null otherwise.
   */
  ckpt16: Tensor[] | null;
  labels: Tensor;
  dHn: Tensor;
  loss: Tensor;
  grad: GradActs | null;
}

/** The workspace of one decoding step of T tokens: the forward's buffers and the last row's logits. */
export interface DecodeActs extends ForwardActs {
  last: Tensor;
  logits: Tensor;
}

/**
 * The buffers of training (withGrad) or evaluation on T tokens: one set of layer intermediates,
 * or one per layer when backward runs without checkpointing.
 */
export function allocateActs(
  rt: Runtime,
  p: LlamaParams,
  T: number,
  withGrad: boolean,
  checkpointing: boolean,
  checkpoint16 = false,
): Acts {
  const s = p.shape;
  const D = s.hidden;
  const Hq = s.heads * s.headDim;
  const Hkv = s.kvHeads * s.headDim;
  const F = s.intermediate;
  const Tb = mlpBlockTokens(T, F, blockBytesLimit(rt.info.limits));
  const r = p.lora.rank;
  // Per-token [T, ·] buffers may pass maxBufferSize (Llama-2-7B's [32768, 4096] is 512 MiB): they
  // are stored in parts of whole token blocks (Runtime.rowsTensor); the [block, F] MLP buffers and
  // the [H, T] statistics are bound whole.
  const a = (shape: number[], label: string) => rt.rowsTensor(shape, 'f32', 'activations', label);
  const whole = (shape: number[], label: string) => rt.tensor(shape, 'f32', 'activations', label);
  const layerSets = checkpointing || !withGrad ? 1 : s.layers;
  const layers: LayerActs[] = [];
  for (let i = 0; i < layerSets; i++) {
    const xa: Partial<Record<LinearName, Tensor>> = {};
    for (const n of p.lora.targets) xa[n] = a([T, r], `xa ${n} ${i}`);
    layers.push({
      xn1: a([T, D], 'xn1'),
      rstd1: a([T], 'rstd1'),
      q: a([T, Hq], 'q'),
      k: a([T, Hkv], 'k'),
      v: a([T, Hkv], 'v'),
      attn: a([T, Hq], 'attn'),
      lse: whole([s.heads, T], 'lse'),
      hMid: a([T, D], 'hMid'),
      xn2: a([T, D], 'xn2'),
      rstd2: a([T], 'rstd2'),
      gate: whole([Tb, F], 'gate'),
      up: whole([Tb, F], 'up'),
      act: whole([Tb, F], 'act'),
      xa,
      ...(s.qkNorm
        ? {
            qPre: a([T, Hq], 'q pre-norm'),
            kPre: a([T, Hkv], 'k pre-norm'),
            rstdQ: a([T, s.heads], 'rstd q'),
            rstdK: a([T, s.kvHeads], 'rstd k'),
          }
        : {}),
    });
  }
  const w = (shape: number[], label: string) => rt.rowsTensor(shape, 'f32', 'workspace', label);
  const ws = (shape: number[], label: string) => rt.tensor(shape, 'f32', 'workspace', label);
  const grad: GradActs | null = withGrad
    ? {
        dResid: w([T, D], 'dResid'),
        dXn: w([T, D], 'dXn'),
        dAttn: w([T, Hq], 'dAttn'),
        dq: w([T, Hq], 'dq'),
        dk: w([T, Hkv], 'dk'),
        dv: w([T, Hkv], 'dv'),
        dAct: ws([Tb, F], 'dAct'),
        dGate: ws([Tb, F], 'dGate'),
        dUp: ws([Tb, F], 'dUp'),
        loraWs: w([T, r], 'lora ws'),
        dwFrozen: ws([frozenNormGradSize(s)], 'dw frozen'),
        attnWs: ws([s.heads, T], 'attention ws'),
        normWs: ws([normWorkspaceSize(s, T)], 'rmsnorm ws'),
        ...(s.qkNorm
          ? { dqPre: w([T, Hq], 'dq pre-norm'), dkPre: w([T, Hkv], 'dk pre-norm') }
          : {}),
      }
    : null;
  const half = withGrad && checkpointing && checkpoint16;
  const ckpt16 = half
    ? Array.from({ length: s.layers }, (_, i) =>
        rt.rowsTensor([T, D], 'f16', 'activations', `h${i} f16`),
      )
    : null;
  return {
    T,
    ckpt16,
    ids: rt.tensor([T], 'u32', 'activations', 'ids'),
    labels: rt.tensor([T], 'i32', 'activations', 'labels'),
    h: Array.from({ length: half ? 2 : s.layers + 1 }, (_, i) => a([T, D], `h${i}`)),
    layers,
    hn: a([T, D], 'hn'),
    rstdF: a([T], 'rstdF'),
    dHn: w([T, D], 'dHn'),
    loss: a([1], 'loss'),
    grad,
  };
}

/** h[i] of the residual stream (see ForwardActs.h). */
export function residual(acts: ForwardActs, i: number): Tensor {
  return acts.h[i % acts.h.length]!;
}

/** Every tensor of a forward's buffers (a shared one may appear twice; destroy() is idempotent). */
export function forwardTensors(acts: ForwardActs): Tensor[] {
  const all: Tensor[] = [acts.ids, ...acts.h, acts.hn, acts.rstdF];
  for (const la of acts.layers) {
    const { xa, ...rest } = la;
    all.push(...Object.values(rest), ...Object.values(xa));
  }
  return all;
}

export function destroyActs(acts: Acts): void {
  const all = [...forwardTensors(acts), ...(acts.ckpt16 ?? []), acts.labels, acts.dHn, acts.loss];
  if (acts.grad) all.push(...Object.values(acts.grad));
  for (const t of all) t.destroy();
}

/**
 * The workspace of a decoding step of T tokens (category workspace). Nothing is kept for backward,
 * so the three norms share one output and one rstd buffer, the LoRA projections share one x·Aᵀ,
 * and the residual stream is one buffer updated in place.
 */
export function allocateDecode(rt: Runtime, p: LlamaParams, T: number): DecodeActs {
  const s = p.shape;
  const D = s.hidden;
  const Hq = s.heads * s.headDim;
  const Hkv = s.kvHeads * s.headDim;
  const F = s.intermediate;
  const Tb = mlpBlockTokens(T, F, blockBytesLimit(rt.info.limits));
  const w = (shape: number[], label: string) =>
    rt.rowsTensor(shape, 'f32', 'workspace', `decode ${label}`);
  const ws = (shape: number[], label: string) =>
    rt.tensor(shape, 'f32', 'workspace', `decode ${label}`);
  const xn = w([T, D], 'xn');
  const rstd = w([T], 'rstd');
  const xaShared = w([T, p.lora.rank], 'xa');
  const xa: Partial<Record<LinearName, Tensor>> = {};
  for (const n of p.lora.targets) xa[n] = xaShared;
  const layer: LayerActs = {
    xn1: xn,
    rstd1: rstd,
    q: w([T, Hq], 'q'),
    k: w([T, Hkv], 'k'),
    v: w([T, Hkv], 'v'),
    attn: w([T, Hq], 'attn'),
    lse: ws([s.heads, T], 'lse'),
    hMid: w([T, D], 'hMid'),
    xn2: xn,
    rstd2: rstd,
    gate: ws([Tb, F], 'gate'),
    up: ws([Tb, F], 'up'),
    act: ws([Tb, F], 'act'),
    xa,
    ...(s.qkNorm
      ? {
          qPre: w([T, Hq], 'q pre-norm'),
          kPre: w([T, Hkv], 'k pre-norm'),
          rstdQ: w([T, s.heads], 'rstd q'),
          rstdK: w([T, s.kvHeads], 'rstd k'),
        }
      : {}),
  };
  return {
    T,
    ids: rt.tensor([T], 'u32', 'workspace', 'decode ids'),
    h: [w([T, D], 'h')],
    layers: [layer],
    hn: xn,
    rstdF: rstd,
    last: ws([1, D], 'last'),
    logits: ws([1, s.vocabSize], 'logits'),
  };
}

export function destroyDecodeActs(ws: DecodeActs): void {
  for (const t of [...forwardTensors(ws), ws.last, ws.logits]) t.destroy();
}
