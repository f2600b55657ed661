/**
 * Launchers for the matmul family: a linear layer's forward (y = x·Wᵀ) and input gradient
 * (dx = dy·W), with W f32 or packed bf16/f16, in the variants of the registry's matmul family
 * (registry.ts: files, tiles, constants, what each supports, the default), plus autotuning.
 */
import type { Binding, Runtime, Tensor } from '../runtime.ts';
import { uniformLayout } from '../uniforms.ts';
import { decodeHalves, encodeHalves } from '../../util/half.ts';
import { Rng } from '../../util/rng.ts';
import {
  autotune,
  cachedChoice,
  knownChoice,
  pow2Bucket,
  tuneKey,
  type AutotuneOptions,
  type TuneResult,
} from './autotune.ts';
import { InternalError } from '../../util/errors.ts';
import { DTYPE_BYTES } from '../../util/dtype.ts';
import {
  chooseVariant,
  MATMUL,
  variantNames,
  variantRuns,
  type LinearOp,
  type MatmulLaunchOptions,
  type MatmulVariant,
  type MatmulVariantSpec,
  type WeightDType,
} from './registry.ts';

export type { LinearOp, MatmulVariant, WeightDType } from './registry.ts';

/** Every variant, in benchmark order (the registry's matmul family). */
export const MATMUL_VARIANTS: readonly MatmulVariant[] = variantNames(MATMUL);

/** Options of the linear launchers (and quadBroadcast, see MatmulLaunchOptions). */
export interface LinearOptions extends MatmulLaunchOptions {
  /** Add into the output instead of overwriting it. */
  accumulate?: boolean;
  /** Force a variant (throws if this adapter or shape cannot run it). */
  variant?: MatmulVariant;
  /** Scale of the product (C (+)= alpha·A·W…); 1 by default. */
  alpha?: number;
}

// accum 1: C += alpha·AB; 0: C = alpha·AB.
const Params = uniformLayout(
  { M: 'u32', N: 'u32', K: 'u32', alpha: 'f32', accum: 'u32' },
  { shaders: MATMUL_VARIANTS.map((v) => MATMUL.variants[v].files['']) },
);

function weightDType(w: Tensor): WeightDType {
  if (w.dtype === 'f32' || w.dtype === 'bf16' || w.dtype === 'f16') return w.dtype;
  throw new InternalError(`${w.label}: weights must be f32, bf16 or f16, not ${w.dtype}`);
}

/** Whether `variant` can run op on this adapter at C[M, N] with reduction length K (the registry's rule). */
export function variantSupported(
  rt: Runtime,
  variant: MatmulVariant,
  op: LinearOp,
  dtype: WeightDType,
  M: number,
  N: number,
  K: number,
): boolean {
  return variantRuns(MATMUL.variants[variant], rt.info, { op, dtype, M, N, K });
}

/** The default when nothing was tuned: the registry's matmul rule (MATMUL.pick). */
export function defaultVariant(
  rt: Runtime,
  op: LinearOp,
  dtype: WeightDType,
  M: number,
  N: number,
  K: number,
): MatmulVariant {
  return MATMUL.pick(rt.info, { op, dtype, M, N, K });
}

/**
 * Bumped when the variants change (2: direct8 added; 3: the direct kernels' clamp-free forward;
 * 4: quad8 added), so choices stored before are timed again rather than trusted. (The registry
 * kept every matmul variant's name and arithmetic, so its choices stand.)
 */
const TUNE_GENERATION = 4;

/** The shape class tuning choices are cached under. */
export function linearBucket(M: number, N: number, K: number, aligned: boolean): string {
  const m = M <= 4 ? M : pow2Bucket(M);
  return `m${m}n${pow2Bucket(N)}k${pow2Bucket(K)}${aligned ? 'a' : 'u'}`;
}

/** The autotune cache key of one linear launch on this adapter. */
export function linearTuneKey(
  rt: Runtime,
  op: LinearOp,
  dtype: WeightDType,
  M: number,
  N: number,
  K: number,
): string {
  const aligned = variantSupported(rt, 'regblock', op, dtype, M, N, K);
  return tuneKey(rt, `linear.${op}@${TUNE_GENERATION}`, dtype, linearBucket(M, N, K, aligned));
}

/** The variant a launcher uses without an explicit one: the tuned choice if cached, else default. */
export function resolveVariant(
  rt: Runtime,
  op: LinearOp,
  dtype: WeightDType,
  M: number,
  N: number,
  K: number,
): MatmulVariant {
  const hit = cachedChoice(linearTuneKey(rt, op, dtype, M, N, K)) as MatmulVariant | undefined;
  if (hit && variantSupported(rt, hit, op, dtype, M, N, K)) return hit;
  return defaultVariant(rt, op, dtype, M, N, K);
}

