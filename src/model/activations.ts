/**
 * The activation buffers and workspaces of the Llama graph (src/model/llama.ts): what one forward,
 * its backward and one decoding step write, described once as data (ActBuffer: label, shape, dtype,
 * memory category, per-token or whole, layer-input checkpoint or not) before anything is allocated.
 * allocateActs and allocateDecode allocate exactly those descriptions (actsLayout, decodeLayout),
 * and planTraining (plan.ts) sums exactly them, so the plan cannot drift from the allocation.
 * Training and evaluation keep their buffers in category activations with backward's in workspace;
 * decoding keeps all in workspace.
 */
import { tensorBytes } from '../engine/allocator.ts';
import { OutOfMemoryError, TooLargeError } from '../engine/errors.ts';
import type { MemoryCategory } from '../engine/memory.ts';
import {
  headRmsnormBackwardWorkspaceSize,
  rmsnormBackwardWorkspaceSize,
} from '../engine/kernels/rmsnorm.ts';
import { blockBytesLimit, viewBlockRows, VIEW_ROW_GRANULE } from '../engine/row-blocks.ts';
import { DTYPE_BYTES, Tensor, type DType, type Runtime } from '../engine/runtime.ts';
import type { LlamaParams } from './params.ts';
import type { LinearName, LlamaShape, LoraSettings } from './types.ts';

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
 * One buffer of the graph, described before anything is allocated: allocateActs / allocateDecode
 * allocate exactly these (Runtime.rowsTensor when perToken, else Runtime.tensor), and planTraining
 * sums exactly these. A description referenced twice in a layout is one buffer (decoding's shared
 * norm output, for one).
 */
export class ActBuffer {
  constructor(
    /** The GPU label (and the name an allocation error gives). */
    readonly label: string,
    readonly shape: readonly number[],
    readonly dtype: DType,
    readonly category: Extract<MemoryCategory, 'activations' | 'workspace'>,
    /**
     * A per-token [T, …] buffer: bound in row blocks by the row-local ops and attention, and stored
     * in parts of 64·2^k tokens past maxBufferSize (Runtime.rowsTensor). Otherwise one buffer bound
     * whole.
     */
    readonly perToken: boolean,
    /**
     * Training's layer-input checkpoints: the layer whose input this buffer keeps from the forward
     * until that layer's backward (nothing else reads it in between), so it could live elsewhere
     * meanwhile (host memory: issue 27). Undefined for every other buffer.
     */
    readonly checkpointOf?: number,
    /**
     * A read-staging buffer (Runtime.stagingTensor: MAP_READ | COPY_DST, never bound): offloaded
     * checkpoints pass through it on their way to host memory. `shape` is then [bytes / 4] u32.
     */
    readonly staging = false,
  ) {}

  /** Bytes allocated (the allocator's tensorBytes). */
  get bytes(): number {
    return tensorBytes(this.shape, this.dtype);
  }

  /** Bytes of one row (one token of a per-token buffer). */
  get rowBytes(): number {
    return this.shape.slice(1).reduce((a, b) => a * b, 1) * DTYPE_BYTES[this.dtype];
  }
}

/**
 * A buffer in host memory (an ArrayBuffer in the worker or the Node process), described before it is
 * allocated: allocateLayout allocates exactly these and planTraining sums them as `hostBytes`.
 */
export class HostBuffer {
  constructor(
    readonly label: string,
    readonly bytes: number,
    /** The layer whose input checkpoint it keeps from the forward to that layer's backward. */
    readonly checkpointOf: number,
  ) {}
}

/**
 * Read-staging buffers an offloaded checkpoint passes through on its way to host memory, each as
 * large as one checkpoint (engine/offload.ts rotates through them). One is enough for the overlap:
 * layer l's copy is queued before layer l + 1's kernels, so its read-back (map and host copy) runs
 * while layer l + 1 computes, and is awaited only before layer l + 1's own copy. A second would add
 * a layer of slack for one more checkpoint of GPU memory (256 MiB on Llama-2-7B at 32k, the
 * difference between its plan fitting 12 GiB and not).
 */
export const OFFLOAD_STAGING_BUFFERS = 1;

/**
 * Offloaded layer-input checkpoints (ActsOptions.offload): every layer's input in host memory, and the
 * staging buffers the forward reads them back through (counted on the GPU, category workspace).
 */
export interface OffloadLayout {
  host: HostBuffer[];
  staging: ActBuffer[];
}

