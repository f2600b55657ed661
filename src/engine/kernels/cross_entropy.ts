/**
 * Launchers for the output layer fused with cross-entropy, in chunks of tokens so the [T × V]
 * logits never exist at once, and a plain logits launcher for generation. With a whole W, the
 * logits (and on a GPU the dHidden) products go through the linear launchers (the variant tuned for
 * the shape class: see tuneModelKernels), this file's kernels computing the rest. The output layer
 * W [V, D] (and its gradient) may be row-blocked (RowBlocks): each chunk's logits are computed block by block
 * into their columns of the [chunk, V] workspace, the softmax runs over the full rows, dHidden
 * accumulates over the blocks in v order (the same bits as a whole W) and dW is per block.
 */
import { piecesOf, VIEW_ROW_GRANULE, type RowPiece, type Stored } from '../row-blocks.ts';
import type { Binding, DType, Runtime, Tensor } from '../runtime.ts';
import { uniformLayout } from '../uniforms.ts';
import { weightDtypeConstant } from './embedding.ts';
import { grid2d } from './elementwise.ts';
import { linearBackwardInput, linearForward, variantSupported, type LinearOp } from './matmul.ts';
import { InternalError } from '../../util/errors.ts';
import { QuantRows } from '../quant-rows.ts';
import { linearBackwardInputQuant, linearForwardQuant } from './matmul-quant.ts';
import {
  chooseVariant,
  CROSS_ENTROPY,
  CROSS_ENTROPY_BACKWARD,
  type CrossEntropyBackwardShape,
  type CrossEntropyBackwardVariant,
  type CrossEntropyVariant,
} from './registry.ts';

/** The files of op `op` in every variant of `family`. */
function filesOf(
  family: typeof CROSS_ENTROPY | typeof CROSS_ENTROPY_BACKWARD,
  op: string,
): string[] {
  return Object.values(family.variants).map((v) => (v.files as Record<string, string>)[op]!);
}

const LogitsParams = uniformLayout(
  { rows: 'u32', V: 'u32', D: 'u32', row0: 'u32', v0: 'u32', vRows: 'u32' },
  { shaders: filesOf(CROSS_ENTROPY, 'logits') },
);
const SoftmaxParams = uniformLayout(
  {
    rows: 'u32',
    V: 'u32',
    row0: 'u32',
    grad: 'u32',
    gradScale: 'f32',
  },
  { shaders: filesOf(CROSS_ENTROPY, 'softmax') },
);
const BackParams = uniformLayout(
  { rows: 'u32', D: 'u32', V: 'u32', row0: 'u32', v0: 'u32', vRows: 'u32', accumulate: 'u32' },
  {
    shaders: [
      ...filesOf(CROSS_ENTROPY_BACKWARD, 'dhidden'),
      ...filesOf(CROSS_ENTROPY_BACKWARD, 'dweight'),
    ],
  },
);

/**
 * The variant of an output-layer backward product (dHidden or dW) the cross-entropy kernels run
 * (the registry's cross_entropy.backward family: the 16-byte-load direct8 where the shapes allow,
 * quad on adapters with subgroups, else the forward family's scalar kernel; all the same bits).
 */
function backVariant(rt: Runtime, s: CrossEntropyBackwardShape): CrossEntropyBackwardVariant {
  return chooseVariant(CROSS_ENTROPY_BACKWARD, rt.info, s);
}

/** Workgroups of `v` over D columns and n rows (dHidden: token rows; dW: vocabulary rows). */
function backGrid(v: CrossEntropyBackwardVariant, D: number, n: number): [number, number] {
  const [cols, rows] = CROSS_ENTROPY_BACKWARD.variants[v].tile;
  return [Math.ceil(D / cols), Math.ceil(n / rows)];
}

const SumParams = uniformLayout({ T: 'u32' }, { shaders: filesOf(CROSS_ENTROPY, 'loss_sum') });

export type { CrossEntropyVariant } from './registry.ts';

/** The variant for this adapter (the registry's cross_entropy rule). */
export function crossEntropyVariant(rt: Runtime): CrossEntropyVariant {
  return chooseVariant(CROSS_ENTROPY, rt.info, {});
}