/** Records one dispatch of C[M, N] (+)= alpha · A[M, K] · op(W). */
function runLinear(
  rt: Runtime,
  op: LinearOp,
  a: Binding,
  w: Tensor,
  c: Binding,
  M: number,
  N: number,
  K: number,
  opts: LinearOptions,
): void {
  const dtype = weightDType(w);
  const shape = { op, dtype, M, N, K };
  const variant =
    opts.variant === undefined
      ? resolveVariant(rt, op, dtype, M, N, K)
      : chooseVariant(
          MATMUL,
          rt.info,
          shape,
          opts.variant,
          () => `${op} ${dtype} at ${M}×${N}×${K}`,
        );
  if (M === 0 || N === 0) return;
  const spec: MatmulVariantSpec = MATMUL.variants[variant];
  const { constants, tile } = spec.launch(rt.info, shape, opts);
  const [tileN, tileM] = tile;
  rt.dispatch({
    shader: spec.files[''],
    constants,
    bindings: [a, w, c],
    params: Params.pack({ M, N, K, alpha: opts.alpha ?? 1, accum: opts.accumulate ? 1 : 0 }),
    workgroups: [Math.ceil(N / tileN), Math.ceil(M / tileM)],
    label: `linear.${op} ${variant} ${dtype} ${M}x${N}x${K}`,
  });
}

/**
 * y[T, out] = x[T, in] · W[out, in]ᵀ (or += with accumulate); W f32, bf16 or f16. x and y may be
 * row views (Tensor.rows): T rows from each view's first.
 */
export function linearForward(
  rt: Runtime,
  x: Binding,
  w: Tensor,
  y: Binding,
  T: number,
  inF: number,
  outF: number,
  opts: LinearOptions = {},
): void {
  runLinear(rt, 'forward', x, w, y, T, outF, inF, opts);
}

/** dx[T, in] = dy[T, out] · W[out, in] (or += with accumulate); W f32, bf16 or f16; dy, dx may be views. */
export function linearBackwardInput(
  rt: Runtime,
  dy: Binding,
  w: Tensor,
  dx: Binding,
  T: number,
  inF: number,
  outF: number,
  opts: LinearOptions = {},
): void {
  runLinear(rt, 'backwardInput', dy, w, dx, T, inF, outF, opts);
}

/** C[M, N] = A[M, K] · B[N, K]ᵀ, all f32 (the tiled kernel). */
export function matmulNT(
  rt: Runtime,
  a: Tensor,
  b: Tensor,
  c: Tensor,
  M: number,
  N: number,
  K: number,
): void {
  runLinear(rt, 'forward', a, b, c, M, N, K, { variant: 'tiled' });
}

/** Entries of C each tuning candidate is checked at against a float64 dot product. */
const CHECK_SAMPLES = 48;
/** Rows and at most this many columns the candidates are screened at (see tuneLinear). */
const SCREEN_ROWS = 64;
const SCREEN_COLS = 1024;
/** A candidate slower than this many times the fastest at SCREEN_ROWS is dropped. */
const SCREEN_SLACK = 2;

/**
 * The variants a tuning pass times at M rows by default: subgroup is a 1–4-row kernel, direct8 and
 * quad8 many-row ones (their 8-row blocks would be mostly empty at 1–4 rows).
 */
export function tuneCandidates(M: number): MatmulVariant[] {
  return MATMUL_VARIANTS.filter((v) => MATMUL.variants[v].timed(M));
}

/**
 * Bytes of W a tuning run allocates at most. A larger W (an output layer: 50k–150k rows) is timed on
 * fewer of its rows or columns, as many as fit: the work per element is the same, so the variants
 * rank alike, and tuning never allocates a second model-sized matrix beside the model (a Llama 3
 * output layer in f32 is 1 GiB). The choice is stored under the full shape's class.
 */
export const TUNE_W_BYTES = 32 * 2 ** 20;

/**
 * N and K a tuning run times for an M×N×K launch: the larger of the two cut so W fits `maxBytes`,
 * to a multiple of 8 plus its remainder mod 8 (the same alignment, so the same variants run).
 */
export function tunedDims(
  N: number,
  K: number,
  dtype: WeightDType,
  maxBytes = TUNE_W_BYTES,
): [number, number] {
  const bytes = DTYPE_BYTES[dtype];
  if (N * K * bytes <= maxBytes) return [N, K];
  const cut = (x: number, other: number) => {
    const fit = Math.floor(maxBytes / (other * bytes));
    return Math.min(x, Math.max(8, fit - (fit % 8)) + (x % 8));
  };
  return N >= K ? [cut(N, K), K] : [N, cut(K, N)];
}

