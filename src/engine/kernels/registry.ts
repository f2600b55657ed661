/**
 * The kernel registry: every family of kernels among which a launch chooses, each variant with its
 * shader files, its tile, what it needs of the adapter and of the shape, and the family's default
 * rule. The launchers pick through it (pickVariant, or checkVariant for a forced one), tuning times
 * the matmul family's candidates from it, and the reports (`longlora tune --json`, the studio's GPU
 * panel) name its variants. New variants (quantized matmuls, other attention kernels) are entries
 * here.
 *
 * Names equal file names: variant `v` of a family runs, for each of the family's ops `o`,
 * `shaders/<prefix>.<o>_<v>.wgsl` — or `shaders/<prefix>.<v>.wgsl` for a family with one unnamed op
 * (matmul: the forward and the input gradient are one file, W's layout a pipeline constant). A
 * variant that differs from another by a specialisation (matmul.direct8: the direct kernel with 8
 * rows per lane) is a file of its own that sets the constant and includes the shared body
 * (`// #include matmul_direct`); files without a family prefix and dot are such include-only bodies.
 * A test checks every entry against shaders/.
 */
import type { AdapterSummary } from '../device.ts';
import type { DType } from '../../util/dtype.ts';
import { InternalError } from '../../util/errors.ts';
import { subgroupMatrixTile } from './subgroup-matrix.ts';
import { attentionSgmatrixTile, SGM_ATTENTION_MAX_HEAD_DIM } from './attention-sgmatrix.ts';

/** The families, by the name the reports use. */
export type KernelFamily =
  | 'matmul'
  | 'matmul.quant'
  | 'attention'
  | 'cross_entropy'
  | 'cross_entropy.backward'
  | 'lora'
  | 'rmsnorm'
  | 'gradnorm';

/** What the registry reads of an adapter. */
export type KernelAdapter = Pick<AdapterSummary, 'isSoftware' | 'features'>;

/**
 * Optional adapter features a variant may need (keys of AdapterSummary.features): `subgroups`,
 * `shaderF16` (WGSL's f16), `subgroupMatrix` (Dawn/Chrome's chromium-experimental-subgroup-matrix).
 */
export type KernelFeature = 'subgroups' | 'shaderF16' | 'subgroupMatrix';

/** One variant of a family. */
export interface KernelVariant<Shape> {
  /** Its name: the suffix of its shader files. */
  readonly name: string;
  /** The shader file (under shaders/, without .wgsl) of each op of the family. */
  readonly files: Readonly<Record<string, string>>;
  /**
   * Outputs one workgroup covers, [columns, rows], in the family's main op (matmul and the products:
   * a block of C; attention: query rows, one lane each; row-wise kernels: rows; gradnorm: 4096-element
   * blocks). The launchers' grids divide by it (matmul's may change with the shape: launchMatmul).
   */
  readonly tile: readonly [number, number];
  /** Adapter features it needs. */
  readonly needs: readonly KernelFeature[];
  /** What else it needs of the adapter, where a feature alone does not say (a matrix configuration). */
  usable?(adapter: KernelAdapter): boolean;
  /** Whether it takes this shape (alignment, sizes). */
  fits(shape: Shape): boolean;
  /** What needs and fits ask, in words (error messages, reports). */
  readonly requires: string;
  /**
   * The hardware variant whose body this one runs in plain WGSL (tests only): never a default, a
   * tuning candidate or a cached choice.
   */
  readonly emulates?: string;
}

/** A family: its variants and the rule that picks one when nothing is forced or tuned. */
export interface KernelFamilySpec<Shape, Name extends string> {
  readonly family: KernelFamily;
  /** The shader files' prefix (the family's name before any dot). */
  readonly prefix: string;
  /** The family's ops, in the order of its files; one unnamed op: ['']. */
  readonly ops: readonly string[];
  /** Every variant, in benchmark order. */
  readonly variants: { readonly [N in Name]: KernelVariant<Shape> };
  /** The default variant for this shape on this adapter (a supported one). */
  pick(adapter: KernelAdapter, shape: Shape): Name;
  /** The default rule in words (reports, docs). */
  readonly rule: string;
  /** Chosen by timing on the adapter (autotune), the default only standing in until then. */
  readonly tuned: boolean;
}

/** Whether `variant` runs `shape` on this adapter. */
export function variantRuns<S>(v: KernelVariant<S>, adapter: KernelAdapter, shape: S): boolean {
  return (
    v.needs.every((f) => adapter.features[f]) && (v.usable?.(adapter) ?? true) && v.fits(shape)
  );
}

/** The variant a launch uses: `forced` when given (checked), else the family's default. */
export function chooseVariant<S, N extends string>(
  spec: KernelFamilySpec<S, N>,
  adapter: KernelAdapter,
  shape: S,
  forced?: N,
  describe: (shape: S) => string = (s) => JSON.stringify(s),
): N {
  if (forced === undefined) return spec.pick(adapter, shape);
  const v = spec.variants[forced] as KernelVariant<S> | undefined;
  if (!v) throw new InternalError(`${spec.family}: unknown variant '${String(forced)}'`);
  if (!variantRuns(v, adapter, shape)) {
    throw new InternalError(
      `${spec.family} ${forced} cannot run ${describe(shape)} here (it needs ${v.requires})`,
    );
  }
  return forced;
}