/** Default bound on the logits workspace of one chunk (bytes). */
export const CE_CHUNK_BYTES = 64 * 1024 * 1024;

/** Options of crossEntropyForward. */
export interface CrossEntropyOptions {
  T: number;
  D: number;
  V: number;
  /** Tokens per chunk; the logits workspace holds chunk × V floats. */
  chunk?: number;
  /** [T, D] f32, overwritten with the gradient of (summed loss · gradScale) w.r.t. hidden. */
  dHidden?: Tensor;
  /**
   * [V, D] f32, accumulated (+=) with the gradient w.r.t. W (only when W is trainable); row-blocked
   * exactly as W when W is.
   */
  dW?: Stored;
  /** Scales the gradients (e.g. 1 / count of non-ignored labels for the mean). Default 1. */
  gradScale?: number;
  /** A caller-owned [≥ chunk × V] f32 workspace; otherwise one is allocated and freed. */
  logitsWorkspace?: Tensor;
  /** Kernel family; default crossEntropyVariant(rt). */
  variant?: CrossEntropyVariant;
  /**
   * Which kernels compute the products of a whole (not row-blocked), aligned W (see
   * outputLinearOk): 'auto' (default) the logits through the linear launchers (the variant tuned
   * for that shape class), and dHidden too on a GPU but not on a CPU adapter, where this file's
   * dhidden_direct measured faster (SmolLM2-135M's 256×576×49152: 19.2 s against direct8's 20.9 s
   * on SwiftShader); 'linear' both through the linear launchers wherever they apply; 'own' always
   * this file's first kernels. Outside 'own', the direct family's dW uses its 16-byte-load kernel
   * where aligned (the same bits as the scalar one). Tests compare all three.
   */
  matmuls?: OutputMatmuls;
  /**
   * The quad kernels share values with quadBroadcast even where the subgroup is one quad (where
   * they otherwise use subgroupBroadcast), so tests run both paths on one adapter.
   */
  quadBroadcast?: boolean;
}

/** Which kernels compute the output layer's products (see CrossEntropyOptions.matmuls). */
export type OutputMatmuls = 'auto' | 'linear' | 'own';

/** Tokens per chunk for a vocabulary of V under the device's binding limit and CE_CHUNK_BYTES. */
export function crossEntropyChunk(rt: Runtime, T: number, V: number): number {
  return crossEntropyChunkFor(rt.info.limits.maxStorageBufferBindingSize, T, V);
}

/** crossEntropyChunk for a binding limit (the memory plan's view, before a Runtime exists). */
export function crossEntropyChunkFor(maxBinding: number, T: number, V: number): number {
  const bytes = Math.min(CE_CHUNK_BYTES, maxBinding);
  return Math.max(1, Math.min(T, Math.floor(bytes / (4 * V))));
}

/**
 * Rows row0 … row0 + rows − 1 of a [T, D] tensor for a chunk's dispatch: the whole tensor (rows
 * addressed from row0) when it fits the binding limit, else a row view starting at the aligned row
 * at or below row0 (rows addressed from row0 minus that row), so hidden and dHidden larger than the
 * limit work chunk by chunk.
 */
/** Whether a [T, D] tensor is bound in row views: larger than a binding, or stored in parts. */
function viewed(rt: Runtime, t: Tensor): boolean {
  return t.bytes > rt.info.limits.maxStorageBufferBindingSize || t.split;
}

function chunkRows(rt: Runtime, t: Tensor, row0: number, rows: number): { b: Binding; r0: number } {
  if (!viewed(rt, t)) return { b: t, r0: row0 };
  const start = Math.floor(row0 / VIEW_ROW_GRANULE) * VIEW_ROW_GRANULE;
  return { b: t.rows(start, row0 + rows - start), r0: row0 - start };
}

/**
 * Whether an output-layer product runs through the linear launchers: `matmuls` sends it there on
 * this adapter (see CrossEntropyOptions.matmuls), W is whole (its logits columns are then the whole
 * rows of the [rows, V] workspace, as the linear kernels write them) and aligned for their 16-byte
 * loads (the direct/regblock kernels; unaligned, only the naive/tiled ones could, and this file's
 * kernels are faster than those). tuneModelKernels lists exactly these products for tuning.
 */
