/**
 * Tensor allocation and memory accounting: every live tensor's bytes counted under its category
 * (MemoryTracker, what the studio's memory chart and the plan compare), buffers past maxBufferSize
 * refused or (rowsTensor) split into parts, and an allocation the GPU refuses reported as an
 * out-of-memory error naming the buffer and what each category held.
 */
import { outOfMemory, type DeviceErrors } from './device-errors.ts';
import { TooLargeError } from './errors.ts';
import { MemoryTracker, type MemoryCategory } from './memory.ts';
import type { Runtime } from './runtime.ts';
import { Tensor } from './tensor.ts';
import { DTYPE_BYTES, type DType } from '../util/dtype.ts';

/**
 * Bytes a tensor of `shape` allocates (all its parts together, when split): its elements' bytes
 * padded to a multiple of 4, at least 4. The memory plan sizes the activations by it too
 * (model/activations.ts).
 */
export function tensorBytes(shape: readonly number[], dtype: DType): number {
  const elements = shape.reduce((a, b) => a * b, 1);
  return Math.max(4, Math.ceil((elements * DTYPE_BYTES[dtype]) / 4) * 4);
}

/** One device's live tensors and their bytes per category. */
export class TensorAllocator {
  readonly memory = new MemoryTracker();
  private readonly live = new Set<Tensor>();

  constructor(
    private readonly rt: Runtime,
    private readonly errors: DeviceErrors,
  ) {}

  /**
   * A tensor of `shape`: one buffer when it fits maxBufferSize, else parts of `partBytes` bytes
   * (Infinity: never split; 0: rows too wide to split). `usage`: a storage buffer (default), or a
   * staging buffer the CPU maps to read (MAP_READ | COPY_DST: only copied into, never bound).
   */
  allocate(
    shape: readonly number[],
    dtype: DType,
    category: MemoryCategory,
    label: string,
    partBytes: number,
    usage: 'storage' | 'read-staging' = 'storage',
  ): Tensor {
    this.errors.check();
    const device = this.rt.device;
    const bytes = tensorBytes(shape, dtype);
    const limit = this.rt.info.limits.maxBufferSize;
    // One buffer when it fits; a rowsTensor past the limit in parts of partBytes (0: rows too wide).
    const per = bytes > limit ? partBytes : bytes;
    if (per > limit || per < 1) throw new TooLargeError(label, bytes, 'maxBufferSize', limit);
    const count = Math.ceil(bytes / per);
    device.pushErrorScope('out-of-memory');
    const parts = Array.from({ length: count }, (_, i) =>
      device.createBuffer({
        label: count > 1 ? `${label} (part ${i + 1} of ${count})` : label,
        size: i < count - 1 ? per : bytes - per * (count - 1),
        usage:
          usage === 'storage'
            ? GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST
            : GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
      }),
    );
    const inUse = this.memory.snapshot().current;
    void device.popErrorScope().then((err) => {
      if (err) this.errors.report(outOfMemory(label, category, bytes, inUse, err.message));
    });
    const t = new Tensor(this.rt, parts, [...shape], dtype, category, bytes, label, per);
    this.live.add(t);
    this.memory.alloc(category, bytes);
    return t;
  }

  /**
   * Returns a tensor's bytes and destroys its buffers through `destroy` (Tensor.destroy() calls it
   * through the Runtime, which defers the buffers' destroy past the next submit while commands are
   * recorded).
   */
  release(
    t: Tensor,
    destroy: (buffers: readonly GPUBuffer[]) => void = (bs) => bs.forEach((b) => b.destroy()),
  ): void {
    if (!this.live.delete(t)) return;
    this.memory.free(t.category, t.bytes);
    destroy(t.parts);
  }

  /** Live tensors (for leak checks). */
  get liveCount(): number {
    return this.live.size;
  }

  /** Destroys every live tensor. */
  destroyAll(): void {
    for (const t of [...this.live]) t.destroy();
  }
}
