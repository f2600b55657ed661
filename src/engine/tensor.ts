/**
 * GPU tensors and their bindings: a Tensor is one buffer, or consecutive parts of one past
 * maxBufferSize, with a shape, a dtype and a memory category; a TensorView binds a byte range of one
 * as if it were the whole buffer. The Runtime allocates them (see allocator.ts).
 */
import { DTYPE_BYTES, type DType } from '../util/dtype.ts';
import { InternalError } from '../util/errors.ts';
import type { MemoryCategory } from './memory.ts';
import type { Runtime } from './runtime.ts';

/**
 * A byte range of a tensor bound as if it were the whole buffer (the shader sees its first byte at
 * index 0). The offset must be a multiple of the device's minStorageBufferOffsetAlignment; the
 * binding limit applies to `size`, not to the tensor. Tensor.rows makes one.
 */
export interface TensorView {
  tensor: Tensor;
  offset: number;
  size: number;
}

/** A buffer binding: a whole tensor, or a byte range of one. */
export type Binding = Tensor | TensorView;

/** The tensor a binding reads or writes. */
export function bindingTensor(b: Binding): Tensor {
  return b instanceof Tensor ? b : b.tensor;
}

/** Bytes a binding covers. */
export function bindingBytes(b: Binding): number {
  return b instanceof Tensor ? b.bytes : b.size;
}

/** A byte range of one of a tensor's buffers. */
export interface BufferRange {
  buffer: GPUBuffer;
  /** Offset within `buffer`. */
  offset: number;
  /** Offset within the tensor. */
  at: number;
  bytes: number;
}

/**
 * A GPU buffer with a shape, a dtype and a memory category; destroy() returns its bytes. A tensor
 * from Runtime.rowsTensor larger than maxBufferSize is stored in several buffers ("parts") of
 * `partBytes` bytes each (the last may be shorter), each a whole number of rows: it is bound only
 * through row views that lie inside one part (Tensor.rows), and read, written, zeroed and copied
 * across parts by the Runtime.
 */
export class Tensor {
  private alive = true;
  constructor(
    readonly rt: Runtime,
    /** Its buffers: one, or consecutive parts of partBytes bytes each. */
    readonly parts: readonly GPUBuffer[],
    readonly shape: readonly number[],
    readonly dtype: DType,
    readonly category: MemoryCategory,
    readonly bytes: number,
    readonly label: string,
    /** Bytes of each part but the last (all bytes when there is one). */
    readonly partBytes = bytes,
  ) {}

  /** The tensor's one buffer; throws for a tensor stored in parts (bind it through row views). */
  get buffer(): GPUBuffer {
    if (this.parts.length > 1) {
      throw new InternalError(
        `${this.label} is stored in ${this.parts.length} buffers of ${this.partBytes} bytes ` +
          '(past maxBufferSize); bind it through row views within one buffer (Tensor.rows)',
      );
    }
    return this.parts[0]!;
  }

  /** Stored in more than one buffer. */
  get split(): boolean {
    return this.parts.length > 1;
  }

  /** Number of elements. */
  get size(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }

  get destroyed(): boolean {
    return !this.alive;
  }

  /** Bytes of one row (elements after the first dimension); 32-bit dtypes only. */
  get rowBytes(): number {
    if (DTYPE_BYTES[this.dtype] !== 4)
      throw new InternalError(`${this.label}: row views need 32-bit rows`);
    return (this.size / Math.max(this.shape[0] ?? 1, 1)) * 4;
  }

  /**
   * Rows row0 … row0 + n − 1 of this tensor as a binding (the whole tensor when that is all of it).
   * row0 · rowBytes must be a multiple of the device's minStorageBufferOffsetAlignment (≤ 256, so
   * any multiple of 64 rows of a 32-bit tensor qualifies), and the rows must lie in one part of a
   * split tensor (any block of 64·2^j rows starting at a multiple of its size does); the dispatch
   * checks both.
   */
  rows(row0: number, n: number): Binding {
    const rows = this.shape[0] ?? 1;
    if (!(Number.isInteger(row0) && Number.isInteger(n) && row0 >= 0 && n > 0 && row0 + n <= rows))
      throw new InternalError(`${this.label}: rows ${row0}…${row0 + n - 1} outside [0, ${rows})`);
    if (row0 === 0 && n === rows && !this.split) return this;
    const rb = this.rowBytes;
    return { tensor: this, offset: row0 * rb, size: n * rb };
  }

  /**
   * The buffer ranges covering bytes [offset, offset + bytes) of the tensor, in order: one for an
   * unsplit tensor, one per part touched for a split one.
   */
  ranges(offset = 0, bytes = this.bytes - offset): BufferRange[] {
    if (offset < 0 || bytes < 0 || offset + bytes > this.bytes)
      throw new InternalError(`${this.label}: bytes ${offset}+${bytes} outside its ${this.bytes}`);
    const out: BufferRange[] = [];
    let at = offset;
    const end = offset + bytes;
    while (at < end) {
      const i = Math.min(Math.floor(at / this.partBytes), this.parts.length - 1);
      const partEnd = i === this.parts.length - 1 ? this.bytes : (i + 1) * this.partBytes;
      const n = Math.min(end, partEnd) - at;
      out.push({ buffer: this.parts[i]!, offset: at - i * this.partBytes, at, bytes: n });
      at += n;
    }
    return out;
  }

  destroy(): void {
    if (!this.alive) return;
    this.alive = false;
    this.rt.release(this);
  }
}

/**
 * Rows per buffer of a tensor split by Runtime.rowsTensor: the largest 64·2^k rows of `rowBytes`
 * within `maxBytes` (0 when not even 64 fit). Powers of two so that every smaller block of 64·2^j
 * rows (the model's token blocks, see viewBlockRows) lies inside one part.
 */
export function partRows(rowBytes: number, maxBytes: number): number {
  const fit = Math.floor(maxBytes / Math.max(rowBytes, 1));
  return fit < 64 ? 0 : 64 * 2 ** Math.floor(Math.log2(fit / 64));
}
