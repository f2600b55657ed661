/**
 * The LoRA+ graph of the Llama decoder block on the GPU (Llama, Mistral, Qwen2 with its q/k/v
 * biases, Qwen3 with its per-head q/k norms: what differs is read from the shape, src/io/arch.ts): forward, loss, and backward with gradient checkpointing per
 * decoder layer (only each layer's input is kept; the layer is recomputed inside backward), and the
 * same forward in KV-cache mode for generation (`decode`: a prompt's prefill, then one token a step).
 */
import {
  attentionBackward,
  attentionForward,
  type AttentionConfig,
} from '../engine/kernels/attention.ts';
import {
  crossEntropyForward,
  logitsForward,
  type OutputMatmuls,
} from '../engine/kernels/cross_entropy.ts';
import { packCheckpoint16, unpackCheckpoint16 } from '../engine/kernels/checkpoint16.ts';
import { addInto, biasAdd, swigluBackward, swigluForward } from '../engine/kernels/elementwise.ts';
import { embeddingBackward } from '../engine/kernels/embedding.ts';
import {
  frozenLinearBackwardInput,
  frozenLinearForward,
  vocabEmbeddingForward,
} from '../engine/kernels/frozen.ts';
import { loraBackward, loraForward } from '../engine/kernels/lora.ts';
import { linearForward } from '../engine/kernels/matmul.ts';
import {
  headRmsnormBackward,
  headRmsnormForward,
  rmsnormBackward,
  rmsnormAddForward,
  rmsnormForward,
} from '../engine/kernels/rmsnorm.ts';
import { ropeInvFreq, ropeQK } from '../engine/kernels/rope.ts';
import { HostOffload } from '../engine/offload.ts';
import { blockBytesLimit } from '../engine/row-blocks.ts';
import type { Binding, Runtime, Tensor } from '../engine/runtime.ts';
import {
  allocateActs,
  checkpoint16Default,
  destroyActs,
  residual,
  rowBlockTokens,
  tokenBlocks,
  type Acts,
  type ForwardActs,
  type GradActs,
  type LayerActs,
} from './activations.ts';
import { loraScaling } from '../io/peft.ts';
import type { KvCache } from './kv-cache.ts';
import { LlamaParams } from './params.ts';
import { linearShape, type LinearName, type LlamaShape, type PassSettings } from './types.ts';
import { IGNORE_INDEX } from '../util/labels.ts';
import { InternalError } from '../util/errors.ts';

/** A forward in KV-cache mode: its T tokens sit at positions offset… of `cache`. */
interface CacheStep {
  cache: KvCache;
  offset: number;
}

export interface StepInput {
  ids: Uint32Array;
  /** Target for each position (already shifted), −100 = ignore. */
  labels: Int32Array;
}

/** How backward gets each layer's intermediates. */
export interface ModelOptions {
  /** Keep only each decoder layer's input and recompute the layer in backward. */
  checkpointing: boolean;
  /**
   * With checkpointing, keep those inputs as IEEE binary16 (half the bytes): the forward and the loss
   * use the f32 values; the backward recomputes each layer from its input rounded to nearest even.
   * Gradients then differ from exact f32 checkpoints by ≲ 7e-4 norm-wise relative (measured on the
   * parity models). Default checkpoint16Default(shape): on for hidden ≥ 1024.
   */
  checkpoint16?: boolean;
  /**
   * Which kernels compute the output layer's products (crossEntropyForward's `matmuls`): 'auto'
   * (default) the tuned linear launchers where W is whole and aligned and they are faster; 'own'
   * always the cross-entropy kernels, which a row-blocked W uses (tests comparing a split run with
   * an unsplit one bit for bit).
   */
  outputMatmuls?: OutputMatmuls;
  /**
   * With checkpointing, keep the layer-input checkpoints in host memory (issue 27): each is copied
   * out after its layer's forward (read back while the next layer runs) and written back one layer
   * ahead in the backward. The same kernels run in the same order: losses and gradients are
   * identical to the bit. Evaluation and decoding keep no checkpoints, so it changes nothing there.
   */
  offload?: boolean;
}