/** The names of a family's variants. */
export function variantNames<S, N extends string>(spec: KernelFamilySpec<S, N>): N[] {
  return Object.keys(spec.variants) as N[];
}

const always = () => true;

// ── matmul ─────────────────────────────────────────────────────────────────────────────────────

/** Storage types of a frozen weight. */
export type WeightDType = 'f32' | 'bf16' | 'f16';

/** forward: C = A·Wᵀ (W is [N, K]); backwardInput: C = A·W (W is [K, N]). */
export type LinearOp = 'forward' | 'backwardInput';

/** One matmul launch: C[M, N] (+)= A[M, K] · op(W), W of `dtype`. */
export interface MatmulShape {
  op: LinearOp;
  dtype: WeightDType;
  M: number;
  N: number;
  K: number;
}

/** The hardware paths an emulated variant stands in for. */
type MatmulVariantName = 'half' | 'sgmatrix';

/** A matmul variant: also its launch constants and tile at a shape, and where tuning times it. */
export interface MatmulVariantSpec extends KernelVariant<MatmulShape> {
  /** One file for both ops (W's layout is the pipeline constant B_NN). */
  readonly files: { readonly '': string };
  /** Whether tuning times it at M rows (a few-row or many-row kernel; naive never). */
  timed(M: number): boolean;
  /**
   * Another variant's body built without the hardware it needs (tests and benchmarks only): never
   * tuned, never taken from a cache.
   */
  readonly emulates?: MatmulVariantName;
  /** Pipeline constants and the [columns, rows] of C one workgroup covers, at this launch. */
  launch(adapter: KernelAdapter, s: MatmulShape, opts: MatmulLaunchOptions): MatmulLaunch;
  /**
   * The arithmetic its results carry: 'f32', or 'f16' where operands (and, for half, products and
   * short sums) are rounded to f16; the float64 check of tuning and tests takes f16's tolerance.
   */
  arithmetic(adapter: KernelAdapter, opts: MatmulLaunchOptions): 'f32' | 'f16';
}

/** Launch options that change a variant's constants. */
export interface MatmulLaunchOptions {
  /**
   * quad8: share values with quadBroadcast even where the subgroup is one quad (where it otherwise
   * uses subgroupBroadcast), so tests run both paths on one adapter.
   */
  quadBroadcast?: boolean;
  /**
   * sgmatrix_emu: stage the operands as an f16 subgroup-matrix configuration does (rows of A
   * scaled, operands rounded to f16), so tests check that path where no adapter offers it.
   */
  emulateF16?: boolean;
}

/** What launchMatmul needs beyond the shape. */
export interface MatmulLaunch {
  constants: Record<string, number>;
  tile: readonly [number, number];
}

const WDT: Record<WeightDType, number> = { f32: 0, bf16: 1, f16: 2 };

/** 16-byte loads: A rows along K (K % `kStep`), W along its contiguous dimension. */
function aligned16(s: MatmulShape, kStep: number): boolean {
  const wContig = s.op === 'forward' ? s.K : s.N;
  const per16 = s.dtype === 'f32' ? 4 : 8;
  return s.K % kStep === 0 && wContig % per16 === 0 && s.M * s.N > 0;
}

const ALIGNED = 'K % 4 == 0 and W’s contiguous dimension % 4 (f32) or % 8 (halves)';

/** The f16 kernels take the frozen projections' 16-bit weights, aligned as the vec4 kernels. */
const frozen16 = (s: MatmulShape) => s.dtype !== 'f32' && aligned16(s, 4);
const FROZEN16 = 'a bf16 or f16 W, K % 4 == 0 and W’s contiguous dimension % 8';

function matmulVariant(
  name: string,
  tile: number,
  v: Partial<MatmulVariantSpec> & Pick<MatmulVariantSpec, 'requires'>,
): MatmulVariantSpec {
  return {
    name,
    files: { '': `matmul.${name}` },
    tile: [tile, tile],
    needs: [],
    fits: always,
    timed: always,
    launch: (_a, s) => ({ constants: baseConstants(s), tile: [tile, tile] }),
    arithmetic: () => 'f32',
    ...v,
  };
}

function baseConstants(s: MatmulShape): Record<string, number> {
  return { WDT: WDT[s.dtype], B_NN: s.op === 'forward' ? 0 : 1 };
}

/**
 * naive (one lane per output), tiled (16×16 workgroup-memory tiles), regblock (64×64 workgroup-memory
 * tiles, 4×4 per lane, vec4 loads), direct (4×4 per lane, vec4 loads, no workgroup memory: best on
 * CPU-backed adapters), direct8 (the same with 8×4 per lane: each W load feeds twice the
 * multiply-adds), quad8 (direct8's blocks with each quad of lanes sharing its A loads through
 * quadBroadcast: half the loads per multiply-add; adapters with subgroups), subgroup (subgroupAdd
 * reductions; small M).
 */