/**
 * Intermediates of one decoder layer (recomputed in backward when checkpointing). gate, up and act
 * hold one MLP token block [block, F] (see mlpBlockTokens); the rest all T tokens.
 */
export interface LayerLayout {
  /** The LoRA x·Aᵀ [T, r] of each LoRA target (its weight gradient reads it). */
  xa: Partial<Record<LinearName, ActBuffer>>;
  xn1: ActBuffer;
  rstd1: ActBuffer;
  q: ActBuffer;
  k: ActBuffer;
  v: ActBuffer;
  attn: ActBuffer;
  /** Attention's log-sum-exp per head and query [H, T]. */
  lse: ActBuffer;
  hMid: ActBuffer;
  xn2: ActBuffer;
  rstd2: ActBuffer;
  gate: ActBuffer;
  up: ActBuffer;
  act: ActBuffer;
  /**
   * With per-head q/k norms (shape.qkNorm): q and k before their norm ([T, H·hd], [T, KV·hd]) and
   * the norms' rstd ([T, H], [T, KV]); q and k then hold the normed, rotated values.
   */
  qPre?: ActBuffer;
  kPre?: ActBuffer;
  rstdQ?: ActBuffer;
  rstdK?: ActBuffer;
}

/** Buffers for backward, shared by all layers (dAct, dGate, dUp: one MLP token block). */
export interface GradLayout {
  dResid: ActBuffer;
  dXn: ActBuffer;
  dAttn: ActBuffer;
  dq: ActBuffer;
  dk: ActBuffer;
  dv: ActBuffer;
  dAct: ActBuffer;
  dGate: ActBuffer;
  dUp: ActBuffer;
  loraWs: ActBuffer;
  /** The weight gradient frozen norms write into (discarded). */
  dwFrozen: ActBuffer;
  /** Attention backward's row statistics [H, T]. */
  attnWs: ActBuffer;
  /** RMSNorm weight-gradient partial sums (the per-head q/k norms' too). */
  normWs: ActBuffer;
  /** With per-head q/k norms: d(q, k before the norm). */
  dqPre?: ActBuffer;
  dkPre?: ActBuffer;
}

/** What one forward over T tokens writes. */
export interface ForwardLayout {
  T: number;
  ids: ActBuffer;
  /**
   * The residual stream, layer l reading h[l] and writing h[l+1] (indices taken modulo the length):
   * training keeps all L+1 (h[0] = embeddings); decoding keeps one, updated in place, which is sound
   * because a layer reads its input for the last time before it writes its output.
   */
  h: ActBuffer[];
  /** One set (reused by every layer), or one per layer when backward runs without checkpointing. */
  layers: LayerLayout[];
  /** The final norm's output [T, D] and its rstd. */
  hn: ActBuffer;
  rstdF: ActBuffer;
}

/** Per-context activation buffers of training and evaluation. */
export interface ActsLayout extends ForwardLayout {
  /**
   * Training with 16-bit checkpoints: layer l's input as binary16 [T, D] (packed two per u32), and
   * h holds only two f32 buffers (the forward ping-pongs between them; the backward unpacks layer
   * l's input into one and recomputes the layer into the other). Null otherwise.
   */
  ckpt16: ActBuffer[] | null;
  /** Offloaded checkpoints (ActsOptions.offload): ckpt16 is then one buffer, reused by every layer. */
  offload: OffloadLayout | null;
  labels: ActBuffer;
  dHn: ActBuffer;
  loss: ActBuffer;
  grad: GradLayout | null;
}

/** The workspace of one decoding step of T tokens: the forward's buffers and the last row's logits. */
export interface DecodeLayout extends ForwardLayout {
  last: ActBuffer;
  logits: ActBuffer;
}

/** A layout with a Tensor in place of each ActBuffer (what allocating it returns). */
export type Allocated<S> = S extends ActBuffer
  ? Tensor
  : S extends HostBuffer
    ? ArrayBuffer
    : S extends readonly (infer E)[]
      ? Allocated<E>[]
      : S extends object
        ? { [K in keyof S]: Allocated<S[K]> }
        : S;

export type LayerActs = Allocated<LayerLayout>;
export type GradActs = Allocated<GradLayout>;
export type ForwardActs = Allocated<ForwardLayout>;
export type Acts = Allocated<ActsLayout>;
export type DecodeActs = Allocated<DecodeLayout>;

