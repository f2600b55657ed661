/**
 * Row-blocked matrices: a [rows, cols] matrix stored as consecutive row blocks, each its own buffer no
 * larger than the runtime's binding and buffer limits, so a vocabulary-sized embedding or output
 * layer (Llama-3's 128256 × 2048) works on adapters that bind 128 MiB. Kernels that read or write
 * such a matrix loop over `pieces()`, passing each block's first row (see embedding.ts,
 * cross_entropy.ts, optimizer.ts). When the whole matrix fits one block there is one block and the
 * kernels dispatch exactly as for a plain tensor.
 */
import { TooLargeError } from './errors.ts';
import type { MemoryCategory } from './memory.ts';
import { DTYPE_BYTES, type DType, type Runtime, type Tensor } from './runtime.ts';

/** One block of a RowBlocks matrix: its tensor [rows, cols], its first row and its row count. */
export interface RowPiece {
  tensor: Tensor;
  row0: number;
  rows: number;
}

/** A [rows, cols] matrix as row blocks (each a Tensor); destroy() frees every block. */
export class RowBlocks {
  constructor(
    readonly blocks: readonly Tensor[],
    /** The first row of each block. */
    readonly starts: readonly number[],
    readonly shape: readonly [number, number],
    readonly dtype: DType,
    readonly category: MemoryCategory,
    readonly label: string,
  ) {}

  /** Number of elements. */
  get size(): number {
    return this.shape[0] * this.shape[1];
  }

  /** Bytes over all blocks. */
  get bytes(): number {
    return this.blocks.reduce((s, b) => s + b.bytes, 0);
  }

  /** More than one block. */
  get split(): boolean {
    return this.blocks.length > 1;
  }

  get destroyed(): boolean {
    return this.blocks.every((b) => b.destroyed);
  }

  /** Each block with its first row and row count, in row order. */
  pieces(): RowPiece[] {
    return this.blocks.map((tensor, i) => ({
      tensor,
      row0: this.starts[i]!,
      rows: tensor.shape[0] ?? 0,
    }));
  }

  destroy(): void {
    for (const b of this.blocks) b.destroy();
  }
}

/**
 * A tensor or a row-blocked matrix: what parameters, gradients and moments are stored as. The
 * Runtime's read, write and zero take either (a RowBlocks matrix is read and written whole).
 */
export type Stored = Tensor | RowBlocks;

/** The pieces of a plain tensor (one, all rows) or of a RowBlocks matrix. */
export function piecesOf(t: Stored): RowPiece[] {
  return t instanceof RowBlocks ? t.pieces() : [{ tensor: t, row0: 0, rows: t.shape[0] ?? 0 }];
}

/** The largest single buffer the runtime may allocate and bind whole. */
export function blockBytesLimit(limits: {
  maxBufferSize: number;
  maxStorageBufferBindingSize: number;
}): number {
  return Math.min(limits.maxBufferSize, limits.maxStorageBufferBindingSize);
}

/**
 * Rows per block of a [rows, cols] matrix of `dtype` under `maxBytes` per block: as many as fit, all
 * of them when the whole matrix fits. Packed 16-bit dtypes keep rows × cols per block even so every
 * block starts on a whole u32 word. Throws when not even one row (two, for odd packed rows) fits.
 */
export function blockRowCount(rows: number, cols: number, dtype: DType, maxBytes: number): number {
  const whole = Math.max(4, Math.ceil((rows * cols * DTYPE_BYTES[dtype]) / 4) * 4);
  if (whole <= maxBytes) return Math.max(rows, 1);
  let n = Math.floor(maxBytes / (cols * DTYPE_BYTES[dtype]));
  if (DTYPE_BYTES[dtype] === 2 && cols % 2 === 1) n -= n % 2;
  if (n < 1) {
    // Not even one row fits what this GPU binds at once: the model is too wide for it.
    throw new TooLargeError(
      `One row of ${cols} ${dtype} values`,
      cols * DTYPE_BYTES[dtype],
      'maxStorageBufferBindingSize',
      maxBytes,
    );
  }
  return n;
}

/** Bytes of each block of a [rows, cols] matrix split under `maxBytes` (the memory plan's view). */
export function blockByteSizes(
  rows: number,
  cols: number,
  dtype: DType,
  maxBytes: number,
): number[] {
  const per = blockRowCount(rows, cols, dtype, maxBytes);
  const out: number[] = [];
  for (let r0 = 0; r0 < Math.max(rows, 1); r0 += per) {
    const n = Math.min(per, rows - r0);
    out.push(Math.max(4, Math.ceil((n * cols * DTYPE_BYTES[dtype]) / 4) * 4));
  }
  return out;
}

/**
 * Allocates a [rows, cols] matrix as row blocks under the runtime's limits, counted under
 * `category`. `data` (optional, the whole matrix's raw little-endian bytes or values) is uploaded
 * block by block. One block keeps `label` as its name; split blocks are named `label[r0:r1]`.
 */