const matmulVariants = {
  naive: matmulVariant('naive', 16, { requires: 'nothing', timed: () => false }),
  tiled: matmulVariant('tiled', 16, { requires: 'nothing' }),
  regblock: matmulVariant('regblock', 64, { requires: ALIGNED, fits: (s) => aligned16(s, 4) }),
  direct: matmulVariant('direct', 32, {
    requires: ALIGNED,
    fits: (s) => aligned16(s, 4),
    launch: (_a, s) => {
      const constants = baseConstants(s);
      let tile: [number, number] = [32, 32];
      if (s.M <= 4) {
        // One row of 64 lanes: a 4-row block per lane already covers M, so no lane idles.
        Object.assign(constants, { WG_X: 64, WG_Y: 1, ONE_ROW: s.M === 1 ? 1 : 0 });
        tile = [256, 4];
      }
      // Whole lane blocks: no clamps or selects on the loads. Measured on SwiftShader (three runs
      // each, 256 tokens): forward f32 0.81 → 1.07 GFLOP/s, bf16 0.86 → 1.07; the input
      // gradient's (NN) runs gained nothing clear (f32 0.88 → 0.73, bf16 0.78 → 0.85, within this
      // machine's noise), so it keeps the clamps.
      if (s.op === 'forward' && s.M % 4 === 0 && s.N % 4 === 0) constants.FULL = 1;
      return { constants, tile };
    },
  }),
  direct8: {
    // 8 rows per lane: an 8×8 workgroup covers 64 rows × 32 columns; a many-row kernel.
    ...matmulVariant('direct8', 32, { requires: ALIGNED, fits: (s) => aligned16(s, 4) }),
    tile: [32, 64],
    timed: (M) => M > 4,
    launch: (_a, s) => {
      const constants = baseConstants(s);
      if (s.op === 'forward' && s.M % 8 === 0 && s.N % 4 === 0) constants.FULL = 1;
      return { constants, tile: [32, 64] };
    },
  },
  quad8: {
    ...matmulVariant('quad8', 64, {
      requires: `subgroups, K % 16 == 0 and W’s contiguous dimension % 4 (f32) or % 8 (halves)`,
      fits: (s) => aligned16(s, 16),
    }),
    tile: [64, 8],
    needs: ['subgroups'],
    timed: (M) => M > 4,
    launch: (a, s, opts) => {
      // A 1-D workgroup covers 8 rows × 64 columns (SmolLM2's 576 and 192 columns fill whole
      // workgroups): 16 lanes of 4 columns, or for NN with 16-bit W 8 lanes of 8 (COLS8).
      const constants = baseConstants(s);
      if (s.op === 'backwardInput' && s.dtype !== 'f32')
        Object.assign(constants, { COLS8: 1, WG_X: 8 });
      if (a.features.subgroupSize === 4 && !opts.quadBroadcast) constants.SG4 = 1;
      return { constants, tile: [64, 8] };
    },
  },
  subgroup: {
    ...matmulVariant('subgroup', 4, { requires: 'subgroups' }),
    needs: ['subgroups'],
    timed: (M: number) => M <= 4,
  },
  // regblock's 64×64 tiles with f16 products and short f16 sums flushed into f32, A's rows scaled
  // into f16's range (matmul_half.wgsl). Offered only with shader-f16 and chosen only by tuning,
  // after its float64 check at f16's tolerance.
  half: matmulVariant('half', 64, {
    requires: `shader-f16, ${FROZEN16}`,
    needs: ['shaderF16'],
    fits: frozen16,
    timed: (M) => M > 4,
    arithmetic: () => 'f16',
  }),
  // half's body in f32 arithmetic rounded to f16 at the same points: the f16 kernel's check on
  // adapters without shader-f16. Tests and benchmarks only.
  half_emu: matmulVariant('half_emu', 64, {
    requires: FROZEN16,
    fits: frozen16,
    timed: () => false,
    emulates: 'half',
    arithmetic: () => 'f16',
  }),
  // Subgroup matrices in the adapter's configuration (subgroup-matrix.ts): a workgroup of one
  // subgroup's width covers 2×4 result matrices. Not compiled where it was written (no adapter
  // there offered the feature): offered only with the feature and a usable configuration, chosen
  // only by tuning after it compiles and passes its float64 check.
  sgmatrix: {
    ...matmulVariant('sgmatrix', 32, {
      requires:
        `chromium-experimental-subgroup-matrix with an f32-result configuration (f32, or f16 ` +
        `with shader-f16) that fits 16 KiB of workgroup memory, ${FROZEN16}; never compiled ` +
        `on the adapters this was written on`,
      needs: ['subgroups', 'subgroupMatrix'],
      fits: frozen16,
      timed: (M) => M > 4,
    }),
    usable: (a: KernelAdapter) => subgroupMatrixTile(a) !== null,
    launch: (a: KernelAdapter, s: MatmulShape): MatmulLaunch => {
      const t = subgroupMatrixTile(a);
      if (!t) throw new InternalError('matmul sgmatrix: no usable subgroup-matrix configuration');
      return { constants: { ...baseConstants(s), RS_LANES: t.lanes }, tile: t.block };
    },
    arithmetic: (a: KernelAdapter) => (subgroupMatrixTile(a)?.f16 ? 'f16' : 'f32'),
  },
  // sgmatrix's body with 8×8×8 matrices held whole by one invocation: its check where no adapter
  // has subgroup matrices. Tests only.
  sgmatrix_emu: {
    ...matmulVariant('sgmatrix_emu', 16, { requires: FROZEN16, fits: frozen16 }),
    tile: [32, 16],
    timed: () => false,
    emulates: 'sgmatrix',
    launch: (_a: KernelAdapter, s: MatmulShape, o: MatmulLaunchOptions): MatmulLaunch => ({
      constants: { ...baseConstants(s), SM_F16: o.emulateF16 ? 1 : 0 },
      tile: [32, 16],
    }),
    arithmetic: (_a: KernelAdapter, o: MatmulLaunchOptions) => (o.emulateF16 ? 'f16' : 'f32'),
  },
} as const satisfies Record<string, MatmulVariantSpec>;

