/**
 * The token embedding's lookup in a quantized table (issue 26 item 2): a frozen embedding kept in
 * its ggml blocks on the GPU (quant-layout.ts), each looked-up row dequantized to io/quant.ts's
 * values bit for bit (shaders/embedding.forward_<type>.wgsl). Like embedding.ts's lookup, a table
 * may be row-blocked: one call per piece, with the same semantics per piece.
 */
import type { Binding, Runtime } from '../runtime.ts';
import { uniformLayout } from '../uniforms.ts';
import { InternalError } from '../../util/errors.ts';
import { lanes } from './elementwise.ts';
import type { QuantWeight } from './matmul-quant.ts';
import { QUANT_BLOCK, QUANT_WEIGHT_TYPES, type QuantWeightType } from './registry.ts';

/** The lookup's shader for a type. */
const shaderOf = (t: QuantWeightType) => `embedding.forward_${t.toLowerCase()}`;

const Params = uniformLayout(
  { T: 'u32', D: 'u32', rows: 'u32', row0: 'u32', last: 'u32' },
  { shaders: QUANT_WEIGHT_TYPES.map(shaderOf) },
);

/**
 * The lookup over one piece of a quantized table holding vocabulary rows [row0, row0 + w.rows)
 * (w [rows, D], D whole blocks): out[t, :] = the dequantized row ids[t] for t < n and ids[t] in the
 * piece. Positions whose id lies outside the piece are left untouched, except that the last piece
 * (`last`, the default: a whole table is one last piece) writes a zero row for ids ≥ row0 + rows
 * (ids ≥ V) — embedding.ts's semantics for one RowBlocks piece. Pieces are launched in row order.
 */
export function embeddingForwardQuant(
  rt: Runtime,
  ids: Binding,
  w: QuantWeight,
  out: Binding,
  n: number,
  D: number,
  row0: number,
  last = true,
): void {
  if (w.cols !== D || D % QUANT_BLOCK[w.type] !== 0) {
    throw new InternalError(
      `${w.tensor.label}: a [${w.rows}, ${w.cols}] ${w.type} table cannot look up rows of ${D}`,
    );
  }
  if (n === 0) return;
  rt.dispatch({
    shader: shaderOf(w.type),
    bindings: [ids, w.tensor, out],
    params: Params.pack({ T: n, D, rows: w.rows, row0, last: last ? 1 : 0 }),
    workgroups: lanes(rt, n * D, 8),
    label: `embeddingForwardQuant ${w.type} ${n}x${D} rows ${row0}+${w.rows}`,
  });
}
