/**
 * Launchers for the linear layer's products with a quantized frozen weight (issue 26 item 2): the
 * forward y = x·Wᵀ and the input gradient dx = dy·W, W [out, in] in ggml blocks (any type of
 * registry.ts's QuantWeightType) repacked into the GPU layout of quant-layout.ts, dequantized inside
 * the kernel (the registry's matmul.quant family), plus their autotuning. The same arguments as
 * matmul.ts's linearForward / linearBackwardInput, with the weight a QuantWeight (its tensor tagged
 * with its type and shape) and row strides and column offsets for A and C.
 */
import type { Binding, Runtime, Tensor } from '../runtime.ts';
import type { MemoryCategory } from '../memory.ts';
import { uniformLayout } from '../uniforms.ts';
import { InternalError } from '../../util/errors.ts';
import { Rng } from '../../util/rng.ts';
import {
  autotune,
  cachedChoice,
  knownChoice,
  tuneKey,
  type AutotuneOptions,
  type TuneResult,
} from './autotune.ts';
import { linearBucket, TUNE_W_BYTES } from './matmul.ts';
import {
  dequantizeRepacked,
  GPU_QUANT_LAYOUTS,
  quantWeightBytes,
  randomQuantBlocks,
  repackQuant,
} from './quant-layout.ts';
import {
  chooseVariant,
  MATMUL_QUANT,
  QUANT_BLOCK,
  variantNames,
  variantRuns,
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

/**
 * Options of the quantized linear launchers. A and C are row-major with a row stride and a column
 * offset (in f32 elements): row m of A is A[m·aStride + aCol …], of C C[m·cStride + cCol …], so a
 * launch can read or write a column window of a wider matrix (the output layer's pieces of the
 * vocabulary in a [T, V] logits workspace). The forward reads A 16 bytes at a time: its aStride and
 * aCol must be multiples of 4 (an InternalError otherwise); the input gradient takes any.
 */
export interface QuantLinearOptions {
  /** Add into the output instead of overwriting it. */
  accumulate?: boolean;
  /** Force a variant (throws if it cannot run this weight or shape). */
  variant?: QuantMatmulVariant;
  /** Scale of the product (C (+)= alpha·A·W…); 1 by default. */
  alpha?: number;
  /** Row stride of A in f32 elements; default A's row length (in forward, out backwardInput). */
  aStride?: number;
  /** Column offset into each row of A; default 0. */
  aCol?: number;
  /** Row stride of C in f32 elements; default C's row length (out forward, in backwardInput). */
  cStride?: number;
  /** Column offset into each row of C; default 0. */
  cCol?: number;
  /** The first row of A the launch reads (row m is A's row aRow + m); default 0. */
  aRow?: number;
  /** The first row of C the launch writes (row m is C's row cRow + m); default 0. */
  cRow?: number;
}

/** Every variant, in registry order. */
export const QUANT_MATMUL_VARIANTS: readonly QuantMatmulVariant[] = variantNames(MATMUL_QUANT);

const Params = uniformLayout(
  {
    M: 'u32',
    N: 'u32',
    K: 'u32',
    alpha: 'f32',
    accum: 'u32',
    aStride: 'u32',
    aCol: 'u32',
    cStride: 'u32',
    cCol: 'u32',
  },
  {
    shaders: QUANT_MATMUL_VARIANTS.flatMap((v) => Object.values(MATMUL_QUANT.variants[v].files)),
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

/** Whether `variant` can run this launch on this adapter (the registry's rule). */
export function quantVariantSupported(
  rt: Runtime,
  variant: QuantMatmulVariant,
  s: QuantMatmulShape,
): boolean {
  return variantRuns(MATMUL_QUANT.variants[variant], rt.info, s);
}

/** Bumped when the quantized variants change, so stored choices are timed again. */
const QUANT_TUNE_GENERATION = 1;

/** The autotune cache key of one quantized linear launch on this adapter (per type and class). */
export function quantLinearTuneKey(rt: Runtime, s: QuantMatmulShape): string {
  const op = `linear.quant.${s.op}@${QUANT_TUNE_GENERATION}`;
  return tuneKey(rt, op, s.quant, linearBucket(s.M, s.N, s.K, true));
}

/** The variant a launch uses without an explicit one: the tuned choice if cached, else the default. */
export function resolveQuantVariant(rt: Runtime, s: QuantMatmulShape): QuantMatmulVariant {
  const hit = cachedChoice(quantLinearTuneKey(rt, s)) as QuantMatmulVariant | undefined;
  if (hit && MATMUL_QUANT.variants[hit] && quantVariantSupported(rt, hit, s)) return hit;
  return MATMUL_QUANT.pick(rt.info, s);
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
  const aStride = opts.aStride ?? K;
  const aCol = opts.aCol ?? 0;
  const cStride = opts.cStride ?? N;
  const cCol = opts.cCol ?? 0;
  if (aCol + K > aStride || cCol + N > cStride) {
    throw new InternalError(
      `${w.tensor.label}: linear.${op} windows [${aCol}, ${aCol + K}) of A (stride ${aStride}) ` +
        `and [${cCol}, ${cCol + N}) of C (stride ${cStride}) leave their rows`,
    );
  }
  if (op === 'forward' && (aStride % 4 !== 0 || aCol % 4 !== 0)) {
    throw new InternalError(
      `${w.tensor.label}: the quantized forward reads A 16 bytes at a time: its row stride ` +
        `${aStride} and column offset ${aCol} must be multiples of 4`,
    );
  }
  const shape: QuantMatmulShape = { op, quant: w.type, M, N, K };
  const variant =
    opts.variant === undefined
      ? resolveQuantVariant(rt, shape)
      : chooseVariant(
          MATMUL_QUANT,
          rt.info,
          shape,
          opts.variant,
          () =>
            `${op} ${w.type} at ${M}×${N}×${K} (the quantized dimension a multiple of ${QUANT_BLOCK[w.type]})`,
        );
  if (M === 0 || N === 0) return;
  const spec = MATMUL_QUANT.variants[variant];
  const { constants, tile } = spec.launch(rt.info, shape);
  const [tileN, tileM] = tile;
  rt.dispatch({
    shader: op === 'forward' ? spec.files.forward : spec.files.backward_input,
    constants,
    bindings: [a, w.tensor, c],
    params: Params.pack({
      M,
      N,
      K,
      alpha: opts.alpha ?? 1,
      accum: opts.accumulate ? 1 : 0,
      aStride,
      // The first rows fold into the offsets: row m of A is A[(aRow + m)·aStride + aCol …].
      aCol: aCol + (opts.aRow ?? 0) * aStride,
      cStride,
      cCol: cCol + (opts.cRow ?? 0) * cStride,
    }),
    workgroups: [Math.ceil(N / tileN), Math.ceil(M / tileM)],
    label: `linear.${op} ${variant} ${M}x${N}x${K}`,
  });
}

/**
 * y[T, out] = x[T, in] · W[out, in]ᵀ (or += with accumulate), W quantized (in a multiple of its
 * block). x and y may be row views; opts' strides and offsets window them (QuantLinearOptions).
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

/**
 * dx[T, in] = dy[T, out] · W[out, in] (or += with accumulate), W quantized; dy, dx may be views,
 * windowed by opts' strides and offsets.
 */
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

/** The variants a tuning pass times at M rows: the type's, the 8-row one only above 4 rows. */
export function quantTuneCandidates(type: QuantWeightType, M: number): QuantMatmulVariant[] {
  return QUANT_MATMUL_VARIANTS.filter(
    (v) => MATMUL_QUANT.variants[v].quant === type && MATMUL_QUANT.variants[v].timed(M),
  );
}

/** Entries of C each tuning candidate is checked at against a float64 dot product. */
const CHECK_SAMPLES = 48;

/**
 * Times the eligible variants of a quantized linear `op` with a `type` weight at [T, inF, outF]
 * (unless a choice is already cached or stored) and caches the fastest for the shape class; later
 * launches without a forced variant use it. As tuneLinear: random operands (random blocks), the
 * default first, each candidate checked after its warm-up against a float64 product of the
 * dequantized weights at sampled entries; W is cut to at most TUNE_W_BYTES by rows (its
 * unquantized dimension), the choice stored under the full shape's class.
 */
export async function tuneQuantLinear(
  rt: Runtime,
  op: LinearOp,
  type: QuantWeightType,
  T: number,
  inF: number,
  outF: number,
  opts: AutotuneOptions & { variants?: QuantMatmulVariant[]; maxWeightBytes?: number } = {},
): Promise<TuneResult> {
  const full: QuantMatmulShape =
    op === 'forward'
      ? { op, quant: type, M: T, N: outF, K: inF }
      : { op, quant: type, M: T, N: inF, K: outF };
  const key = quantLinearTuneKey(rt, full);
  const perRow = quantWeightBytes(type, 1, inF);
  const rows = Math.max(
    1,
    Math.min(outF, Math.floor((opts.maxWeightBytes ?? TUNE_W_BYTES) / perRow)),
  );
  const s: QuantMatmulShape = op === 'forward' ? { ...full, N: rows } : { ...full, K: rows };
  const fallback = MATMUL_QUANT.pick(rt.info, s);
  const variants = (opts.variants ?? quantTuneCandidates(type, T))
    .filter((v) => quantVariantSupported(rt, v, s))
    .sort((x, y) => Number(y === fallback) - Number(x === fallback));
  if (!opts.force) {
    const known = await knownChoice(key, new Set(variants));
    if (known) return known;
  }
  const rng = new Rng(T * 7919 + inF * 31 + outF + type.length);
  const aValues = rng.floats(s.M * s.K);
  const blocks = randomQuantBlocks(type, rows, inF, rng);
  const wValues = dequantizeRepacked(type, repackQuant(type, blocks).words);
  const wq = uploadQuantWeight(rt, type, rows, inF, blocks, 'workspace', 'autotune W (quantized)');
  const a = rt.tensor([s.M, s.K], 'f32', 'workspace', 'autotune A', aValues);
  const c = rt.tensor([s.M, s.N], 'f32', 'workspace', 'autotune C');
  try {
    const samples: [number, number, number][] = [];
    for (let i = 0; i < CHECK_SAMPLES; i++) {
      const m = i === 0 ? s.M - 1 : rng.int(s.M);
      const n = i === 0 ? s.N - 1 : rng.int(s.N);
      let sum = 0;
      for (let k = 0; k < s.K; k++) {
        const wv = op === 'forward' ? wValues[n * s.K + k]! : wValues[k * s.N + n]!;
        sum += aValues[m * s.K + k]! * wv;
      }
      samples.push([m, n, sum]);
    }
    const check = async (): Promise<boolean> => {
      const got = await rt.read(c);
      const tol = 1e-3 * Math.sqrt(s.K) + 1e-5 * s.K;
      return samples.every(([m, n, want]) => Math.abs(got[m * s.N + n]! - want) <= tol);
    };
    return await autotune(
      rt,
      key,
      variants.map((variant) => ({
        name: variant,
        run: () => runQuantLinear(rt, op, a, wq, c, s.M, s.N, s.K, { variant }),
        check,
      })),
      opts,
    );
  } finally {
    a.destroy();
    wq.tensor.destroy();
    c.destroy();
  }
}
