/**
 * Host copies of GPU tensors (offloaded gradient checkpoints, issue 27): `save` records a tensor's
 * copy into a read-staging buffer and maps it while the GPU goes on with what was submitted after
 * it; the bytes land in a host ArrayBuffer (the worker's or the process's memory, not the GPU's)
 * once the mapping resolves, which the next save into the same staging buffer (one rotation later)
 * or `drain` awaits. `restore` writes a host copy back through the queue (in order with the
 * dispatches recorded before it). The bytes are copied, never converted: a restored tensor holds
 * exactly what was saved.
 */
import { InternalError } from '../util/errors.ts';
import type { Runtime, Tensor } from './runtime.ts';

export class HostOffload {
  private next = 0;
  private readonly pending: (Promise<void> | null)[];
  private failure: unknown = null;

  constructor(
    private readonly rt: Runtime,
    /** Read-staging tensors (Runtime.stagingTensor), each as large as the largest saved tensor. */
    readonly staging: readonly Tensor[],
    /** The host copies, one per slot. */
    readonly host: readonly ArrayBuffer[],
  ) {
    if (staging.length === 0) throw new InternalError('HostOffload needs a staging buffer');
    this.pending = staging.map(() => null);
  }

  /**
   * Submits what is recorded, then (once the staging buffer's previous copy has reached the host)
   * records and submits `src`'s copy into host slot `slot` and starts mapping it. Call it after
   * recording the work that should overlap the previous copy's read-back.
   */
  async save(slot: number, src: Tensor): Promise<void> {
    const dst = this.host[slot];
    if (!dst || dst.byteLength < src.bytes)
      throw new InternalError(`offload: ${src.label} does not fit host slot ${slot}`);
    const k = this.next++ % this.staging.length;
    const s = this.staging[k]!;
    if (s.bytes < src.bytes)
      throw new InternalError(`offload: ${src.label} is larger than its staging buffer`);
    this.rt.flush();
    await this.pending[k];
    this.check();
    this.rt.copy(src, s, src.bytes);
    this.rt.flush();
    // Caught here and rethrown at the next save or drain, so a failed mapping is never unhandled.
    this.pending[k] = this.rt.readStaging(s, new Uint8Array(dst, 0, src.bytes)).catch((e) => {
      this.failure ??= e;
    });
  }

  /** Waits until every saved copy is in host memory. */
  async drain(): Promise<void> {
    this.rt.flush();
    await Promise.all(this.pending);
    this.pending.fill(null);
    this.check();
  }

  /** Writes host slot `slot` back into `dst` (queued after everything recorded before). */
  restore(slot: number, dst: Tensor): void {
    const src = this.host[slot];
    if (!src) throw new InternalError(`offload: no host slot ${slot}`);
    this.rt.write(dst, new Uint8Array(src, 0, dst.bytes));
  }

  private check(): void {
    if (this.failure === null) return;
    const e = this.failure;
    this.failure = null;
    throw e;
  }
}
