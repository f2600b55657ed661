/** The KV cache of one generated sequence, filled by LlamaModel.decode (src/model/llama.ts). */
import type { Tensor } from '../engine/runtime.ts';
import { allocateDecode, destroyDecodeActs, type DecodeActs } from './activations.ts';
import type { LlamaModel } from './llama.ts';
import { InternalError } from '../util/errors.ts';

/**
 * The state of one generated sequence: each layer's rotated keys and values for up to `capacity`
 * positions (category activations), how many are filled, and the workspace of the current step
 * (kept while steps keep one size: the prompt's length, then 1). destroy() frees all of it.
 */
export class KvCache {
  /** Per layer [capacity, kvHeads·headDim], in parts past maxBufferSize (Runtime.rowsTensor). */
  readonly k: Tensor[];
  readonly v: Tensor[];
  /** Positions filled so far. */
  length = 0;
  private ws: DecodeActs | null = null;

  constructor(
    readonly model: LlamaModel,
    readonly capacity: number,
  ) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new InternalError(`KV cache capacity must be a positive integer, got ${capacity}`);
    const s = model.shape;
    const Hkv = s.kvHeads * s.headDim;
    const cache = (kind: string, l: number) =>
      model.rt.rowsTensor([capacity, Hkv], 'f32', 'activations', `${kind} cache ${l}`);
    this.k = Array.from({ length: s.layers }, (_, l) => cache('k', l));
    this.v = Array.from({ length: s.layers }, (_, l) => cache('v', l));
  }

  /** The workspace for a step of T tokens (LlamaModel.decode), reallocated when T changes. */
  workspace(T: number): DecodeActs {
    if (this.ws?.T !== T) {
      this.releaseWorkspace();
      this.ws = allocateDecode(this.model.rt, this.model.params, T);
    }
    return this.ws;
  }

  destroy(): void {
    this.releaseWorkspace();
    for (const t of [...this.k, ...this.v]) t.destroy();
  }

  private releaseWorkspace(): void {
    if (!this.ws) return;
    destroyDecodeActs(this.ws);
    this.ws = null;
  }
}