/**
 * The decoder graph over a set of parameters. Named after the Llama block that every supported
 * architecture shares (RMSNorm, rotary attention, SwiGLU); the architectures' differences are
 * read from the shape (src/io/arch.ts).
 */
export class LlamaModel {
  private acts: Acts | null = null;
  /** The host copies of acts' checkpoints, when offloaded. */
  private host: HostOffload | null = null;
  private invFreq = new Map<number, Tensor>();

  constructor(
    readonly rt: Runtime,
    readonly params: LlamaParams,
    readonly opts: ModelOptions = { checkpointing: true },
  ) {}

  /** Whether training keeps its layer-input checkpoints in 16 bits (see ModelOptions). */
  get checkpoint16(): boolean {
    return this.opts.checkpointing && (this.opts.checkpoint16 ?? checkpoint16Default(this.shape));
  }

  get shape(): LlamaShape {
    return this.params.shape;
  }

  /**
   * One forward and backward on T tokens; parameter gradients ACCUMULATE (+=), each scaled by
   * `gradScale / count` (count = labels not −100). Returns the mean loss.
   */
  async forwardBackward(input: StepInput, pass: PassSettings, gradScale = 1): Promise<number> {
    const { acts, count } = this.prepare(input, true);
    const host = this.host;
    await this.forward(acts, pass, !this.opts.checkpointing, undefined, acts);
    const p = this.params;
    const g = acts.grad!;
    const embedGrad = p.lora.trainEmbed ? p.gradOf(p.trainedEmbed) : undefined;
    crossEntropyForward(this.rt, acts.hn, p.lmHead, acts.labels, acts.loss, {
      T: acts.T,
      D: this.shape.hidden,
      V: this.shape.vocabSize,
      dHidden: acts.dHn,
      dW: p.outputTrainable ? embedGrad : undefined,
      gradScale: gradScale / Math.max(count, 1),
      matmuls: this.opts.outputMatmuls,
    });
    const D = this.shape.hidden;
    const L = this.shape.layers;
    const blocks = this.rowBlocks(acts.T);
    const top = residual(acts, L);
    for (const [t0, n] of blocks) {
      rmsnormBackward(
        this.rt,
        top.rows(t0, n),
        p.norm,
        acts.rstdF.rows(t0, n),
        acts.dHn.rows(t0, n),
        g.dResid.rows(t0, n),
        p.gradOf(p.norm) ?? g.dwFrozen,
        n,
        D,
        { workspace: g.normWs },
      );
    }
    // Offloaded: every layer input is in host memory once the forward's copies have landed; each
    // is written back (into the packed buffer, or an f32 residual buffer) one layer ahead.
    const upload = (l: number) => host!.restore(l, packedOf(acts, l) ?? residual(acts, l));
    if (host) {
      await host.drain();
      upload(L - 1);
    }
    for (let l = L - 1; l >= 0; l--) {
      const la = this.layerActs(acts, l);
      const hIn = residual(acts, l);
      const packed = packedOf(acts, l);
      if (packed) {
        for (const [t0, n] of blocks)
          unpackCheckpoint16(this.rt, halfRows(packed, t0, n, D), hIn.rows(t0, n), n * D);
      }
      // Layer l − 1's input goes up while layer l's backward runs (queued after the unpack above).
      if (host && l > 0) upload(l - 1);
      // The recompute stops before the MLP: layerBackward recomputes it block by block.
      if (this.opts.checkpointing)
        this.layerForward(l, hIn, residual(acts, l + 1), la, acts.T, pass, undefined, false);
      const mlpHeld = !this.opts.checkpointing && la.gate.shape[0] === acts.T;
      this.layerBackward(l, hIn, la, g, acts.T, pass, mlpHeld);
    }
    if (embedGrad) {
      for (const [t0, n] of blocks) {
        const ids = input.ids.subarray(t0, t0 + n);
        embeddingBackward(this.rt, ids, g.dResid.rows(t0, n), embedGrad, n, D);
      }
    }
    const sum = (await this.rt.read(acts.loss))[0]!;
    return sum / Math.max(count, 1);
  }

