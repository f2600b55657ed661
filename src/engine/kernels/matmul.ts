/**
 * Launchers for the matmul family: a linear layer's forward (y = x·Wᵀ) and input gradient
 * (dx = dy·W), with W f32 or packed bf16/f16, in the variants of the registry's matmul family
 * (registry.ts: files, tiles, constants, what each supports, the default), plus autotuning. The
 * hardware paths (`half`: shader-f16; `sgmatrix`: subgroup matrices) are offered only where the
 * adapter has them and chosen only by tuning, after they compile and pass the float64 check.
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
import { subgroupMatrixConfigWgsl, subgroupMatrixTile } from './subgroup-matrix.ts';
import {
  chooseVariant,
  MATMUL,
  variantRuns,
  variantNames,
  type LinearOp,
  type MatmulLaunchOptions,
  type MatmulShape,
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
 * kept every matmul variant's name and arithmetic, so its choices stand; half and sgmatrix only
 * add candidates where the adapter offers their features, so choices stored before stand too.)
 */
const TUNE_GENERATION = 4;

/**
 * k steps per f16 partial sum in matmul.half (its RUN constant): each lane adds RUN products in f16
 * (one staged tile of K) before flushing into f32. The flush's conversions and f32 adds, once per
 * tile, cost about an eighth of the tile's f16 work at 16, as much as the f16 work itself at 4.
 * The error grows with it: the largest |Δ| over 2⁻¹¹·√(Σ(a·w)²) on uniform data, K 48 to 4096
 * (src/reference/matmul-half.ts), is 2.3–2.9 at 4, 3.1–4.3 at 8, 3.6–5.8 at 16 rounding to
 * nearest, and 7.8–9.3, 11–14, 19–24 rounding toward zero.
 */
export const HALF_RUN = 16;

/**
 * The largest |C − C₆₄| a variant with this arithmetic may show on random operands of magnitude up
 * to about 1 (tuning's check; the kernel tests' data) at an entry whose float64 value sums K
 * products with Σ(a_k·w_k)² = `sumSq`. f32: tuning's long-standing bound. f16: f16's rounding
 * errors (2⁻¹¹ relative: operands, products, HALF_RUN-long partial sums) grow as a random walk in
 * units of 2⁻¹¹·√(Σ(a·w)²), with a bias along each partial sum where an implementation rounds
 * toward zero (WGSL allows either direction): measured up to 24 of those units at HALF_RUN 16
 * (HALF_RUN above), so 3·(HALF_RUN + 2) = 54 of them, over twice the worst seen.
 */
export function linearCheckTolerance(arithmetic: 'f32' | 'f16', K: number, sumSq: number): number {
  const f32 = 1e-4 * Math.sqrt(K) + 1e-5 * K;
  if (arithmetic === 'f32') return f32;
  return f32 + 3 * (HALF_RUN + 2) * 2 ** -11 * Math.sqrt(sumSq);
}

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

/**
 * The variant a launcher uses without an explicit one: the tuned choice if cached (and not one of
 * the emulations, which tuning never chooses: such a cache is stale), else the default.
 */
export function resolveVariant(
  rt: Runtime,
  op: LinearOp,
  dtype: WeightDType,
  M: number,
  N: number,
  K: number,
): MatmulVariant {
  const hit = cachedChoice(linearTuneKey(rt, op, dtype, M, N, K)) as MatmulVariant | undefined;
  const spec: MatmulVariantSpec | undefined = hit && MATMUL.variants[hit];
  if (hit && !spec?.emulates && variantSupported(rt, hit, op, dtype, M, N, K)) return hit;
  return defaultVariant(rt, op, dtype, M, N, K);
}

/** Runtimes whose sgmatrix_config (the subgroup-matrix kernel's sizes) has been written. */
const sgmatrixReady = new WeakSet<Runtime>();

/**
 * Writes the sizes matmul.sgmatrix.wgsl is built with on this runtime's adapter, once, before its
 * first pipeline (the file's include, sgmatrix_config, is replaced by this adapter's).
 */
function prepareShader(rt: Runtime, variant: MatmulVariant): void {
  if (variant !== 'sgmatrix' || sgmatrixReady.has(rt)) return;
  const tile = subgroupMatrixTile(rt.info);
  if (!tile) throw new InternalError('matmul sgmatrix: no usable subgroup-matrix configuration');
  rt.registerShader('sgmatrix_config', subgroupMatrixConfigWgsl(tile));
  sgmatrixReady.add(rt);
}

