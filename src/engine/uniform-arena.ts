/**
 * The uniform arena: every dispatch's Params bytes go into 64 KiB chunks of one uniform buffer
 * family, staged on the CPU and written once per submit, so recording a step creates no buffers.
 */

const UNIFORM_CHUNK = 64 * 1024;

/** Uniform chunks of one device, reused across submits. */
export class UniformArena {
  private chunks: GPUBuffer[] = [];
  private staging: Uint8Array<ArrayBuffer>[] = [];
  private chunk = 0;
  private offset = 0;
  private readonly align: number;

  constructor(private readonly device: GPUDevice) {
    this.align = device.limits.minUniformBufferOffsetAlignment;
  }

  /** A binding of `bytes` staged in the current chunk (written to the GPU by upload()). */
  alloc(bytes: ArrayBuffer): GPUBufferBinding {
    const size = Math.ceil(bytes.byteLength / 16) * 16;
    if (this.offset + size > UNIFORM_CHUNK) {
      this.chunk++;
      this.offset = 0;
    }
    while (this.chunks.length <= this.chunk) {
      this.chunks.push(
        this.device.createBuffer({
          label: 'uniform arena',
          size: UNIFORM_CHUNK,
          usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
        }),
      );
      this.staging.push(new Uint8Array(UNIFORM_CHUNK));
    }
    const offset = this.offset;
    this.staging[this.chunk]!.set(new Uint8Array(bytes), offset);
    this.offset = Math.ceil((offset + size) / this.align) * this.align;
    return { buffer: this.chunks[this.chunk]!, offset, size };
  }

  /** Writes what was staged since the last upload to the GPU (before the submit that reads it). */
  upload(): void {
    for (let i = 0; i <= this.chunk && i < this.chunks.length; i++) {
      const used = i < this.chunk ? UNIFORM_CHUNK : this.offset;
      if (used > 0) this.device.queue.writeBuffer(this.chunks[i]!, 0, this.staging[i]!, 0, used);
    }
  }

  /** Starts over at the first chunk (after a submit). */
  reset(): void {
    this.chunk = 0;
    this.offset = 0;
  }

  destroy(): void {
    for (const b of this.chunks) b.destroy();
    this.chunks = [];
    this.staging = [];
  }
}
