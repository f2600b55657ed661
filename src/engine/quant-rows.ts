/**
 * A frozen vocabulary-sized matrix kept quantized on the GPU (the embedding for its lookup, the
 * output layer for the logits and the hidden gradient; issue 26 item 2), split into row blocks under
 * the adapter's binding and buffer limits as RowBlocks splits a float one: every block whole rows
 * of ggml blocks in the GPU layout (quant-layout.ts), a QuantWeight each.
 */
import type { MemoryCategory } from './memory.ts';
import type { Runtime } from './runtime.ts';
import { blockBytesLimit, UPLOAD_CHUNK_BYTES } from './row-blocks.ts';
import { TooLargeError } from './errors.ts';
import { InternalError } from '../util/errors.ts';
import { GPU_QUANT_LAYOUTS, quantWeightBytes, repackQuant } from './kernels/quant-layout.ts';
import type { QuantWeight, QuantWeightType } from './kernels/matmul-quant.ts';

/** One row block: rows [row0, row0 + rows) of the matrix. */
export interface QuantPiece {
  w: QuantWeight;
  row0: number;
  rows: number;
}

export class QuantRows {
  constructor(
    readonly pieces: readonly QuantPiece[],
    readonly type: QuantWeightType,
    /** [rows, cols]. */
    readonly shape: readonly [number, number],
    readonly category: MemoryCategory,
    readonly label: string,
  ) {}

  /** Values (rows × cols). */
  get size(): number {
    return this.shape[0] * this.shape[1];
  }

  /** GPU bytes of all blocks. */
  get bytes(): number {
    return this.pieces.reduce((n, p) => n + p.w.tensor.bytes, 0);
  }

  destroy(): void {
    for (const p of this.pieces) p.w.tensor.destroy();
  }
}

/**
 * Rows per block of a [rows, cols] matrix of `type` under `maxBytes` per block: all when it fits,
 * else as many as fit rounded down to a multiple of 4. Throws when not even four rows fit.
 */
export function quantBlockRowCount(
  type: QuantWeightType,
  rows: number,
  cols: number,
  maxBytes: number,
): number {
  if (quantWeightBytes(type, rows, cols) <= maxBytes) return Math.max(rows, 1);
  const rowBytes = quantWeightBytes(type, 1, cols);
  const n = Math.floor(maxBytes / rowBytes / 4) * 4;
  if (n < 4)
    throw new TooLargeError(
      `Four rows of ${cols} ${type} values`,
      4 * rowBytes,
      'maxStorageBufferBindingSize',
      maxBytes,
    );
  return n;
}

/** Bytes of each block of a quantized [rows, cols] matrix split under `maxBytes` (the plan's view). */
export function quantBlockByteSizes(
  type: QuantWeightType,
  rows: number,
  cols: number,
  maxBytes: number,
): number[] {
  const per = quantBlockRowCount(type, rows, cols, maxBytes);
  const out: number[] = [];
  for (let r0 = 0; r0 < rows; r0 += per) {
    out.push(quantWeightBytes(type, Math.min(per, rows - r0), cols));
  }
  return out;
}

/**
 * Allocates a quantized [rows, cols] matrix in row blocks under the runtime's limits and uploads it
 * repacked, its ggml blocks fetched by `read(row0, n)` (rows of whole blocks) about
 * UPLOAD_CHUNK_BYTES at a time. Throws InternalError, naming `label` and the row, on a block whose
 * scale is not finite (the readers refuse those first, by tensor name).
 */
export async function allocQuantRowsFrom(
  rt: Runtime,
  type: QuantWeightType,
  shape: readonly [number, number],
  category: MemoryCategory,
  label: string,
  read: (row0: number, n: number) => Promise<Uint8Array>,
): Promise<QuantRows> {
  const [rows, cols] = shape;
  const l = GPU_QUANT_LAYOUTS[type];
  if (cols % l.block !== 0)
    throw new InternalError(`${label}: rows of ${cols} are not whole ${type} blocks`);
  const per = quantBlockRowCount(type, rows, cols, blockBytesLimit(rt.info.limits));
  const wordsPerRow = (cols / l.block) * l.words;
  const ggmlRowBytes = (cols / l.block) * l.ggmlBytes;
  const chunk = Math.max(1, Math.floor(UPLOAD_CHUNK_BYTES / ggmlRowBytes));
  const pieces: QuantPiece[] = [];
  try {
    for (let r0 = 0; r0 < rows; r0 += per) {
      const n = Math.min(per, rows - r0);
      const name = per >= rows ? label : `${label}[${r0}:${r0 + n}]`;
      const tensor = rt.tensor([n * wordsPerRow], 'u32', category, name);
      pieces.push({ w: { tensor, type, rows: n, cols }, row0: r0, rows: n });
      for (let r = 0; r < n; r += chunk) {
        const k = Math.min(chunk, n - r);
        const bytes = await read(r0 + r, k);
        if (bytes.length !== k * ggmlRowBytes)
          throw new InternalError(`${label}: rows ${r0 + r}+${k} came as ${bytes.length} bytes`);
        const { words, badBlock } = repackQuant(type, bytes);
        if (badBlock >= 0)
          throw new InternalError(
            `${label}: row ${r0 + r + Math.floor(badBlock / (cols / l.block))} has a non-finite ${type} scale`,
          );
        rt.write(tensor, words, r * wordsPerRow * 4);
      }
    }
  } catch (e) {
    for (const p of pieces) p.w.tensor.destroy();
    throw e;
  }
  return new QuantRows(pieces, type, shape, category, label);
}