/** Constants of a launch: the registry's, and matmul.half's run length (HALF_RUN). */
function launchOf(rt: Runtime, variant: MatmulVariant, shape: MatmulShape, opts: LinearOptions) {
  const l = MATMUL.variants[variant].launch(rt.info, shape, opts);
  if (variant === 'half' || variant === 'half_emu') l.constants.RUN = HALF_RUN;
  return l;
}

/**
 * Compiles `variant`'s pipeline for this launch and waits for it: null when it compiles, else why
 * not (the compiler's or the pipeline validation's message). Tuning leaves such a candidate out
 * instead of failing the run (a hardware path an adapter offers may still not compile there).
 */
export async function compileFailure(
  rt: Runtime,
  variant: MatmulVariant,
  shape: MatmulShape,
  opts: LinearOptions = {},
): Promise<string | null> {
  try {
    prepareShader(rt, variant);
    await rt.compile(
      MATMUL.variants[variant].files[''],
      'main',
      launchOf(rt, variant, shape, opts).constants,
    );
    return null;
  } catch (e) {
    return (e as Error).message;
  }
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
  prepareShader(rt, variant);
  const { constants, tile } = launchOf(rt, variant, shape, opts);
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
 * candidate's pipeline is compiled first: one that does not compile or validate is left out, its
 * reason in `excluded`. Each runs on random operands and is checked, after its warm-up, against a
 * float64 dot product at sampled entries of C (at its arithmetic's tolerance, linearCheckTolerance):
 * a variant that computes something else is never chosen.
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
    .filter((v) => !MATMUL.variants[v as MatmulVariant].emulates)
    .filter((v) => variantSupported(rt, v, op, dtype, M, N, K))
    .sort((x, y) => Number(y === fallback) - Number(x === fallback));
  if (!opts.force) {
    // A cached or stored choice needs no operands.
    const known = await knownChoice(key, new Set(variants));
    if (known) return known;
  }
  const screening = variants.length > 1 && M > SCREEN_ROWS;
  const Ns = Math.min(N, SCREEN_COLS);
  const excluded: Record<string, string> = {};
  for (const variant of variants) {
    const shapes = [{ op, dtype, M, N, K }];
    if (screening) shapes.push({ op, dtype, M: SCREEN_ROWS, N: Ns, K });
    for (const shape of shapes) {
      if (!variantRuns(MATMUL.variants[variant], rt.info, shape)) continue;
      const why = excluded[variant] ?? (await compileFailure(rt, variant, shape));
      if (why !== null) excluded[variant] = why;
    }
  }
  variants = variants.filter((v) => excluded[v] === undefined);
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
  // Sampled entries of C, their float64 values and Σ(a·w)² (W is [N, K] forward, [K, N] for NN).
  const samples: [number, number, number, number][] = [];
  for (let i = 0; i < CHECK_SAMPLES; i++) {
    const m = i === 0 ? M - 1 : rng.int(M);
    const n = i === 0 ? N - 1 : rng.int(N);
    let sum = 0;
    let sumSq = 0;
    for (let k = 0; k < K; k++) {
      const wv = op === 'forward' ? wValues[n * K + k]! : wValues[k * N + n]!;
      sum += aValues[m * K + k]! * wv;
      sumSq += (aValues[m * K + k]! * wv) ** 2;
    }
    samples.push([m, n, sum, sumSq]);
  }
  const check = (variant: MatmulVariant) => async (): Promise<boolean> => {
    const got = await rt.read(c);
    const arith = MATMUL.variants[variant].arithmetic(rt.info, {});
    return samples.every(
      ([m, n, want, sumSq]) =>
        Math.abs(got[m * N + n]! - want) <= linearCheckTolerance(arith, K, sumSq),
    );
  };
  try {
    let screen: Record<string, number> | undefined;
    if (screening && variants.length > 1) {
      // Screening at SCREEN_ROWS rows and at most SCREEN_COLS columns (same K; the output layer's
      // 50k–150k columns would make a slow candidate's screen take minutes on a CPU adapter):
      // runs every candidate's pipeline on cheap data; those over SCREEN_SLACK× the best there
      // are not timed at the full shape. Only timing counts here, so a narrower NN launch reading W
      // with a shorter row stride is fine.
      screen = {};
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
        check: check(variant),
      })),
      opts,
    );
    const left = Object.keys(excluded).length ? { excluded } : {};
    return screen ? { ...result, ...left, screen } : { ...result, ...left };
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