export function allocRowBlocks(
  rt: Runtime,
  shape: readonly [number, number],
  dtype: DType,
  category: MemoryCategory,
  label: string,
  data?: ArrayBufferView,
): RowBlocks {
  const rowBytes = shape[1] * DTYPE_BYTES[dtype];
  const bytes = data && new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const blocks = rowBlockTensors(rt, shape, dtype, category, label, (r0, n) =>
    bytes?.subarray(r0 * rowBytes, (r0 + n) * rowBytes),
  );
  return new RowBlocks(blocks.tensors, blocks.starts, shape, dtype, category, label);
}

/** Bytes of a matrix read and uploaded at a time by allocRowBlocksFrom. */
export const UPLOAD_CHUNK_BYTES = 8 * 2 ** 20;

/**
 * Like allocRowBlocks, with the contents fetched by `rows(row0, n)` in pieces of about
 * UPLOAD_CHUNK_BYTES just before they are uploaded: a matrix read from a file is never in memory
 * whole, nor even one block of it.
 */
export async function allocRowBlocksFrom(
  rt: Runtime,
  shape: readonly [number, number],
  dtype: DType,
  category: MemoryCategory,
  label: string,
  rows: (row0: number, n: number) => Promise<ArrayBufferView>,
): Promise<RowBlocks> {
  const empty = rowBlockTensors(rt, shape, dtype, category, label, () => undefined);
  const rowBytes = shape[1] * DTYPE_BYTES[dtype];
  // Rows per read: about UPLOAD_CHUNK_BYTES, an even count when rows are not whole 32-bit words.
  let chunk = Math.max(1, Math.floor(UPLOAD_CHUNK_BYTES / rowBytes));
  if (rowBytes % 4 !== 0) chunk = Math.max(2, chunk - (chunk % 2));
  try {
    for (const [i, t] of empty.tensors.entries()) {
      const r0 = empty.starts[i]!;
      const n = t.shape[0]!;
      for (let r = 0; r < n; r += chunk) {
        rt.write(t, await rows(r0 + r, Math.min(chunk, n - r)), r * rowBytes);
      }
    }
  } catch (e) {
    for (const t of empty.tensors) t.destroy();
    throw e;
  }
  return new RowBlocks(empty.tensors, empty.starts, shape, dtype, category, label);
}

function rowBlockTensors(
  rt: Runtime,
  shape: readonly [number, number],
  dtype: DType,
  category: MemoryCategory,
  label: string,
  data: (row0: number, n: number) => ArrayBufferView | undefined,
): { tensors: Tensor[]; starts: number[] } {
  const [rows, cols] = shape;
  const per = blockRowCount(rows, cols, dtype, blockBytesLimit(rt.info.limits));
  const tensors: Tensor[] = [];
  const starts: number[] = [];
  try {
    for (let r0 = 0; r0 < Math.max(rows, 1); r0 += per) {
      const n = Math.min(per, rows - r0);
      const name = per >= rows ? label : `${label}[${r0}:${r0 + n}]`;
      tensors.push(rt.tensor([n, cols], dtype, category, name, data(r0, n)));
      starts.push(r0);
    }
  } catch (e) {
    for (const b of tensors) b.destroy();
    throw e;
  }
  return { tensors, starts };
}

/** An f32 matrix with the same row blocks as `like` (a gradient or an AdamW moment), zeroed. */
export function zerosLike(
  rt: Runtime,
  like: RowBlocks,
  category: MemoryCategory,
  label: string,
): RowBlocks {
  const blocks: Tensor[] = [];
  try {
    for (const p of like.pieces()) {
      const name = like.split ? `${label}[${p.row0}:${p.row0 + p.rows}]` : label;
      const t = rt.tensor([p.rows, like.shape[1]], 'f32', category, name);
      rt.zero(t);
      blocks.push(t);
    }
  } catch (e) {
    for (const b of blocks) b.destroy();
    throw e;
  }
  return new RowBlocks(blocks, like.starts, like.shape, 'f32', category, label);
}

/**
 * Row blocks of per-token tensors bound as row views (Tensor.rows) start at multiples of this many
 * rows: 64 rows of any 32-bit row are a multiple of 256 bytes, which meets every adapter's
 * minStorageBufferOffsetAlignment (WebGPU lets it be at most 256).
 */
export const VIEW_ROW_GRANULE = 64;

/**
 * Rows per block when a computation over `rows` rows runs in row blocks whose widest per-row buffer
 * holds `rowBytes` bytes a row: all of them when they fit `maxBytes` and `preferred`, else the
 * largest VIEW_ROW_GRANULE · 2^k rows within both. Powers of two keep every later block's views
 * aligned and inside one part of a per-token tensor split past maxBufferSize (Runtime.rowsTensor
 * splits at the largest such size under a limit no smaller). 0 when not even one granule fits
 * `maxBytes`.
 */
export function viewBlockRows(
  rows: number,
  rowBytes: number,
  maxBytes: number,
  preferred = Infinity,
): number {
  const n = Math.max(rows, 1);
  if (n * rowBytes <= maxBytes && n <= preferred) return n;
  const fit = Math.min(Math.floor(maxBytes / rowBytes), preferred);
  return fit < VIEW_ROW_GRANULE
    ? 0
    : VIEW_ROW_GRANULE * 2 ** Math.floor(Math.log2(fit / VIEW_ROW_GRANULE));
}