/** The matmul variants. */
export type MatmulVariant = keyof typeof matmulVariants;

/** The matmul family (see matmulVariants for what each variant does). */
export const MATMUL = {
  family: 'matmul',
  prefix: 'matmul',
  ops: [''],
  variants: matmulVariants,
  pick(a, s): MatmulVariant {
    // CPU-backed adapters (SwiftShader), where barriers are costly: direct when aligned, else
    // naive. GPUs: subgroup for 1–4 rows, regblock when aligned, else tiled.
    const aligned = variantRuns(matmulVariants.direct, a, s);
    if (a.isSoftware) return aligned ? 'direct' : 'naive';
    if (s.M <= 4 && variantRuns(matmulVariants.subgroup, a, s)) return 'subgroup';
    return aligned ? 'regblock' : 'tiled';
  },
  rule:
    'tuned per shape class on this adapter; until then: software adapters direct when aligned, ' +
    'else naive; GPUs subgroup for 1–4 rows, regblock when aligned, else tiled; half ' +
    '(shader-f16) and sgmatrix (subgroup matrices) only when tuning chose them',
  tuned: true,
} as const satisfies KernelFamilySpec<MatmulShape, MatmulVariant>;

// ── matmul with quantized weights ─────────────────────────────────────────────────────────────

/**
 * Quantized storage of a frozen weight the kernels read (quant-layout.ts: the GPU layout); ggml's
 * names, as io/quant.ts's QuantType.
 */
export type QuantWeightType = 'Q8_0' | 'Q4_0' | 'Q4_1' | 'Q5_0' | 'Q5_1' | 'Q4_K' | 'Q5_K' | 'Q6_K';

/** Values per block of each quantized type: the weight's quantized dimension is a multiple. */
export const QUANT_BLOCK: Readonly<Record<QuantWeightType, number>> = {
  Q8_0: 32,
  Q4_0: 32,
  Q4_1: 32,
  Q5_0: 32,
  Q5_1: 32,
  Q4_K: 256,
  Q5_K: 256,
  Q6_K: 256,
};

/** Every quantized type the kernels read. */
export const QUANT_WEIGHT_TYPES = Object.keys(QUANT_BLOCK) as QuantWeightType[];

/**
 * One linear launch with a quantized W [out, in] (quantized by rows of `in`): C[M, N] (+)= A[M, K] ·
 * op(W) as MatmulShape, so forward has the quantized dimension K and backwardInput N.
 */
export interface QuantMatmulShape {
  op: LinearOp;
  quant: QuantWeightType;
  M: number;
  N: number;
  K: number;
}

/** A quantized matmul variant's form: rows per lane, and whether quads share their loads. */
export type QuantForm = 'direct' | 'rows8' | 'quad';

/** A quantized matmul variant: its type and form, and its launch constants at a shape. */
export interface QuantMatmulVariantSpec extends KernelVariant<QuantMatmulShape> {
  readonly files: { readonly forward: string; readonly backward_input: string };
  /** The one weight type it reads. */
  readonly quant: QuantWeightType;
  readonly form: QuantForm;
  /** Whether tuning times it at M rows (the 8-row kernels only above 4 rows). */
  timed(M: number): boolean;
  /** Pipeline constants and the [columns, rows] of C one workgroup covers, at this launch. */
  launch(adapter: KernelAdapter, s: QuantMatmulShape): MatmulLaunch;
}

/** Whether the shape's quantized dimension (K forward, N backwardInput) is whole blocks of `q`. */
function quantFits(q: QuantWeightType, s: QuantMatmulShape): boolean {
  return s.quant === q && (s.op === 'forward' ? s.K : s.N) % QUANT_BLOCK[q] === 0;
}

/** The variants' names: `<type>`, `<type>_rows8` and `<type>_quad`, the type in lower case. */
export type QuantMatmulVariant =
  Lowercase<QuantWeightType> | `${Lowercase<QuantWeightType>}_${Exclude<QuantForm, 'direct'>}`;

