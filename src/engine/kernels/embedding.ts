/**
 * Launchers for the token embedding: lookup (f32/bf16/f16 table) and a deterministic backward. The
 * table may be row-blocked (RowBlocks): one dispatch per block, each handling the ids in its rows.
 */
import { piecesOf, type Stored } from '../row-blocks.ts';
import type { Binding, DType, Runtime } from '../runtime.ts';
import { uniformLayout } from '../uniforms.ts';
import { grid2d } from './elementwise.ts';
import { InternalError } from '../../util/errors.ts';

const FwdParams = uniformLayout(
  { T: 'u32', D: 'u32', rows: 'u32', row0: 'u32', last: 'u32' },
  { shaders: ['embedding.forward'] },
);
const BwdParams = uniformLayout(
  { D: 'u32', S: 'u32', s0: 'u32', row0: 'u32' },
  { shaders: ['embedding.backward'] },
);

/** The `DTYPE` override constant of shaders that read f32 or packed 16-bit weights. */
export function weightDtypeConstant(dtype: DType, op: string): number {
  if (dtype === 'f32') return 0;
  if (dtype === 'bf16') return 1;
  if (dtype === 'f16') return 2;
  throw new InternalError(`${op}: weights must be f32, bf16 or f16, not ${dtype}`);
}

/**
 * out[t, :] = table[ids[t], :] (table [V, D] f32 or packed bf16/f16, whole or row-blocked; ids ≥ V
 * give zeros). One dispatch per block.
 */
export function embeddingForward(
  rt: Runtime,
  ids: Binding,
  table: Stored,
  out: Binding,
  T: number,
  D: number,
): void {
  const pieces = piecesOf(table);
  const maxDim = rt.device.limits.maxComputeWorkgroupsPerDimension;
  pieces.forEach((b, i) => {
    rt.dispatch({
      shader: 'embedding.forward',
      constants: { DTYPE: weightDtypeConstant(b.tensor.dtype, 'embeddingForward') },
      bindings: [ids, b.tensor, out],
      params: FwdParams.pack({
        T,
        D,
        rows: b.rows,
        row0: b.row0,
        last: i === pieces.length - 1 ? 1 : 0,
      }),
      workgroups: grid2d(Math.ceil((T * D) / 256), maxDim),
      label:
        pieces.length > 1
          ? `embeddingForward ${T}x${D} rows ${b.row0}+${b.rows}`
          : `embeddingForward ${T}x${D}`,
    });
  });
}

/**
 * Token positions grouped by id: `order` (positions sorted by id, then position) and one
 * (id, start, end) triple per distinct id into `order`.
 */
export function groupPositionsById(ids: Uint32Array): { order: Uint32Array; segs: Uint32Array } {
  const order = Uint32Array.from(ids.keys()).sort((a, b) => ids[a]! - ids[b]! || a - b);
  const segs: number[] = [];
  for (let k = 0; k < order.length; k++) {
    const id = ids[order[k]!]!;
    if (k === 0 || ids[order[k - 1]!]! !== id) segs.push(id, k, k + 1);
    else segs[segs.length - 1] = k + 1;
  }
  return { order, segs: Uint32Array.from(segs) };
}

/**
 * dTable[ids[t], :] += dOut[t, :], deterministic: positions are grouped by id on the CPU and each
 * distinct id's rows are summed in position order by one workgroup. dTable is [V, D] f32, whole or
 * row-blocked (one dispatch per block over the ids in its rows). Submits the recorded work so the
 * temporary index buffers can be freed.
 */
export function embeddingBackward(
  rt: Runtime,
  ids: Uint32Array,
  dOut: Binding,
  dTable: Stored,
  T: number,
  D: number,
): void {
  const pieces = piecesOf(dTable);
  const last = pieces[pieces.length - 1];
  const V = last ? last.row0 + last.rows : 0;
  const { order, segs: all } = groupPositionsById(ids.subarray(0, T));
  // Ids outside the table contribute nothing (the forward pass gave them a zero row); sorted by id,
  // their segments come last.
  let S = all.length / 3;
  while (S > 0 && all[3 * (S - 1)]! >= V) S--;
  const segs = all.subarray(0, 3 * S);
  if (S === 0) return;
  const tOrder = rt.tensor([order.length], 'u32', 'workspace', 'embedding order', order);
  const tSegs = rt.tensor([segs.length], 'u32', 'workspace', 'embedding segments', segs);
  const maxDim = rt.device.limits.maxComputeWorkgroupsPerDimension;
  // Segments are sorted by id: each block's are one contiguous run.
  let s0 = 0;
  for (const b of pieces) {
    let s1 = s0;
    while (s1 < S && segs[3 * s1]! < b.row0 + b.rows) s1++;
    if (s1 > s0) {
      rt.dispatch({
        shader: 'embedding.backward',
        bindings: [tOrder, tSegs, dOut, b.tensor],
        params: BwdParams.pack({ D, S: s1 - s0, s0, row0: b.row0 }),
        workgroups: grid2d(s1 - s0, maxDim),
        label: `embeddingBackward ${T}x${D} rows ${b.row0}+${b.rows}`,
      });
    }
    s0 = s1;
  }
  rt.flush();
  tOrder.destroy();
  tSegs.destroy();
}