export function outputLinearOk(
  rt: Runtime,
  matmuls: OutputMatmuls,
  W: OutputWeight,
  op: LinearOp,
  M: number,
  N: number,
  K: number,
): boolean {
  if (matmuls === 'own' || !W.whole) return false;
  if (matmuls === 'auto' && op === 'backwardInput' && rt.info.isSoftware) return false;
  const { dtype } = W;
  if (dtype !== 'f32' && dtype !== 'bf16' && dtype !== 'f16') return false;
  return variantSupported(rt, 'direct', op, dtype, M, N, K);
}

/** What outputLinearOk needs of the output layer: whole (one block) or not, and its dtype. */
export interface OutputWeight {
  whole: boolean;
  dtype: DType;
}

function outputWeight(pieces: RowPiece[]): OutputWeight {
  return { whole: pieces.length === 1, dtype: pieces[0]!.tensor.dtype };
}

/**
 * Rows row0 … row0 + rows − 1 of a [T, D] tensor as a binding whose first row is row0 (as the
 * linear launchers address it), or undefined where no such view is allowed (its offset not aligned
 * for a binding; see Tensor.rows).
 */
function exactRows(rt: Runtime, t: Tensor, row0: number, rows: number): Binding | undefined {
  const v = chunkRows(rt, t, row0, rows);
  if (v.r0 === 0) return v.b;
  if (viewed(rt, t)) return undefined;
  const aligned = (row0 * t.rowBytes) % rt.device.limits.minStorageBufferOffsetAlignment === 0;
  return aligned ? t.rows(row0, rows) : undefined;
}

function logitsChunk(
  rt: Runtime,
  hidden: Binding,
  W: RowPiece,
  logits: Tensor,
  rows: number,
  row0: number,
  D: number,
  V: number,
  variant: CrossEntropyVariant,
): void {
  const vRows = W.rows;
  const { files, tile } = CROSS_ENTROPY.variants[variant];
  rt.dispatch({
    shader: files.logits,
    constants: { DTYPE: weightDtypeConstant(W.tensor.dtype, 'cross-entropy') },
    bindings: [hidden, W.tensor, logits],
    params: LogitsParams.pack({ rows, V, D, row0, v0: W.row0, vRows }),
    workgroups: [Math.ceil(vRows / tile[0]), Math.ceil(rows / tile[1])],
    label: `logits ${rows}x${vRows}x${D}`,
  });
}

/** The row blocks of a quantized W, checked to cover [0, V) in order. */
function quantPieces(W: QuantRows, V: number, what: string): QuantRows['pieces'] {
  let next = 0;
  for (const p of W.pieces) {
    if (p.row0 !== next) break;
    next += p.rows;
  }
  if (next !== V || W.shape[0] !== V)
    throw new InternalError(
      `${what}: the quantized output layer has ${W.shape[0]} rows, not V=${V}`,
    );
  return W.pieces;
}

/** Row blocks of W, checked to cover [0, V). */
function outputPieces(W: Stored, V: number, what: string): RowPiece[] {
  const pieces = piecesOf(W);
  const last = pieces[pieces.length - 1];
  if (!last || last.row0 + last.rows !== V) {
    throw new InternalError(
      `${what}: the output layer has ${last ? last.row0 + last.rows : 0} rows, not V=${V}`,
    );
  }
  return pieces;
}

/**
 * logits[T, V] = hidden[T, D] · W[V, D]ᵀ (W f32 or packed bf16/f16, whole or row-blocked), for
 * generation.
 */