function quantVariant(quant: QuantWeightType, form: QuantForm): QuantMatmulVariantSpec {
  const name = `${quant.toLowerCase()}${form === 'direct' ? '' : `_${form}`}`;
  const rows = form === 'direct' ? 4 : 8;
  const whole = `a ${quant} weight whose rows are whole blocks of ${QUANT_BLOCK[quant]}`;
  return {
    name,
    files: { forward: `matmul.forward_${name}`, backward_input: `matmul.backward_input_${name}` },
    tile: form === 'quad' ? [64, 8] : [32, 8 * rows],
    needs: form === 'quad' ? ['subgroups'] : [],
    quant,
    form,
    fits: (s) => quantFits(quant, s),
    requires: form === 'quad' ? `subgroups, ${whole}` : whole,
    timed: (M) => form === 'direct' || M > 4,
    launch(a, s): MatmulLaunch {
      // Lanes cover 4 columns forward, 8 (an oct of quants) in the input gradient.
      const cols = s.op === 'forward' ? 4 : 8;
      if (form === 'quad') {
        // A 1-D workgroup of 16 lanes × 8 rows; SwiftShader's subgroup is one quad (SG4).
        const constants: Record<string, number> = a.features.subgroupSize === 4 ? { SG4: 1 } : {};
        return { constants, tile: [16 * cols, 8] };
      }
      // 1–4 rows (4-row lanes): one row of 64 lanes, so no lane idles; ONE_ROW drops the three
      // repeated rows when M == 1.
      if (rows === 4 && s.M <= 4)
        return {
          constants: { WG_X: 64, WG_Y: 1, ONE_ROW: s.M === 1 ? 1 : 0 },
          tile: [64 * cols, 4],
        };
      return { constants: {}, tile: [8 * cols, 8 * rows] };
    },
  };
}

const quantVariants = Object.fromEntries(
  QUANT_WEIGHT_TYPES.flatMap((q) =>
    (['direct', 'rows8', 'quad'] as const).map((f) => quantVariant(q, f)),
  ).map((v) => [v.name, v]),
) as Record<QuantMatmulVariant, QuantMatmulVariantSpec>;

/**
 * The linear layer's products with a quantized frozen weight, dequantized inside the kernel (issue
 * 26 item 2): the forward (matmul.forward_<v>) and the input gradient (matmul.backward_input_<v>),
 * f32 accumulation, no workgroup memory. Three variants per type, each running only its type:
 * `<type>` (4 rows × 4 columns per lane forward, 4 × 8 in the input gradient; 64×1 workgroups for
 * 1–4 rows), `<type>_rows8` (8 rows per lane: each decoded oct of quants feeds twice the
 * multiply-adds; a many-row kernel) and `<type>_quad` (subgroups: rows8's blocks with each quad of
 * lanes sharing its loads of A, and in the input gradient of the scales, as matmul.quad8). Each file
 * is the type's decoder (quant_<type>.wgsl) and one shared body per op and form
 * (matmul_quant_<op>[_quad].wgsl).
 */
export const MATMUL_QUANT = {
  family: 'matmul.quant',
  prefix: 'matmul',
  ops: ['forward', 'backward_input'],
  variants: quantVariants,
  pick(a, s): QuantMatmulVariant {
    // Software adapters past 4 rows: quad where there are subgroups, else rows8; otherwise the
    // 4-row kernel.
    const base = s.quant.toLowerCase() as Lowercase<QuantWeightType>;
    if (!a.isSoftware || s.M <= 4) return base;
    return a.features.subgroups ? `${base}_quad` : `${base}_rows8`;
  },
  rule:
    'the weight’s type; tuned per shape class on this adapter; until then software adapters ' +
    'past 4 rows <type>_quad with subgroups, else <type>_rows8; otherwise <type>',
  tuned: true,
} as const satisfies KernelFamilySpec<QuantMatmulShape, QuantMatmulVariant>;

// ── attention ──────────────────────────────────────────────────────────────────────────────────

/** The largest head size the kernels hold per lane (private arrays of this size). */
export const ATTENTION_MAX_HEAD_DIM = 128;

/** The largest head size the direct kernels hold in registers (16 vec4s per operand). */
export const ATTENTION_DIRECT_MAX_HEAD_DIM = 64;

/** What the attention variants depend on: the head size. */
export interface AttentionShape {
  hd: number;
}

const attentionFiles = (v: string) => ({
  forward: `attention.forward_${v}`,
  backward_dq: `attention.backward_dq_${v}`,
  backward_dkdv: `attention.backward_dkdv_${v}`,
});

/** Whether the fa2 kernels take this head size (vec4 rows, at most ATTENTION_MAX_HEAD_DIM). */
const fa2Fits = (s: AttentionShape) => s.hd % 4 === 0 && s.hd <= ATTENTION_MAX_HEAD_DIM;

/** The subgroup-matrix variants' files: their own forward, fa2's backward kernels. */
const sgmatrixAttentionFiles = (v: string) => ({
  forward: `attention.forward_${v}`,
  backward_dq: 'attention.backward_dq_fa2',
  backward_dkdv: 'attention.backward_dkdv_fa2',
});

/** Whether the subgroup-matrix forward takes this head size (padded to 64 in workgroup memory). */
const sgmatrixAttentionFits = (s: AttentionShape) =>
  s.hd % 4 === 0 && s.hd <= SGM_ATTENTION_MAX_HEAD_DIM;