  /** Mean loss without gradients (evaluation: call with pattern 'full'). */
  async loss(input: StepInput, pass: PassSettings): Promise<{ loss: number; count: number }> {
    const { acts, count } = this.prepare(input, false);
    await this.forward(acts, pass, false);
    crossEntropyForward(this.rt, acts.hn, this.params.lmHead, acts.labels, acts.loss, {
      T: acts.T,
      D: this.shape.hidden,
      V: this.shape.vocabSize,
      matmuls: this.opts.outputMatmuls,
    });
    const sum = (await this.rt.read(acts.loss))[0]!;
    return { loss: sum / Math.max(count, 1), count };
  }

  /**
   * The forward in KV-cache mode: runs `ids` at positions cache.length… (a prompt's prefill, or one
   * new token) with full causal attention over every cached position, appends their keys and values
   * to the cache, and returns the logits [vocab] of the last position.
   */
  async decode(ids: readonly number[], cache: KvCache, ropeFactor: number): Promise<Float32Array> {
    const T = ids.length;
    const offset = cache.length;
    if (cache.model !== this)
      throw new InternalError('decode: the KV cache belongs to another model');
    if (T === 0) throw new InternalError('decode needs at least one token');
    if (offset + T > cache.capacity) {
      throw new InternalError(
        `decode: ${offset} + ${T} positions exceed the KV cache's ${cache.capacity}`,
      );
    }
    const s = this.shape;
    const D = s.hidden;
    const ws = cache.workspace(T);
    this.rt.write(ws.ids, Uint32Array.from(ids));
    const pass: PassSettings = { pattern: 'full', group: offset + T, ropeFactor };
    await this.forward(ws, pass, false, { cache, offset });
    this.rt.copy(ws.hn, ws.last, D * 4, (T - 1) * D * 4, 0);
    logitsForward(this.rt, ws.last, this.params.lmHead, ws.logits, 1, D, s.vocabSize);
    cache.length = offset + T;
    return this.rt.read(ws.logits);
  }

  /** The inverse frequencies for a rope factor (cached). */
  invFreqFor(factor: number): Tensor {
    let t = this.invFreq.get(factor);
    if (!t) {
      const s = this.shape;
      const r = s.ropeScaling;
      const llama3 =
        r?.type === 'llama3'
          ? {
              factor: r.factor,
              low_freq_factor: r.lowFreqFactor,
              high_freq_factor: r.highFreqFactor,
              original_max_position_embeddings: r.originalMaxPositions,
            }
          : undefined;
      const data = ropeInvFreq(s.headDim, s.ropeTheta, factor, llama3);
      t = this.rt.tensor([data.length], 'f32', 'workspace', `inv_freq x${factor}`, data);
      this.invFreq.set(factor, t);
    }
    return t;
  }

  /** Bytes of host memory the offloaded checkpoints hold (0 unless offloaded). */
  get hostBytes(): number {
    return this.acts?.offload ? this.acts.offload.host.reduce((n, b) => n + b.byteLength, 0) : 0;
  }

  /** Frees activation buffers (parameters stay). */
  releaseActivations(): void {
    if (!this.acts) return;
    destroyActs(this.acts);
    this.acts = null;
    this.host = null;
  }

  destroy(): void {
    this.releaseActivations();
    for (const t of this.invFreq.values()) t.destroy();
    this.invFreq.clear();
  }

  private prepare(input: StepInput, withGrad: boolean): { acts: Acts; count: number } {
    const T = input.ids.length;
    if (input.labels.length !== T) throw new InternalError('ids and labels differ in length');
    if (this.acts && (this.acts.T !== T || (withGrad && !this.acts.grad)))
      this.releaseActivations();
    this.acts ??= allocateActs(
      this.rt,
      this.params,
      T,
      withGrad,
      this.opts.checkpointing,
      this.checkpoint16,
      this.opts.offload === true,
    );
    const off = this.acts.offload;
    this.host = off ? new HostOffload(this.rt, off.staging, off.host) : null;
    this.rt.write(this.acts.ids, input.ids);
    this.rt.write(this.acts.labels, input.labels);
    let count = 0;
    for (const l of input.labels) if (l !== IGNORE_INDEX) count++;
    return { acts: this.acts, count };
  }