/** How training or evaluation on T tokens runs (actsLayout). */
export interface ActsOptions {
  /** Backward follows (training): its buffers, and the forward's kept for it. */
  withGrad: boolean;
  checkpointing: boolean;
  /** With withGrad and checkpointing: the layer-input checkpoints in 16 bits (ckpt16). */
  checkpoint16: boolean;
  /** Tokens per MLP block (mlpBlockTokens under the runtime's limits). */
  mlpTokens: number;
  /**
   * With withGrad and checkpointing: the layer-input checkpoints live in host memory (offload), not
   * the GPU's; the GPU keeps the one being written or read (ckpt16: one packed buffer; f32: the two
   * residual buffers, one for the layer the backward runs and one for the next one's upload).
   */
  offload?: boolean;
}

/**
 * The buffers of training (withGrad) or evaluation on T tokens: one set of layer intermediates, or
 * one per layer when backward runs without checkpointing. Per-token [T, ·] buffers may pass
 * maxBufferSize (Llama-2-7B's [32768, 4096] is 512 MiB): they are stored in parts of whole token
 * blocks; the [block, F] MLP buffers and the [H, T] statistics are bound whole.
 */
export function actsLayout(
  s: LlamaShape,
  lora: Pick<LoraSettings, 'rank' | 'targets'>,
  T: number,
  o: ActsOptions,
): ActsLayout {
  const D = s.hidden;
  const Hq = s.heads * s.headDim;
  const Hkv = s.kvHeads * s.headDim;
  const F = s.intermediate;
  const Tb = o.mlpTokens;
  const r = lora.rank;
  const a = (shape: number[], label: string, checkpointOf?: number) =>
    new ActBuffer(label, shape, 'f32', 'activations', true, checkpointOf);
  const whole = (shape: number[], label: string) =>
    new ActBuffer(label, shape, 'f32', 'activations', false);
  const sets = o.checkpointing || !o.withGrad ? 1 : s.layers;
  const layers = Array.from({ length: sets }, (_, i): LayerLayout => {
    const xa: Partial<Record<LinearName, ActBuffer>> = {};
    for (const n of lora.targets) xa[n] = a([T, r], `xa ${n} ${i}`);
    return {
      xa,
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
      ...(s.qkNorm
        ? {
            qPre: a([T, Hq], 'q pre-norm'),
            kPre: a([T, Hkv], 'k pre-norm'),
            rstdQ: a([T, s.heads], 'rstd q'),
            rstdK: a([T, s.kvHeads], 'rstd k'),
          }
        : {}),
    };
  });
  const w = (shape: number[], label: string) =>
    new ActBuffer(label, shape, 'f32', 'workspace', true);
  const ws = (shape: number[], label: string) =>
    new ActBuffer(label, shape, 'f32', 'workspace', false);
  // With one layer set (checkpointing, or no backward) buffers whose lifetimes do not meet share
  // one allocation: the final norm's output is written after the last layer's xn1 was read, and
  // recomputed layers write xn1 only after the loss read it; under checkpointing the backward's
  // d(final norm) is read before any layer's dXn is written, d(attention output) is written per
  // row block after the MLP backward last read xn2, and dq after the post-norm backward last read
  // hMid (each layer's recompute writes them again). Same shapes only, so every view is unchanged.
  const one = layers[0]!;
  const shared = sets === 1;
  const recompute = o.withGrad && o.checkpointing;
  const qWide = Hq === D;
  const dXn = w([T, D], 'dXn');
  const grad: GradLayout | null = o.withGrad
    ? {
        dResid: w([T, D], 'dResid'),
        dXn,
        dAttn: recompute && qWide ? one.xn2 : w([T, Hq], 'dAttn'),
        dq: recompute && qWide ? one.hMid : w([T, Hq], 'dq'),
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
  // Layer l's input waits from layer l's forward to its backward: in 16 bits (ckpt16), else h[l];
  // offloaded, in host memory (the GPU keeps one packed buffer, or two f32 ones, see ActsOptions).
  const half = recompute && o.checkpoint16;
  const offload = recompute && o.offload === true;
  const ckpt16 = half
    ? Array.from(
        { length: offload ? 1 : s.layers },
        (_, i) =>
          new ActBuffer(
            offload ? 'h f16' : `h${i} f16`,
            [T, D],
            'f16',
            'activations',
            true,
            offload ? undefined : i,
          ),
      )
    : null;
  const kept = (i: number) => (o.withGrad && !half && !offload && i < s.layers ? i : undefined);
  // The residual stream: one buffer updated in place where no f32 layer input is kept on the GPU
  // (a layer reads its input for the last time before it writes its output), two with f32
  // checkpoints offloaded (the backward's layer and the next one's upload), else all L + 1.
  const hCount = !o.withGrad || half ? 1 : offload ? 2 : s.layers + 1;
  const ckptBytes = half ? ckpt16![0]!.bytes : tensorBytes([T, D], 'f32');
  return {
    T,
    layers,
    grad,
    ckpt16,
    offload: offload
      ? {
          host: Array.from(
            { length: s.layers },
            (_, i) => new HostBuffer(`h${i} (host)`, ckptBytes, i),
          ),
          staging: Array.from(
            { length: OFFLOAD_STAGING_BUFFERS },
            (_, i) =>
              new ActBuffer(
                `checkpoint staging ${i}`,
                [ckptBytes / 4],
                'u32',
                'workspace',
                false,
                undefined,
                true,
              ),
          ),
        }
      : null,
    ids: new ActBuffer('ids', [T], 'u32', 'activations', false),
    labels: new ActBuffer('labels', [T], 'i32', 'activations', false),
    h: Array.from({ length: hCount }, (_, i) => a([T, D], `h${i}`, kept(i))),
    hn: shared ? one.xn1 : a([T, D], 'hn'),
    rstdF: a([T], 'rstdF'),
    dHn: recompute ? dXn : w([T, D], 'dHn'),
    loss: a([1], 'loss'),
  };
}

/**
 * The workspace of a decoding step of T tokens (category workspace). Nothing is kept for backward,
 * so the three norms share one output and one rstd buffer, the LoRA projections share one x·Aᵀ,
 * and the residual stream is one buffer updated in place.
 */
export function decodeLayout(
  s: LlamaShape,
  lora: Pick<LoraSettings, 'rank' | 'targets'>,
  T: number,
  mlpTokens: number,
): DecodeLayout {
  const D = s.hidden;
  const Hq = s.heads * s.headDim;
  const Hkv = s.kvHeads * s.headDim;
  const F = s.intermediate;
  const Tb = mlpTokens;
  const w = (shape: number[], label: string) =>
    new ActBuffer(`decode ${label}`, shape, 'f32', 'workspace', true);
  const ws = (shape: number[], label: string) =>
    new ActBuffer(`decode ${label}`, shape, 'f32', 'workspace', false);
  const xn = w([T, D], 'xn');
  const rstd = w([T], 'rstd');
  const xaShared = w([T, lora.rank], 'xa');
  const xa: Partial<Record<LinearName, ActBuffer>> = {};
  for (const n of lora.targets) xa[n] = xaShared;
  const layer: LayerLayout = {
    xa,
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
    ids: new ActBuffer('decode ids', [T], 'u32', 'workspace', false),
    h: [w([T, D], 'h')],
    layers: [layer],
    hn: xn,
    rstdF: rstd,
    last: ws([1, D], 'last'),
    logits: ws([1, s.vocabSize], 'logits'),
  };
}

/** Every buffer a layout describes, once each (one referenced twice is one buffer), in order. */
export function layoutBuffers(layout: object): ActBuffer[] {
  const out = new Set<ActBuffer>();
  const walk = (x: unknown): void => {
    if (x instanceof ActBuffer) out.add(x);
    else if (Array.isArray(x)) x.forEach(walk);
    else if (x !== null && typeof x === 'object') Object.values(x).forEach(walk);
  };
  walk(layout);
  return [...out];
}

/**
 * Allocates every buffer of a layout (one tensor per description, shared where the description is)
 * and returns the layout with the tensors in their places. On a failed allocation the tensors
 * already made are freed.
 */
export function allocateLayout<S extends object>(rt: Runtime, layout: S): Allocated<S> {
  const made = new Map<ActBuffer, Tensor>();
  const walk = (x: unknown): unknown => {
    if (x instanceof ActBuffer) {
      let t = made.get(x);
      if (!t) {
        t = x.staging
          ? rt.stagingTensor(x.bytes, x.category, x.label)
          : x.perToken
            ? rt.rowsTensor(x.shape, x.dtype, x.category, x.label)
            : rt.tensor(x.shape, x.dtype, x.category, x.label);
        made.set(x, t);
      }
      return t;
    }
    if (x instanceof HostBuffer) return hostBuffer(x);
    if (Array.isArray(x)) return x.map(walk);
    if (x !== null && typeof x === 'object')
      return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, walk(v)]));
    return x;
  };
  try {
    return walk(layout) as Allocated<S>;
  } catch (e) {
    for (const t of made.values()) t.destroy();
    throw e;
  }
}

