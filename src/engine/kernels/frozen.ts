/**
 * The products and lookups through a frozen matrix, whatever the GPU keeps it as (issue 26): a float
 * tensor (f32, packed bf16/f16) goes to the linear / embedding launchers, ggml blocks in the GPU
 * layout to their quantized counterparts, which dequantize inside the kernel.
 */
import type { Binding, Runtime } from '../runtime.ts';
import { Tensor } from '../runtime.ts';
import { RowBlocks } from '../row-blocks.ts';
import { QuantRows } from '../quant-rows.ts';
import { embeddingForward } from './embedding.ts';
import { embeddingForwardQuant } from './embedding-quant.ts';
import { linearBackwardInput, linearForward } from './matmul.ts';
import { linearBackwardInputQuant, linearForwardQuant, type QuantWeight } from './matmul-quant.ts';

/** A frozen matrix on the GPU: float, or quantized blocks. */
export type FrozenWeight = Tensor | QuantWeight;

/** Whether a frozen weight is quantized blocks. */
export function isQuantWeight(w: FrozenWeight): w is QuantWeight {
  return !(w instanceof Tensor);
}

/** y[T, out] (= or +=) x[T, in] · W[out, in]ᵀ through a frozen W. */
export function frozenLinearForward(
  rt: Runtime,
  x: Binding,
  w: FrozenWeight,
  y: Binding,
  T: number,
  inF: number,
  outF: number,
  opts: { accumulate?: boolean } = {},
): void {
  if (isQuantWeight(w)) linearForwardQuant(rt, x, w, y, T, inF, outF, opts);
  else linearForward(rt, x, w, y, T, inF, outF, opts);
}

/** dx[T, in] (= or +=) dy[T, out] · W[out, in] through a frozen W. */
export function frozenLinearBackwardInput(
  rt: Runtime,
  dy: Binding,
  w: FrozenWeight,
  dx: Binding,
  T: number,
  inF: number,
  outF: number,
  opts: { accumulate?: boolean } = {},
): void {
  if (isQuantWeight(w)) linearBackwardInputQuant(rt, dy, w, dx, T, inF, outF, opts);
  else linearBackwardInput(rt, dy, w, dx, T, inF, outF, opts);
}

/** out[t, :] = E[ids[t], :] for a float (RowBlocks / tensor) or quantized (QuantRows) table. */
export function vocabEmbeddingForward(
  rt: Runtime,
  ids: Binding,
  table: Tensor | RowBlocks | QuantRows,
  out: Binding,
  T: number,
  D: number,
): void {
  if (!(table instanceof QuantRows)) {
    embeddingForward(rt, ids, table, out, T, D);
    return;
  }
  table.pieces.forEach((p, i) =>
    embeddingForwardQuant(rt, ids, p.w, out, T, D, p.row0, i === table.pieces.length - 1),
  );
}