  /**
   * The forward of the whole model up to the final norm (acts.hn); with `step`, in KV-cache mode.
   * keepAll keeps every layer's intermediates (backward without checkpointing); `train` (training
   * with checkpointing) receives each layer's input: in 16 bits with checkpoint16, and copied to host
   * memory after the layer when offloaded.
   */
  private async forward(
    acts: ForwardActs,
    pass: PassSettings,
    keepAll: boolean,
    step?: CacheStep,
    train?: Acts,
  ): Promise<void> {
    const p = this.params;
    const s = this.shape;
    const T = acts.T;
    const D = s.hidden;
    const blocks = this.rowBlocks(T);
    const h0 = residual(acts, 0);
    for (const [t0, n] of blocks)
      vocabEmbeddingForward(this.rt, acts.ids.rows(t0, n), p.embed, h0.rows(t0, n), n, D);
    for (let l = 0; l < s.layers; l++) {
      const la = keepAll ? this.layerActs(acts, l) : acts.layers[0]!;
      const h = residual(acts, l);
      const packed = train && packedOf(train, l);
      if (packed) {
        for (const [t0, n] of blocks)
          packCheckpoint16(this.rt, h.rows(t0, n), halfRows(packed, t0, n, D), n * D);
      }
      this.layerForward(l, h, residual(acts, l + 1), la, T, pass, step);
      // Submitted with the layer; read back while the next layer runs (one staging buffer a layer).
      if (train?.offload && this.host) await this.host.save(l, packed ?? h);
    }
    const top = residual(acts, s.layers);
    for (const [t0, n] of blocks) {
      const [x, y, rstd] = [top.rows(t0, n), acts.hn.rows(t0, n), acts.rstdF.rows(t0, n)];
      rmsnormForward(this.rt, x, p.norm, y, rstd, n, D, s.rmsEps);
    }
  }

  /**
   * [first token, count] of the token blocks the row-local ops run in (rowBlockTokens under the
   * runtime's limits: one block of all T unless a [T, width] buffer passes the binding limit).
   */
  private rowBlocks(T: number): [number, number][] {
    return tokenBlocks(T, rowBlockTokens(this.shape, T, blockBytesLimit(this.rt.info.limits)));
  }

  private layerActs(acts: ForwardActs, l: number): LayerActs {
    return this.opts.checkpointing ? acts.layers[0]! : acts.layers[l]!;
  }

  /**
   * Applies a (frozen + optional LoRA) linear to T tokens: y = x·Wᵀ + b + s·(x·Aᵀ)·Bᵀ (b: the
   * architecture's frozen bias, if this projection has one). x and y may be row views (an MLP token
   * block); the LoRA x·Aᵀ goes to rows t0… of la.xa.
   */
  private linear(
    l: number,
    n: LinearName,
    x: Binding,
    y: Binding,
    la: LayerActs,
    T: number,
    t0 = 0,
  ): void {
    const [out, inF] = linearShape(this.shape, n);
    const layer = this.params.layers[l]!;
    frozenLinearForward(this.rt, x, layer.w[n], y, T, inF, out);
    const pair = layer.lora[n];
    if (pair) {
      const r = this.params.lora.rank;
      const xa = la.xa[n]!.rows(t0, T);
      loraForward(this.rt, x, pair.A, pair.B, xa, y, T, inF, out, r, this.scaling);
    }
    const bias = layer.bias[n];
    if (bias) biasAdd(this.rt, y, bias, T, out);
  }