/**
 * Times every eligible variant of `op` at this shape on this adapter (unless a choice is already
 * cached or stored) and caches the fastest for the shape's bucket; later launches use it. Each
 * candidate runs on random operands and is checked, after its warm-up, against a float64 dot
 * product at sampled entries of C: a variant that computes something else is never chosen.
 */
export async function tuneLinear(
  rt: Runtime,
  op: LinearOp,
  dtype: WeightDType,
  T: number,
  inF: number,
  outF: number,
  opts: AutotuneOptions & { variants?: MatmulVariant[]; maxWeightBytes?: number } = {},
): Promise<TuneResult> {
  const [M, N0, K0] = op === 'forward' ? [T, outF, inF] : [T, inF, outF];
  const key = linearTuneKey(rt, op, dtype, M, N0, K0);
  // Timed on at most maxWeightBytes of W (see TUNE_W_BYTES); stored under the full shape's key.
  const [N, K] = tunedDims(N0, K0, dtype, opts.maxWeightBytes);
  const fallback = defaultVariant(rt, op, dtype, M, N, K);
  // The default first (a fast first candidate lets hopeless ones stop after their warm-up); the
  // subgroup kernel is a few-row kernel: a candidate for 1–4 rows only.
  let variants = (opts.variants ?? tuneCandidates(M))
    .filter((v) => variantSupported(rt, v, op, dtype, M, N, K))
    .sort((x, y) => Number(y === fallback) - Number(x === fallback));
  if (!opts.force) {
    // A cached or stored choice needs no operands.
    const known = await knownChoice(key, new Set(variants));
    if (known) return known;
  }
  const rng = new Rng(M * 7919 + N * 31 + K);
  const aValues = rng.floats(M * K);
  let wValues: Float32Array = rng.floats(N * K);
  let wData: Float32Array | Uint16Array = wValues;
  if (dtype !== 'f32') {
    wData = encodeHalves(wValues, dtype);
    wValues = decodeHalves(wData, dtype); // the reference sees the stored (rounded) weights
  }
  const a = rt.tensor([M, K], 'f32', 'workspace', 'autotune A', aValues);
  const w = rt.tensor(op === 'forward' ? [N, K] : [K, N], dtype, 'workspace', 'autotune W', wData);
  const c = rt.tensor([M, N], 'f32', 'workspace', 'autotune C');
  // Sampled entries of C and their float64 values (W is [N, K] for forward, [K, N] for NN).
  const samples: [number, number, number][] = [];
  for (let i = 0; i < CHECK_SAMPLES; i++) {
    const m = i === 0 ? M - 1 : rng.int(M);
    const n = i === 0 ? N - 1 : rng.int(N);
    let sum = 0;
    for (let k = 0; k < K; k++) {
      const wv = op === 'forward' ? wValues[n * K + k]! : wValues[k * N + n]!;
      sum += aValues[m * K + k]! * wv;
    }
    samples.push([m, n, sum]);
  }
  const check = async (): Promise<boolean> => {
    const got = await rt.read(c);
    const tol = 1e-4 * Math.sqrt(K) + 1e-5 * K;
    return samples.every(([m, n, want]) => Math.abs(got[m * N + n]! - want) <= tol);
  };
  try {
    let screen: Record<string, number> | undefined;
    if (variants.length > 1 && M > SCREEN_ROWS) {
      // Screening at SCREEN_ROWS rows and at most SCREEN_COLS columns (same K; the output layer's
      // 50k–150k columns would make a slow candidate's screen take minutes on a CPU adapter):
      // compiles every candidate's pipeline on cheap data; those over SCREEN_SLACK× the best there
      // are not timed at the full shape. Only timing counts here, so a narrower NN launch reading W
      // with a shorter row stride is fine.
      screen = {};
      const Ns = Math.min(N, SCREEN_COLS);
      for (const variant of variants) {
        if (!variantSupported(rt, variant, op, dtype, SCREEN_ROWS, Ns, K)) continue;
        const run = () => runLinear(rt, op, a, w, c, SCREEN_ROWS, Ns, K, { variant });
        run();
        await rt.sync();
        const t0 = performance.now();
        run();
        await rt.sync();
        screen[variant] = performance.now() - t0;
      }
      const best = Math.min(...Object.values(screen));
      variants = variants.filter(
        (v) => screen![v] === undefined || screen![v]! <= SCREEN_SLACK * best,
      );
    }
    const result = await autotune(
      rt,
      key,
      variants.map((variant) => ({
        name: variant,
        run: () => runLinear(rt, op, a, w, c, M, N, K, { variant }),
        check,
      })),
      opts,
    );
    return screen ? { ...result, screen } : result;
  } finally {
    a.destroy();
    w.destroy();
    c.destroy();
  }
}

/** Floating-point operations of one M×N×K matmul (2·M·N·K). */
export function matmulFlops(M: number, N: number, K: number): number {
  return 2 * M * N * K;
}