/** An ArrayBuffer of a HostBuffer's bytes; a failed allocation as an OutOfMemoryError naming it. */
function hostBuffer(x: HostBuffer): ArrayBuffer {
  try {
    return new ArrayBuffer(x.bytes);
  } catch (e) {
    throw new OutOfMemoryError(
      `Host memory: could not allocate ${x.label} (${x.bytes} bytes): ${(e as Error).message}`,
    );
  }
}

/** Every host buffer a layout describes, once each, in order. */
export function layoutHostBuffers(layout: object): HostBuffer[] {
  const out = new Set<HostBuffer>();
  const walk = (x: unknown): void => {
    if (x instanceof HostBuffer) out.add(x);
    else if (x instanceof ActBuffer) return;
    else if (Array.isArray(x)) x.forEach(walk);
    else if (x !== null && typeof x === 'object') Object.values(x).forEach(walk);
  };
  walk(layout);
  return [...out];
}

/** Every tensor of allocated buffers, once each. */
function tensorsOf(acts: object): Tensor[] {
  const out = new Set<Tensor>();
  const walk = (x: unknown): void => {
    if (x instanceof Tensor) out.add(x);
    else if (Array.isArray(x)) x.forEach(walk);
    else if (x !== null && typeof x === 'object') Object.values(x).forEach(walk);
  };
  walk(acts);
  return [...out];
}