/**
 * tiled: workgroups stage key (or query) tiles in workgroup memory behind barriers, one lane per
 * row; direct: one invocation per (query row, head) or (key row, kv head) reading straight from
 * global memory, no workgroup memory and no barriers (CPU adapters, where SwiftShader emulates
 * barriers at great cost); fa2: FlashAttention-2 style, the workgroup's 64 lanes computing
 * register blocks of S = Q·Kᵀ and of the output from tiles in workgroup memory, the query heads of
 * a kv head sharing each staged K/V tile, masks only on tiles the pattern cuts (GPUs); fa2_sg:
 * fa2's blocks and tiles with each quad of lanes owning rows (or keys), their operands spread over
 * its four lanes and shared by quad broadcasts, the online softmax's max and sum as quad
 * reductions, P and dS in registers: half the barriers, no workgroup-memory round trips for them
 * (adapters with subgroups); sgmatrix: the forward's two products on subgroup matrices (never
 * compiled here: no adapter offered the feature), fa2's backward; sgmatrix_emu: its body emulated
 * (tests only, never chosen). All visit the same key/query ranges and give the same results within
 * rounding. Tuned per adapter and step shape (tuneAttention); the rule stands in until then.
 */
export const ATTENTION = {
  family: 'attention',
  prefix: 'attention',
  ops: ['forward', 'backward_dq', 'backward_dkdv'],
  variants: {
    tiled: {
      name: 'tiled',
      files: attentionFiles('tiled'),
      tile: [1, 64],
      needs: [],
      fits: (s: AttentionShape) => s.hd <= ATTENTION_MAX_HEAD_DIM,
      requires: `head_dim <= ${ATTENTION_MAX_HEAD_DIM}`,
    },
    direct: {
      name: 'direct',
      files: attentionFiles('direct'),
      tile: [1, 64],
      needs: [],
      fits: (s: AttentionShape) => s.hd % 4 === 0 && s.hd <= ATTENTION_DIRECT_MAX_HEAD_DIM,
      requires: `head_dim % 4 == 0 and <= ${ATTENTION_DIRECT_MAX_HEAD_DIM}`,
    },
    // The forward's rows (query, head pairs) at head_dim <= 64; the launcher sizes them by head_dim.
    fa2: {
      name: 'fa2',
      files: attentionFiles('fa2'),
      tile: [1, 32],
      needs: [],
      fits: fa2Fits,
      requires: `head_dim % 4 == 0 and <= ${ATTENTION_MAX_HEAD_DIM}`,
    },
    // The forward's rows at head_dim <= 64, as fa2 (16 quads of 2 rows).
    fa2_sg: {
      name: 'fa2_sg',
      files: attentionFiles('fa2_sg'),
      tile: [1, 32],
      needs: ['subgroups'],
      fits: fa2Fits,
      requires: `subgroups, head_dim % 4 == 0 and <= ${ATTENTION_MAX_HEAD_DIM}`,
    },
    // The forward on subgroup matrices in the adapter's f32 configuration (attention-sgmatrix.ts):
    // 16 rows per workgroup of one subgroup's width, S = Q·Kᵀ and O += P·V as matrix products
    // through workgroup memory, the online softmax on the staged S block; the backward is fa2's.
    // NEVER COMPILED where it was written (no adapter there offered the feature): offered only
    // with the feature and a usable configuration, chosen only by tuning after it compiles and
    // passes its float64 check.
    sgmatrix: {
      name: 'sgmatrix',
      files: sgmatrixAttentionFiles('sgmatrix'),
      tile: [1, 16],
      needs: ['subgroups', 'subgroupMatrix'],
      usable: (a: KernelAdapter) => attentionSgmatrixTile(a) !== null,
      fits: sgmatrixAttentionFits,
      requires:
        `chromium-experimental-subgroup-matrix with an f32 configuration (f32 operands and ` +
        `results, M, N, K dividing 16), head_dim % 4 == 0 and <= ${SGM_ATTENTION_MAX_HEAD_DIM}; ` +
        `never compiled on the adapters this was written on`,
    },
    // sgmatrix's forward with 8×8×8 matrices held whole by one invocation: its check where no
    // adapter has subgroup matrices. Tests only.
    sgmatrix_emu: {
      name: 'sgmatrix_emu',
      files: sgmatrixAttentionFiles('sgmatrix_emu'),
      tile: [1, 16],
      needs: [],
      fits: sgmatrixAttentionFits,
      requires: `head_dim % 4 == 0 and <= ${SGM_ATTENTION_MAX_HEAD_DIM}`,
      emulates: 'sgmatrix',
    },
  },
  pick: (a, s): 'tiled' | 'direct' | 'fa2' | 'fa2_sg' => {
    if (a.isSoftware)
      return s.hd % 4 === 0 && s.hd <= ATTENTION_DIRECT_MAX_HEAD_DIM ? 'direct' : 'tiled';
    return fa2Fits(s) ? 'fa2' : 'tiled';
  },
  rule:
    'tuned per step shape (tokens, heads, kv heads, head_dim, pattern, group) on this adapter; ' +
    `until then: software adapters direct when head_dim % 4 == 0 and <= ${ATTENTION_DIRECT_MAX_HEAD_DIM}, ` +
    `else tiled; GPUs fa2 when head_dim % 4 == 0 and <= ${ATTENTION_MAX_HEAD_DIM}, else tiled`,
  tuned: true,
} as const satisfies KernelFamilySpec<AttentionShape, string>;

/** The attention variants. */
export type AttentionVariant = keyof typeof ATTENTION.variants;