  /**
   * dx (= or +=) from dy through a (frozen + LoRA) linear; LoRA gradients accumulate. A bias is
   * frozen: dy passes through it unchanged.
   */
  private linearBack(
    l: number,
    n: LinearName,
    x: Binding,
    dy: Binding,
    dx: Binding,
    accumulate: boolean,
    la: LayerActs,
    g: GradActs,
    T: number,
    t0 = 0,
  ): void {
    const [out, inF] = linearShape(this.shape, n);
    const layer = this.params.layers[l]!;
    frozenLinearBackwardInput(this.rt, dy, layer.w[n], dx, T, inF, out, { accumulate });
    const pair = layer.lora[n];
    if (pair) {
      const r = this.params.lora.rank;
      const dA = this.params.gradOf(pair.A)!;
      const dB = this.params.gradOf(pair.B)!;
      loraBackward(
        this.rt,
        x,
        pair.A,
        pair.B,
        la.xa[n]!.rows(t0, T),
        dy,
        dA,
        dB,
        dx,
        g.loraWs,
        T,
        inF,
        out,
        r,
        this.scaling,
      );
    }
  }

  private get scaling(): number {
    return loraScaling(this.params.lora.alpha, this.params.lora.rank);
  }

  /** T queries at positions offset… over the first offset + T keys (offset 0 without a cache). */
  private attnCfg(T: number, pass: PassSettings, offset = 0): AttentionConfig {
    const s = this.shape;
    return {
      Tq: T,
      Tk: offset + T,
      H: s.heads,
      KV: s.kvHeads,
      hd: s.headDim,
      pattern: pass.pattern,
      group: pass.group,
      qOffset: offset,
    };
  }

  /**
   * One decoder layer: hOut = layer(hIn) (hOut may be hIn). With `step` its tokens sit at positions
   * step.offset…: rotary uses those positions, the rotated keys and the values are appended to the
   * cache, and attention (pattern full) reads every cached position up to the last query. The MLP
   * runs in token blocks (see mlpForward); with `mlp` false the layer stops after the second norm
   * (backward's recompute under checkpointing: layerBackward recomputes the MLP block by block) and
   * leaves hOut as it was.
   */
  private layerForward(
    l: number,
    hIn: Tensor,
    hOut: Tensor,
    la: LayerActs,
    T: number,
    pass: PassSettings,
    step?: CacheStep,
    mlp = true,
  ): void {
    const s = this.shape;
    const layer = this.params.layers[l]!;
    const rt = this.rt;
    const offset = step?.offset ?? 0;
    const D = s.hidden;
    const blocks = this.rowBlocks(T);
    const inv = this.invFreqFor(pass.ropeFactor);
    for (const [t0, n] of blocks) {
      const xn = la.xn1.rows(t0, n);
      rmsnormForward(
        rt,
        hIn.rows(t0, n),
        layer.inputNorm,
        xn,
        la.rstd1.rows(t0, n),
        n,
        D,
        s.rmsEps,
      );
      const q = la.q.rows(t0, n);
      const kb = la.k.rows(t0, n);
      if (layer.qNorm && layer.kNorm) {
        // Qwen3: q and k projected into qPre/kPre, then each head RMS-normed into q/k, before RoPE.
        const [qPre, kPre] = [la.qPre!.rows(t0, n), la.kPre!.rows(t0, n)];
        this.linear(l, 'q_proj', xn, qPre, la, n, t0);
        this.linear(l, 'k_proj', xn, kPre, la, n, t0);
        const [rq, rk] = [la.rstdQ!.rows(t0, n), la.rstdK!.rows(t0, n)];
        headRmsnormForward(rt, qPre, layer.qNorm, q, rq, n, s.heads, s.headDim, s.rmsEps);
        headRmsnormForward(rt, kPre, layer.kNorm, kb, rk, n, s.kvHeads, s.headDim, s.rmsEps);
      } else {
        this.linear(l, 'q_proj', xn, q, la, n, t0);
        this.linear(l, 'k_proj', xn, kb, la, n, t0);
      }
      this.linear(l, 'v_proj', xn, la.v.rows(t0, n), la, n, t0);
      ropeQK(rt, q, kb, inv, n, s.heads, s.kvHeads, s.headDim, offset + t0, 1);
    }
    let k = la.k;
    let v = la.v;
    if (step) {
      const rowBytes = s.kvHeads * s.headDim * 4;
      k = step.cache.k[l]!;
      v = step.cache.v[l]!;
      rt.copy(la.k, k, T * rowBytes, 0, offset * rowBytes);
      rt.copy(la.v, v, T * rowBytes, 0, offset * rowBytes);
    }
    attentionForward(rt, la.q, k, v, la.attn, la.lse, this.attnCfg(T, pass, offset));
    for (const [t0, n] of blocks) {
      const hMid = la.hMid.rows(t0, n);
      this.linear(l, 'o_proj', la.attn.rows(t0, n), hMid, la, n, t0);
      // hMid += hIn and its norm into xn2, one launch.
      const [xn2, rstd2] = [la.xn2.rows(t0, n), la.rstd2.rows(t0, n)];
      rmsnormAddForward(rt, hMid, hIn.rows(t0, n), layer.postNorm, xn2, rstd2, n, D, s.rmsEps);
    }
    if (!mlp) return;
    for (const [t0, n] of tokenBlocks(T, la.gate.shape[0]!)) this.mlpForward(l, la, t0, n, hOut);
    for (const [t0, n] of blocks) addInto(rt, hOut.rows(t0, n), la.hMid.rows(t0, n), n * D);
  }