/** The buffers of training (withGrad) or evaluation on T tokens (actsLayout) on `rt`. */
export function allocateActs(
  rt: Runtime,
  p: LlamaParams,
  T: number,
  withGrad: boolean,
  checkpointing: boolean,
  checkpoint16 = false,
  offload = false,
): Acts {
  const mlpTokens = mlpBlockTokens(T, p.shape.intermediate, blockBytesLimit(rt.info.limits));
  const layout = actsLayout(p.shape, p.lora, T, {
    withGrad,
    checkpointing,
    checkpoint16,
    mlpTokens,
    offload,
  });
  return allocateLayout(rt, layout);
}

/** h[i] of the residual stream (see ForwardLayout.h). */
export function residual(acts: ForwardActs, i: number): Tensor {
  return acts.h[i % acts.h.length]!;
}

export function destroyActs(acts: Acts): void {
  for (const t of tensorsOf(acts)) t.destroy();
}

/** The workspace of a decoding step of T tokens (decodeLayout) on `rt`. */
export function allocateDecode(rt: Runtime, p: LlamaParams, T: number): DecodeActs {
  const mlpTokens = mlpBlockTokens(T, p.shape.intermediate, blockBytesLimit(rt.info.limits));
  return allocateLayout(rt, decodeLayout(p.shape, p.lora, T, mlpTokens));
}

export function destroyDecodeActs(ws: DecodeActs): void {
  for (const t of tensorsOf(ws)) t.destroy();
}

/**
 * What a training step's kernels and the model allocate for themselves besides actsLayout (category
 * workspace; described here so planTraining counts them, allocated where named): cross-entropy's
 * logits chunk [rows, V] and row losses [T] (crossEntropyForward), attention's partial output
 * [query block, H·hd] and log-sum-exp [H, T] when a query block meets several key blocks
 * (attentionForward), and the rotary inverse frequencies [head_dim / 2] of up to two rope factors,
 * the run's and generation's (LlamaModel.invFreqFor). The plan counts them as if all were live at
 * once; the cross-entropy and attention ones are freed after each use.
 */
export interface ScratchLayout {
  logits: ActBuffer;
  rowLosses: ActBuffer;
  partialO?: ActBuffer;
  partialLse?: ActBuffer;
  invFreq: ActBuffer[];
}

/** The scratch of a training step on T tokens with `logitsRows` rows a logits chunk. */
export function stepScratch(
  s: LlamaShape,
  T: number,
  o: { logitsRows: number; attention: { query: number; key: number } },
): ScratchLayout {
  const ws = (shape: number[], label: string) =>
    new ActBuffer(label, shape, 'f32', 'workspace', false);
  const n = Math.max(T, 1);
  const invFreq = [s.headDim / 2];
  return {
    logits: ws([o.logitsRows, s.vocabSize], 'cross-entropy logits'),
    rowLosses: ws([n], 'cross-entropy row losses'),
    ...(Math.ceil(n / o.attention.key) > 1
      ? {
          partialO: ws([o.attention.query, s.heads * s.headDim], 'attention partial o'),
          partialLse: ws([s.heads, n], 'attention partial lse'),
        }
      : {}),
    invFreq: [ws(invFreq, 'inv_freq'), ws(invFreq, 'inv_freq (a second rope factor)')],
  };
}