// ── cross-entropy ──────────────────────────────────────────────────────────────────────────────

/** The cross-entropy forward depends on the adapter alone. */
export type NoShape = Readonly<Record<string, never>>;

const ceFiles = (v: string) => ({
  logits: `cross_entropy.logits_${v}`,
  softmax: `cross_entropy.softmax_${v}`,
  loss_sum: `cross_entropy.loss_sum_${v}`,
});

/**
 * The output layer's logits (where the linear launchers do not take them), the softmax with the
 * row losses and the loss sum. tiled: 16×16 workgroup-memory tiles and 256-lane tree reductions
 * (GPUs); direct: register-blocked logits without workgroup memory, one invocation per row for the
 * softmax and a serial loss sum (CPU adapters, where emulated barriers dominate: on SwiftShader the
 * tiled kernels took seconds per training step of stories260K at T=512). Both are deterministic.
 */
export const CROSS_ENTROPY = {
  family: 'cross_entropy',
  prefix: 'cross_entropy',
  ops: ['logits', 'softmax', 'loss_sum'],
  variants: {
    tiled: {
      name: 'tiled',
      files: ceFiles('tiled'),
      tile: [16, 16],
      needs: [],
      fits: always,
      requires: 'nothing',
    },
    direct: {
      name: 'direct',
      files: ceFiles('direct'),
      tile: [32, 32],
      needs: [],
      fits: always,
      requires: 'nothing',
    },
  },
  pick: (a) => (a.isSoftware ? 'direct' : 'tiled'),
  rule: 'software adapters direct, else tiled',
  tuned: false,
} as const satisfies KernelFamilySpec<NoShape, string>;

/** The cross-entropy forward variants. */
export type CrossEntropyVariant = keyof typeof CROSS_ENTROPY.variants;

/** One output-layer backward product run by the cross-entropy kernels (not the linear launchers). */
export interface CrossEntropyBackwardShape {
  /** dHidden = dlogits · W, or dW (one row block of it) += dlogitsᵀ · hidden. */
  product: 'dhidden' | 'dweight';
  /** W's dtype (dhidden reads W). */
  dtype: DType;
  D: number;
  V: number;
  /** The row block of W (dW) the launch covers. */
  row0: number;
  rows: number;
  /** The forward's variant: the backward kernels belong to it (tiled on GPUs). */
  forward: CrossEntropyVariant;
  /** Only the scalar kernels (crossEntropyForward's matmuls 'own'). */
  scalar: boolean;
}

/** 16-byte loads: an f32 W and D 4-aligned (dhidden); D, V and the row block 4-aligned (dW). */
function wideFits(s: CrossEntropyBackwardShape): boolean {
  return s.product === 'dhidden'
    ? s.dtype === 'f32' && s.D % 4 === 0
    : [s.D, s.V, s.row0, s.rows].every((x) => x % 4 === 0);
}
const WIDE = 'an f32 W and D % 4 == 0 (dHidden), D, V and the row block % 4 == 0 (dW)';

const ceBackFiles = (v: string) => ({
  dhidden: `cross_entropy.dhidden_${v}`,
  dweight: `cross_entropy.dweight_${v}`,
});

/**
 * The output layer's backward products where the linear launchers do not take them: tiled (16×16
 * workgroup-memory tiles, GPUs), direct (4×4 register blocks per lane, no workgroup memory),
 * direct8 (16-byte loads, 8 rows per lane), quad (direct8's blocks with each quad of lanes sharing
 * its loads of dlogits; adapters with subgroups). All give the same bits.
 */
export const CROSS_ENTROPY_BACKWARD = {
  family: 'cross_entropy.backward',
  prefix: 'cross_entropy',
  ops: ['dhidden', 'dweight'],
  variants: {
    tiled: {
      name: 'tiled',
      files: ceBackFiles('tiled'),
      tile: [16, 16],
      needs: [],
      fits: always,
      requires: 'nothing',
    },
    direct: {
      name: 'direct',
      files: ceBackFiles('direct'),
      tile: [32, 32],
      needs: [],
      fits: always,
      requires: 'nothing',
    },
    direct8: {
      name: 'direct8',
      files: ceBackFiles('direct8'),
      tile: [32, 64],
      needs: [],
      fits: wideFits,
      requires: WIDE,
    },
    quad: {
      name: 'quad',
      files: ceBackFiles('quad'),
      tile: [64, 8],
      needs: ['subgroups'],
      fits: wideFits,
      requires: `subgroups, ${WIDE}`,
    },
  },
  pick(a, s): 'tiled' | 'direct' | 'direct8' | 'quad' {
    if (s.forward === 'tiled') return 'tiled';
    if (s.scalar) return 'direct';
    const wide = wideFits(s);
    if (wide && a.features.subgroups) return 'quad';
    return wide ? 'direct8' : 'direct';
  },
  rule:
    'with the tiled forward tiled; with the direct forward quad where the adapter has subgroups ' +
    'and the shapes allow 16-byte loads, else direct8 where they allow them, else direct',
  tuned: false,
} as const satisfies KernelFamilySpec<CrossEntropyBackwardShape, string>;

/** The cross-entropy backward variants. */
export type CrossEntropyBackwardVariant = keyof typeof CROSS_ENTROPY_BACKWARD.variants;