export function logitsForward(
  rt: Runtime,
  hidden: Tensor,
  W: Stored | QuantRows,
  logits: Tensor,
  T: number,
  D: number,
  V: number,
  variant: CrossEntropyVariant = crossEntropyVariant(rt),
  matmuls: OutputMatmuls = 'auto',
): void {
  if (W instanceof QuantRows) {
    for (const p of quantPieces(W, V, 'logitsForward'))
      linearForwardQuant(rt, hidden, p.w, logits, T, D, p.rows, { cStride: V, cCol: p.row0 });
    return;
  }
  const pieces = outputPieces(W, V, 'logitsForward');
  if (outputLinearOk(rt, matmuls, outputWeight(pieces), 'forward', T, V, D))
    linearForward(rt, hidden, pieces[0]!.tensor, logits, T, D, V);
  else for (const b of pieces) logitsChunk(rt, hidden, b, logits, T, 0, D, V, variant);
}

/**
 * loss[0] = Σ −log softmax(hidden · Wᵀ)[t, labels[t]] over labels ≠ −100 (any label outside [0, V)
 * is ignored), chunk by chunk; optionally dHidden (=) and dW (+=) of loss · gradScale.
 */
export function crossEntropyForward(
  rt: Runtime,
  hidden: Tensor,
  W: Stored | QuantRows,
  labels: Tensor,
  loss: Tensor,
  opts: CrossEntropyOptions,
): void {
  const { T, D, V, dHidden, dW } = opts;
  const gradScale = opts.gradScale ?? 1;
  const variant = chooseVariant(CROSS_ENTROPY, rt.info, {}, opts.variant);
  const direct = variant === 'direct';
  const files = CROSS_ENTROPY.variants[variant].files;
  const grad = dHidden !== undefined || dW !== undefined;
  const given = opts.logitsWorkspace;
  let chunk = Math.min(opts.chunk ?? crossEntropyChunk(rt, T, V), Math.max(T, 1));
  if (given) chunk = Math.min(chunk, Math.floor(given.size / V));
  // Hidden rows bound as views (larger than a binding, or stored in parts): chunks of a power of
  // two rows, at most one part of a split hidden/dHidden, keep each view at its chunk's rows inside
  // one part; a chunk under 64 rows divides 64, so its view (see chunkRows) stays in one granule.
  const views = [hidden, dHidden].filter((t): t is Tensor => !!t && viewed(rt, t));
  if (views.length) {
    for (const t of views) if (t.split) chunk = Math.min(chunk, t.partBytes / t.rowBytes);
    chunk = 2 ** Math.floor(Math.log2(chunk));
  }
  if (chunk < 1)
    throw new InternalError(`crossEntropyForward: logits workspace holds less than one row`);
  const logits = given ?? rt.tensor([chunk, V], 'f32', 'workspace', 'cross-entropy logits');
  const lossRows = rt.tensor([Math.max(T, 1)], 'f32', 'workspace', 'cross-entropy row losses');
  const maxDim = rt.device.limits.maxComputeWorkgroupsPerDimension;
  const quant = W instanceof QuantRows ? quantPieces(W, V, 'crossEntropyForward') : undefined;
  const wPieces = quant ? [] : outputPieces(W as Stored, V, 'crossEntropyForward');
  const dwPieces = dW ? piecesOf(dW) : [];
  if (dW && quant)
    throw new InternalError('crossEntropyForward: a quantized output layer is frozen (no dW)');
  if (dW) {
    if (dW.dtype !== 'f32') throw new InternalError(`crossEntropyForward: dW must be f32`);
    const same = (a: RowPiece, i: number) =>
      dwPieces[i]?.row0 === a.row0 && dwPieces[i]?.rows === a.rows;
    if (dwPieces.length !== wPieces.length || !wPieces.every(same)) {
      throw new InternalError('crossEntropyForward: dW must be row-blocked exactly as W');
    }
  }
  const matmuls = opts.matmuls ?? 'auto';
  const w = quant ? { whole: false, dtype: 'u32' as DType } : outputWeight(wPieces);
  // The quad kernels: subgroupBroadcast where the subgroup is exactly one quad.
  const sg4 = rt.info.features.subgroupSize === 4 && !opts.quadBroadcast ? 1 : 0;
  // What the backward products' variants depend on besides the product and W's block.
  const back = { D, V, forward: variant, scalar: matmuls === 'own' } as const;
  for (let row0 = 0; row0 < T; row0 += chunk) {
    const rows = Math.min(chunk, T - row0);
    const h = chunkRows(rt, hidden, row0, rows);
    const hx = outputLinearOk(rt, matmuls, w, 'forward', rows, V, D)
      ? exactRows(rt, hidden, row0, rows)
      : undefined;
    if (hx) linearForward(rt, hx, wPieces[0]!.tensor, logits, rows, D, V);
    else for (const b of wPieces) logitsChunk(rt, h.b, b, logits, rows, h.r0, D, V, variant);
    // A quantized W: each row block's logits into its columns of the workspace.
    for (const p of quant ?? [])
      linearForwardQuant(rt, h.b, p.w, logits, rows, D, p.rows, {
        aRow: h.r0,
        cStride: V,
        cCol: p.row0,
      });
    rt.dispatch({
      shader: files.softmax,
      bindings: [labels, logits, lossRows],
      params: SoftmaxParams.pack({ rows, V, row0, grad: grad ? 1 : 0, gradScale }),
      workgroups: grid2d(direct ? Math.ceil(rows / 64) : rows, maxDim),
      label: `crossEntropy softmax ${rows}x${V}`,
    });
    const dhx =
      dHidden && outputLinearOk(rt, matmuls, w, 'backwardInput', rows, D, V)
        ? exactRows(rt, dHidden, row0, rows)
        : undefined;
    if (dhx) linearBackwardInput(rt, logits, wPieces[0]!.tensor, dhx, rows, D, V);
    else if (dHidden && quant) {
      // dHidden = Σ over W's row blocks of dlogits[:, block's columns] · block, in v order.
      const dh = chunkRows(rt, dHidden, row0, rows);
      quant.forEach((p, i) =>
        linearBackwardInputQuant(rt, logits, p.w, dh.b, rows, D, p.rows, {
          aStride: V,
          aCol: p.row0,
          cRow: dh.r0,
          accumulate: i > 0,
        }),
      );
    } else if (dHidden) {
      const dh = chunkRows(rt, dHidden, row0, rows);
      wPieces.forEach((b, i) => {
        const kind = backVariant(rt, {
          ...back,
          product: 'dhidden',
          dtype: b.tensor.dtype,
          row0: b.row0,
          rows: b.rows,
        });
        rt.dispatch({
          shader: CROSS_ENTROPY_BACKWARD.variants[kind].files.dhidden,
          // direct8 and quad read an f32 W; quad shares through subgroupBroadcast where SG4.
          constants:
            kind === 'quad'
              ? { SG4: sg4 }
              : kind === 'direct8'
                ? {}
                : { DTYPE: weightDtypeConstant(b.tensor.dtype, 'crossEntropyForward') },
          bindings: [logits, b.tensor, dh.b],
          params: BackParams.pack({
            rows,
            D,
            V,
            row0: dh.r0,
            v0: b.row0,
            vRows: b.rows,
            accumulate: i > 0 ? 1 : 0,
          }),
          workgroups: backGrid(kind, D, rows),
          label: `crossEntropy dHidden ${kind} ${rows}x${D}x${b.rows}`,
        });
      });
    }
    for (const b of dwPieces) {
      const kind = backVariant(rt, {
        ...back,
        product: 'dweight',
        dtype: 'f32',
        row0: b.row0,
        rows: b.rows,
      });
      rt.dispatch({
        shader: CROSS_ENTROPY_BACKWARD.variants[kind].files.dweight,
        constants: kind === 'quad' ? { SG4: sg4 } : {},
        bindings: [logits, h.b, b.tensor],
        params: BackParams.pack({
          rows,
          D,
          V,
          row0: h.r0,
          v0: b.row0,
          vRows: b.rows,
          accumulate: 0,
        }),
        workgroups: backGrid(kind, D, b.rows),
        label: `crossEntropy dW ${kind} ${rows}x${D}x${b.rows}`,
      });
    }
  }
  rt.dispatch({
    shader: files.loss_sum,
    bindings: [lossRows, loss],
    params: SumParams.pack({ T }),
    workgroups: [1],
    label: `crossEntropy loss sum ${T}`,
  });
  rt.flush();
  lossRows.destroy();
  if (!given) logits.destroy();
}