  /**
   * The MLP of tokens t0 … t0 + n − 1 (one block): gate and up from those rows of xn2 into the
   * block buffers la.gate / la.up, SwiGLU into la.act, then down_proj into those rows of hOut. With
   * hOut null (backward's recompute) down_proj's output is skipped; only its LoRA x·Aᵀ, which its
   * weight gradient reads, is computed.
   */
  private mlpForward(l: number, la: LayerActs, t0: number, n: number, hOut: Tensor | null): void {
    const F = this.shape.intermediate;
    const xn2 = la.xn2.rows(t0, n);
    this.linear(l, 'gate_proj', xn2, la.gate, la, n, t0);
    this.linear(l, 'up_proj', xn2, la.up, la, n, t0);
    swigluForward(this.rt, la.gate, la.up, la.act, n * F);
    if (hOut) {
      this.linear(l, 'down_proj', la.act, hOut.rows(t0, n), la, n, t0);
      return;
    }
    const pair = this.params.layers[l]!.lora.down_proj;
    if (pair) {
      const xa = la.xa.down_proj!.rows(t0, n);
      linearForward(this.rt, la.act, pair.A, xa, n, F, this.params.lora.rank);
    }
  }

  /**
   * On entry g.dResid holds d(layer output); on exit d(layer input). The MLP runs in token blocks;
   * unless `mlpHeld` (its one block still holds the forward's gate/up/act) each block's forward is
   * recomputed first. LoRA weight gradients accumulate over the blocks.
   */
  private layerBackward(
    l: number,
    hIn: Tensor,
    la: LayerActs,
    g: GradActs,
    T: number,
    pass: PassSettings,
    mlpHeld: boolean,
  ): void {
    const s = this.shape;
    const rt = this.rt;
    const p = this.params;
    const layer = p.layers[l]!;
    for (const [t0, n] of tokenBlocks(T, la.gate.shape[0]!)) {
      if (!mlpHeld) this.mlpForward(l, la, t0, n, null);
      const xn2 = la.xn2.rows(t0, n);
      const dXn = g.dXn.rows(t0, n);
      this.linearBack(l, 'down_proj', la.act, g.dResid.rows(t0, n), g.dAct, false, la, g, n, t0);
      swigluBackward(rt, la.gate, la.up, g.dAct, g.dGate, g.dUp, n * s.intermediate);
      this.linearBack(l, 'gate_proj', xn2, g.dGate, dXn, false, la, g, n, t0);
      this.linearBack(l, 'up_proj', xn2, g.dUp, dXn, true, la, g, n, t0);
    }
    const D = s.hidden;
    const blocks = this.rowBlocks(T);
    const norm = { accumulateDx: true, workspace: g.normWs };
    for (const [t0, n] of blocks) {
      const [x, rstd, dy, dx] = [la.hMid, la.rstd2, g.dXn, g.dResid].map((t) => t.rows(t0, n));
      const dw = p.gradOf(layer.postNorm) ?? g.dwFrozen;
      rmsnormBackward(rt, x!, layer.postNorm, rstd!, dy!, dx!, dw, n, D, norm);
      const dAttn = g.dAttn.rows(t0, n);
      this.linearBack(l, 'o_proj', la.attn.rows(t0, n), dx!, dAttn, false, la, g, n, t0);
    }
    attentionBackward(
      rt,
      la.q,
      la.k,
      la.v,
      la.attn,
      la.lse,
      g.dAttn,
      g.dq,
      g.dk,
      g.dv,
      this.attnCfg(T, pass),
      g.attnWs,
    );
    const inv = this.invFreqFor(pass.ropeFactor);
    for (const [t0, n] of blocks) {
      const [dq, dk, dv, xn, dXn] = [g.dq, g.dk, g.dv, la.xn1, g.dXn].map((t) => t.rows(t0, n));
      ropeQK(rt, dq!, dk!, inv, n, s.heads, s.kvHeads, s.headDim, t0, -1);
      let [dqIn, dkIn] = [dq!, dk!];
      if (layer.qNorm && layer.kNorm) {
        // Through the per-head norms: d(q, k before the norm) and the norm weights' gradients.
        const hs = { workspace: g.normWs };
        [dqIn, dkIn] = [g.dqPre!.rows(t0, n), g.dkPre!.rows(t0, n)];
        const [qPre, kPre] = [la.qPre!.rows(t0, n), la.kPre!.rows(t0, n)];
        const [rq, rk] = [la.rstdQ!.rows(t0, n), la.rstdK!.rows(t0, n)];
        const dwq = p.gradOf(layer.qNorm) ?? g.dwFrozen;
        const dwk = p.gradOf(layer.kNorm) ?? g.dwFrozen;
        headRmsnormBackward(rt, qPre, layer.qNorm, rq, dq!, dqIn, dwq, n, s.heads, s.headDim, hs);
        headRmsnormBackward(rt, kPre, layer.kNorm, rk, dk!, dkIn, dwk, n, s.kvHeads, s.headDim, hs);
      }
      this.linearBack(l, 'q_proj', xn!, dqIn, dXn!, false, la, g, n, t0);
      this.linearBack(l, 'k_proj', xn!, dkIn, dXn!, true, la, g, n, t0);
      this.linearBack(l, 'v_proj', xn!, dv!, dXn!, true, la, g, n, t0);
      const [x, rstd, dx] = [hIn.rows(t0, n), la.rstd1.rows(t0, n), g.dResid.rows(t0, n)];
      const dw = p.gradOf(layer.inputNorm) ?? g.dwFrozen;
      rmsnormBackward(rt, x, layer.inputNorm, rstd, dXn!, dx, dw, n, D, norm);
    }
  }
}

/** The packed 16-bit buffer that holds layer l's input, if any (one for every layer when offloaded). */
function packedOf(acts: Acts, l: number): Tensor | undefined {
  return acts.ckpt16?.[acts.offload ? 0 : l];
}

/**
 * Rows t0 … t0 + n − 1 of a packed 16-bit [T, D] checkpoint as a binding (the whole tensor when that
 * is all of it). t0 a multiple of 64 and D even keep the view's offset a multiple of 256 bytes; the
 * last block's view runs to the buffer's 4-byte-padded end.
 */
function halfRows(t: Tensor, t0: number, n: number, D: number): Binding {
  const T = t.shape[0] ?? 1;
  if (t0 === 0 && n === T && !t.split) return t;
  const offset = t0 * D * 2;
  return { tensor: t, offset, size: t0 + n === T ? t.bytes - offset : n * D * 2 };
}