// ── LoRA, RMSNorm, gradient norm ───────────────────────────────────────────────────────────────

/**
 * The LoRA weight gradients (dA, dB += Σ_t over tokens in order): tiled, 16×16 workgroup-memory
 * tiles (GPUs); direct, 4×4 register blocks per invocation, no workgroup memory (CPU adapters).
 */
export const LORA = {
  family: 'lora',
  prefix: 'lora',
  ops: ['weightgrad'],
  variants: {
    tiled: {
      name: 'tiled',
      files: { weightgrad: 'lora.weightgrad_tiled' },
      tile: [16, 16],
      needs: [],
      fits: always,
      requires: 'nothing',
    },
    direct: {
      name: 'direct',
      files: { weightgrad: 'lora.weightgrad_direct' },
      tile: [32, 32],
      needs: [],
      fits: always,
      requires: 'nothing',
    },
  },
  pick: (a) => (a.isSoftware ? 'direct' : 'tiled'),
  rule: 'software adapters direct, else tiled',
  tuned: false,
} as const satisfies KernelFamilySpec<NoShape, string>;

/** The LoRA weight-gradient variants. */
export type WeightGradVariant = keyof typeof LORA.variants;

/**
 * RMSNorm forward and input gradient (the weight gradient's two-stage sum has one kernel each):
 * workgroup, one 256-lane workgroup per row with a tree reduction (GPUs); rows, one invocation per
 * row, no barriers (CPU adapters, where emulated barriers dominate: on SwiftShader the workgroup
 * forward took ~1.4 s for 512×64 under load, the row variant a few ms). add_forward is the forward
 * with the residual add before it fused in (h += res, then normalize h): the decoder layer's
 * attention residual and its post-attention norm in one launch.
 */
export const RMSNORM = {
  family: 'rmsnorm',
  prefix: 'rmsnorm',
  ops: ['forward', 'backward', 'add_forward'],
  variants: {
    workgroup: {
      name: 'workgroup',
      files: {
        forward: 'rmsnorm.forward_workgroup',
        backward: 'rmsnorm.backward_workgroup',
        add_forward: 'rmsnorm.add_forward_workgroup',
      },
      tile: [1, 1],
      needs: [],
      fits: always,
      requires: 'nothing',
    },
    rows: {
      name: 'rows',
      files: {
        forward: 'rmsnorm.forward_rows',
        backward: 'rmsnorm.backward_rows',
        add_forward: 'rmsnorm.add_forward_rows',
      },
      tile: [1, 64],
      needs: [],
      fits: always,
      requires: 'nothing',
    },
  },
  pick: (a) => (a.isSoftware ? 'rows' : 'workgroup'),
  rule: 'software adapters rows, else workgroup',
  tuned: false,
} as const satisfies KernelFamilySpec<NoShape, string>;

/** The RMSNorm variants. */
export type RmsnormVariant = keyof typeof RMSNORM.variants;

/**
 * The squared gradient norm's partial sums (a fixed-order reduce follows): tree, a workgroup per
 * 4096-element block summed by 256 lanes and a workgroup-memory tree (GPUs); serial, one invocation
 * per block walking it in order, no barriers (CPU adapters, where the emulated barriers made the tree
 * 9 s of a 100 s SmolLM2-width step, on the embedding's gradient).
 */
export const GRADNORM = {
  family: 'gradnorm',
  prefix: 'gradnorm',
  ops: ['partial'],
  variants: {
    tree: {
      name: 'tree',
      files: { partial: 'gradnorm.partial_tree' },
      tile: [1, 1],
      needs: [],
      fits: always,
      requires: 'nothing',
    },
    serial: {
      name: 'serial',
      files: { partial: 'gradnorm.partial_serial' },
      tile: [1, 64],
      needs: [],
      fits: always,
      requires: 'nothing',
    },
  },
  pick: (a) => (a.isSoftware ? 'serial' : 'tree'),
  rule: 'software adapters serial, else tree',
  tuned: false,
} as const satisfies KernelFamilySpec<NoShape, string>;

/** The gradient-norm variants. */
export type GradNormVariant = keyof typeof GRADNORM.variants;

/** Every family, in the order a step launches them. */
export const KERNEL_FAMILIES = [
  MATMUL,
  ATTENTION,
  CROSS_ENTROPY,
  CROSS_ENTROPY_BACKWARD,
  LORA,
  RMSNORM,
  GRADNORM,
] as const;

/**
 * Every family in the registry: those a step launches, then the quantized matmuls (registered and
 * tested, not yet launched by a step: issue 26 item 2).
 */
export const ALL_KERNEL_FAMILIES = [...KERNEL_FAMILIES, MATMUL_QUANT] as const;

/** What a step launches of one family: a variant, its files, and why it was chosen. */
export interface KernelChoice {
  family: KernelFamily;
  variant: string;
  /** The variant's shader files the step runs. */
  files: string[];
  /**
   * 'default': the family's rule on this adapter; 'tuned': timed on this adapter (matmul: from
   * this pass, the in-memory cache or the store).
   */
  source: 'default' | 'tuned';
  /** Matmul: the shape classes that use this variant. */
  classes?: number;
}
