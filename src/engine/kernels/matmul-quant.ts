/**
 * Launchers for the linear layer's products with a quantized frozen weight (issue 26 item 2): the
 * forward y = x·Wᵀ and the input gradient dx = dy·W, W [out, in] in Q8_0 or Q4_K blocks repacked into
 * the GPU layout of quant-layout.ts, dequantized inside the kernel (the registry's matmul.quant
 * family). The same arguments as matmul.ts's linearForward / linearBackwardInput, with the weight a
 * QuantWeight (its tensor tagged with its type and shape). Not yet used by the model, which still
 * dequantizes quantized GGUFs to f32 at load.
 */
import type { Binding, Runtime, Tensor } from '../runtime.ts';
import type { MemoryCategory } from '../memory.ts';
import { uniformLayout } from '../uniforms.ts';
import { InternalError } from '../../util/errors.ts';
import { GPU_QUANT_LAYOUTS, repackQuant } from './quant-layout.ts';
import {
  chooseVariant,
  MATMUL_QUANT,
  QUANT_BLOCK,
  variantNames,
  type LinearOp,
  type QuantMatmulShape,
  type QuantMatmulVariant,
  type QuantWeightType,
} from './registry.ts';

export type { QuantMatmulVariant, QuantWeightType } from './registry.ts';

/** A quantized weight on the GPU: W [rows, cols] (out, in), quantized by rows, in `type`'s layout. */
export interface QuantWeight {
  /** The repacked blocks, u32 words (quant-layout.ts). */
  tensor: Tensor;
  type: QuantWeightType;
  rows: number;
  cols: number;
}

/** Options of the quantized linear launchers. */
export interface QuantLinearOptions {
  /** Add into the output instead of overwriting it. */
  accumulate?: boolean;
  /** Force a variant (throws if it cannot run this weight or shape). */
  variant?: QuantMatmulVariant;
  /** Scale of the product (C (+)= alpha·A·W…); 1 by default. */
  alpha?: number;
}

const Params = uniformLayout(
  { M: 'u32', N: 'u32', K: 'u32', alpha: 'f32', accum: 'u32' },
  {
    shaders: variantNames(MATMUL_QUANT).flatMap((v) =>
      Object.values(MATMUL_QUANT.variants[v].files),
    ),
  },
);

/**
 * Uploads ggml blocks of a [rows, cols] weight (cols a whole number of blocks) repacked into the
 * GPU layout. Throws, naming `label`, when a block's scale is not finite.
 */
export function uploadQuantWeight(
  rt: Runtime,
  type: QuantWeightType,
  rows: number,
  cols: number,
  ggmlBytes: Uint8Array,
  category: MemoryCategory,
  label: string,
): QuantWeight {
  const layout = GPU_QUANT_LAYOUTS[type];
  if (
    cols % layout.block !== 0 ||
    ggmlBytes.length !== (rows * cols * layout.ggmlBytes) / layout.block
  ) {
    throw new InternalError(
      `${label}: ${ggmlBytes.length} bytes are not [${rows}, ${cols}] in whole ${type} blocks`,
    );
  }
  const { words, badBlock } = repackQuant(type, ggmlBytes);
  if (badBlock >= 0) {
    throw new InternalError(`${label}: ${type} block ${badBlock} has a non-finite scale`);
  }
  const tensor = rt.tensor([words.length], 'u32', category, label, words);
  return { tensor, type, rows, cols };
}

/** Records one dispatch of C[M, N] (+)= alpha · A[M, K] · op(W). */
function runQuantLinear(
  rt: Runtime,
  op: LinearOp,
  a: Binding,
  w: QuantWeight,
  c: Binding,
  M: number,
  N: number,
  K: number,
  opts: QuantLinearOptions,
): void {
  const [outF, inF] = op === 'forward' ? [N, K] : [K, N];
  if (w.rows !== outF || w.cols !== inF) {
    throw new InternalError(
      `${w.tensor.label}: a [${w.rows}, ${w.cols}] weight cannot run linear.${op} with in ${inF}, out ${outF}`,
    );
  }
  const shape: QuantMatmulShape = { op, quant: w.type, M, N, K };
  const variant = chooseVariant(
    MATMUL_QUANT,
    rt.info,
    shape,
    opts.variant,
    () =>
      `${op} ${w.type} at ${M}×${N}×${K} (the quantized dimension a multiple of ${QUANT_BLOCK[w.type]})`,
  );
  if (M === 0 || N === 0) return;
  const spec = MATMUL_QUANT.variants[variant];
  const [tileN, tileM] = spec.tile;
  rt.dispatch({
    shader: op === 'forward' ? spec.files.forward : spec.files.backward_input,
    bindings: [a, w.tensor, c],
    params: Params.pack({ M, N, K, alpha: opts.alpha ?? 1, accum: opts.accumulate ? 1 : 0 }),
    workgroups: [Math.ceil(N / tileN), Math.ceil(M / tileM)],
    label: `linear.${op} ${variant} ${M}x${N}x${K}`,
  });
}

/**
 * y[T, out] = x[T, in] · W[out, in]ᵀ (or += with accumulate), W quantized (in a multiple of its
 * block). x and y may be row views.
 */
export function linearForwardQuant(
  rt: Runtime,
  x: Binding,
  w: QuantWeight,
  y: Binding,
  T: number,
  inF: number,
  outF: number,
  opts: QuantLinearOptions = {},
): void {
  runQuantLinear(rt, 'forward', x, w, y, T, outF, inF, opts);
}

/** dx[T, in] = dy[T, out] · W[out, in] (or += with accumulate), W quantized; dy, dx may be views. */
export function linearBackwardInputQuant(
  rt: Runtime,
  dy: Binding,
  w: QuantWeight,
  dx: Binding,
  T: number,
  inF: number,
  outF: number,
  opts: QuantLinearOptions = {},
): void {
  runQuantLinear(rt, 'backwardInput', dy, w, dx, T, inF, outF, opts);
}
