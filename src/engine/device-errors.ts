/**
 * The device's asynchronous failures, surfaced at the next sync point: device loss (with listeners),
 * the first uncaptured or error-scope error (out of memory, validation, shader compilation) held
 * until checked, and the real cause of a call that failed because the device was being lost.
 */
import { DeviceLostError, GPUValidationError, OutOfMemoryError } from './errors.ts';
import type { MemoryCategory } from './memory.ts';

/** How long a failed call waits for device.lost to settle before trusting its own error. */
const LOSS_SETTLE_MS = 1000;

/** One device's pending error and loss. */
export class DeviceErrors {
  private pending: Error | null = null;
  private lost: DeviceLostError | null = null;
  /** Set before the runtime destroys the device itself: that loss is not an error. */
  destroying = false;
  private readonly lostListeners = new Set<(e: DeviceLostError) => void>();

  constructor(private readonly device: GPUDevice) {
    void device.lost.then((info) => {
      if (this.destroying) return;
      this.lost = new DeviceLostError(
        `The GPU device was lost (${info.reason}): ${info.message || 'no message'}. ` +
          'Training can resume from the last checkpoint.',
        String(info.reason),
      );
      for (const l of this.lostListeners) l(this.lost);
    });
    device.addEventListener('uncapturederror', (ev) => {
      const err = (ev as GPUUncapturedErrorEvent).error;
      this.report(
        err instanceof GPUOutOfMemoryError
          ? new OutOfMemoryError(`GPU out of memory: ${err.message}`)
          : new GPUValidationError(`GPU error: ${err.message}`),
      );
    });
  }

  /** Whether an error is already waiting (later ones are dropped: the first is the cause). */
  get hasPending(): boolean {
    return this.pending !== null;
  }

  /**
   * Holds `e` for the next check, unless an earlier error already waits (or, with `replace`, in its
   * place: a pipeline's compiler messages, fetched after the error, name the cause better).
   */
  report(e: Error, replace = false): void {
    if (!this.pending || replace) this.pending = e;
  }

  /** Calls `fn` when the device is lost. Returns an unsubscribe function. */
  onDeviceLost(fn: (e: DeviceLostError) => void): () => void {
    this.lostListeners.add(fn);
    return () => this.lostListeners.delete(fn);
  }

  /** Throws the device-lost or a pending asynchronous error, if any. */
  check(): void {
    if (this.lost) throw this.lost;
    const e = this.pending;
    if (e) {
      this.pending = null;
      throw e;
    }
  }

  /**
   * The real cause of a failed GPU call. A lost device first shows up as whatever the pending call
   * rejected with (an aborted mapAsync, a validation error) and settles device.lost just after:
   * waits up to LOSS_SETTLE_MS for it, so callers see DeviceLostError (or a pending out-of-memory
   * error) rather than the abort.
   */
  async causeOf(e: unknown): Promise<unknown> {
    if (e instanceof DeviceLostError) return e;
    await Promise.race([this.device.lost, new Promise((r) => setTimeout(r, LOSS_SETTLE_MS))]);
    await new Promise((r) => setTimeout(r, 0));
    try {
      this.check();
    } catch (pending) {
      return pending;
    }
    return e;
  }
}

/**
 * The error for an allocation the GPU refused: names the buffer and the memory category that failed
 * (what the studio's memory chart shows), with what each category already held.
 */
export function outOfMemory(
  label: string,
  category: MemoryCategory,
  bytes: number,
  inUse: Record<MemoryCategory, number>,
  detail: string,
): OutOfMemoryError {
  const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;
  const held = Object.entries(inUse)
    .filter(([, n]) => n > 0)
    .map(([c, n]) => `${c} ${mib(n)}`)
    .join(', ');
  return new OutOfMemoryError(
    `GPU out of memory allocating ${category} (${label}, ${mib(bytes)}); already in use: ` +
      `${held || 'nothing'}. ${detail}`,
    bytes,
    category,
  );
}
