/**
 * Launchers for flash-style attention with the LongLoRA patterns (full causal, s2, s2roll): a forward
 * that saves the per-row log-sum-exp, and a backward that recomputes probabilities from it. Memory is
 * linear in the context: no N×N buffer exists; key tiles a query tile cannot see are skipped.
 *
 * Long contexts run in blocks so every binding stays within the binding limit: q, o, dO and dq are
 * bound as views of query-row blocks, k, v, dk and dv as views of key-row blocks (lse and D [H, Tq]
 * stay whole). The forward runs each query block over its key blocks and merges the partial outputs
 * by their log-sum-exp (attention.merge); the backward accumulates dq over key blocks and dk/dv over
 * query blocks. Block pairs no query of the pair can see are skipped.
 */
import { blockBytesLimit, VIEW_ROW_GRANULE, viewBlockRows } from '../row-blocks.ts';
import type { Binding, Runtime, Tensor } from '../runtime.ts';
import { uniformLayout } from '../uniforms.ts';
import {
  isAttentionPattern,
  PATTERN_ID,
  type AttentionPattern,
} from '../../util/attention-pattern.ts';
import { InternalError } from '../../util/errors.ts';
import { attentionSgmatrixConfigWgsl, attentionSgmatrixTile } from './attention-sgmatrix.ts';
import { cachedChoice, pow2Bucket, tuneKey } from './autotune.ts';
import {
  ATTENTION,
  ATTENTION_MAX_HEAD_DIM,
  chooseVariant,
  variantRuns,
  type AttentionShape,
  type AttentionVariant,
  type KernelVariant,
} from './registry.ts';

export type { AttentionPattern } from '../../util/attention-pattern.ts';

/** Shapes and pattern of one attention call. q, o [Tq, H, hd]; k, v [Tk, KV, hd]; lse [H, Tq]. */
export interface AttentionConfig {
  Tq: number;
  Tk: number;
  H: number;
  KV: number;
  hd: number;
  pattern: AttentionPattern;
  /**
   * Group size G, required for s2/s2roll (N a multiple of G, G even; the model layer picks it, see
   * src/model/longlora.ts); ignored for full.
   */
  group?: number;
  /** Absolute position of query 0 (pattern full only, generation with a KV cache). Default 0. */
  qOffset?: number;
  /** Rows (queries, or keys in the dk/dv pass) per workgroup, one lane each. Default 64. */
  tileRows?: number;
  /** Keys (or queries) staged in workgroup memory per step. Default: what fits, at most 64. */
  tileCols?: number;
  /** false visits every tile and relies on the mask alone (the naive variant, for comparison). */
  skipTiles?: boolean;
  /**
   * Query rows per block (a multiple of 64). Default: all Tq when [Tq, H·hd] f32 fits the binding
   * limit, else the most that do (attentionBlockRows).
   */
  queryBlock?: number;
  /** Key rows per block (a multiple of 64); default as queryBlock for [Tk, KV·hd]. */
  keyBlock?: number;
  /**
   * Kernel variant; default the tuned choice for this shape on this adapter (tuneAttention), else
   * attentionVariant(rt, hd). 'direct' needs hd % 4 == 0 and hd <= 64.
   */
  variant?: AttentionVariant;
  /**
   * fa2_sg: share values with quadBroadcast even where the subgroup is one quad (where it otherwise
   * uses subgroupBroadcast), so tests run both paths on one adapter.
   */
  quadBroadcast?: boolean;
}

export {
  ATTENTION_DIRECT_MAX_HEAD_DIM,
  ATTENTION_MAX_HEAD_DIM,
  type AttentionVariant,
} from './registry.ts';

/** A variant's registry entry (undefined for an unknown name, e.g. from an older cache). */
export function attentionSpec(v: AttentionVariant): KernelVariant<AttentionShape> | undefined {
  return ATTENTION.variants[v] as KernelVariant<AttentionShape> | undefined;
}

/** Whether the direct kernels take this head size (a multiple of 4, at most 64). */
export function directAttentionFits(hd: number): boolean {
  return ATTENTION.variants.direct.fits({ hd });
}

/**
 * The default variant for this adapter, the registry's attention rule (software adapters direct
 * when the head size fits, else tiled; GPUs fa2 when it fits, else tiled), before any tuning.
 */
export function attentionVariant(rt: Runtime, hd: number): AttentionVariant {
  return chooseVariant(ATTENTION, rt.info, { hd });
}

/** Bumped when the attention variants change, so older stored choices are not reused. */
const ATTENTION_TUNE_GENERATION = 1;

/**
 * The tuning key of an attention call on this adapter: its pattern, keys (and queries, when they
 * differ) to the power of two above, heads, kv heads, head size, and groups per context (s2, s2roll).
 */
export function attentionTuneKey(
  rt: Runtime,
  cfg: Pick<AttentionConfig, 'Tq' | 'Tk' | 'H' | 'KV' | 'hd' | 'pattern' | 'group'>,
): string {
  const { Tq, Tk, H, KV, hd, pattern } = cfg;
  const q = Tq === Tk ? '' : `q${pow2Bucket(Tq)}`;
  const g = pattern === 'full' ? '' : `g${Math.round(Tk / (cfg.group ?? Tk))}`;
  const bucket = `n${pow2Bucket(Tk)}${q}h${H}kv${KV}d${hd}${g}`;
  return tuneKey(rt, `attention@${ATTENTION_TUNE_GENERATION}`, pattern, bucket);
}

/**
 * The variant a launch without one uses: the tuned choice cached for its shape (never an emulation,
 * which tuning does not choose: such a cache is stale), else the default.
 */
export function resolveAttentionVariant(
  rt: Runtime,
  cfg: Pick<AttentionConfig, 'Tq' | 'Tk' | 'H' | 'KV' | 'hd' | 'pattern' | 'group'>,
): AttentionVariant {
  const hit = cachedChoice(attentionTuneKey(rt, cfg));
  const spec = hit === undefined ? undefined : attentionSpec(hit as AttentionVariant);
  if (spec && !spec.emulates && variantRuns(spec, rt.info, { hd: cfg.hd }))
    return hit as AttentionVariant;
  return attentionVariant(rt, cfg.hd);
}

/** Floats per staged workgroup array in the shaders (const TILE there). */
export const ATTENTION_TILE_FLOATS = 1984;

/**
 * The kernels of every variant, each once (the sgmatrix variants run fa2's backward); their Params
 * is spliced into attention.pattern.wgsl.
 */
export const ATTENTION_KERNELS: readonly string[] = [
  ...new Set(Object.values(ATTENTION.variants).flatMap((v) => Object.values(v.files))),
];

const Params = uniformLayout(
  {
    Tq: 'u32',
    Tk: 'u32',
    H: 'u32',
    KV: 'u32',
    pattern: 'u32',
    G: 'u32',
    qOffset: 'u32',
    skip: 'u32',
    hd: 'u32',
    bk: 'u32',
    scale: 'f32',
    N: 'u32',
    NQ: 'u32',
    qBase: 'u32',
    kBase: 'u32',
    acc: 'u32',
  },
  {
    shaders: ATTENTION_KERNELS,
    // The values of `pattern`, named for the WGSL (attention.pattern.wgsl compares against these).
    consts: {
      PATTERN_FULL: PATTERN_ID.full,
      PATTERN_S2: PATTERN_ID.s2,
      PATTERN_S2ROLL: PATTERN_ID.s2roll,
    },
  },
);
const PrepParams = uniformLayout(
  { Tq: 'u32', H: 'u32', HD: 'u32', q0: 'u32', NQ: 'u32' },
  { shaders: ['attention.backward_prep', 'attention.merge'] },
);

/** The uniform layouts (tests check what they splice into the shaders). */
export const attentionUniforms = { Params, PrepParams };

interface Resolved {
  G: number;
  qOffset: number;
  rows: number;
  cols: number;
  variant: AttentionVariant;
}

function isCount(x: number): boolean {
  return Number.isInteger(x) && x > 0;
}

/** Checks a config and resolves its defaults; throws an Error that says what is wrong. */
export function resolveAttentionConfig(rt: Runtime | null, cfg: AttentionConfig): Resolved {
  const { Tq, Tk, H, KV, hd, pattern } = cfg;
  for (const [name, x] of Object.entries({ Tq, Tk, H, KV, hd })) {
    if (!isCount(x))
      throw new InternalError(`attention: ${name} must be a positive integer, got ${x}`);
  }
  if (!isAttentionPattern(pattern))
    throw new InternalError(`attention: unknown pattern '${String(pattern)}'`);
  if (H % KV !== 0) throw new InternalError(`attention: H (${H}) must be a multiple of KV (${KV})`);
  if (hd > ATTENTION_MAX_HEAD_DIM) {
    throw new InternalError(`attention: head_dim ${hd} exceeds ${ATTENTION_MAX_HEAD_DIM}`);
  }
  const qOffset = cfg.qOffset ?? 0;
  if (!Number.isInteger(qOffset) || qOffset < 0) {
    throw new InternalError(`attention: qOffset must be a non-negative integer, got ${qOffset}`);
  }
  let G = Tk;
  if (pattern === 'full') {
    if (qOffset + Tq > Tk) {
      throw new InternalError(
        `attention: qOffset (${qOffset}) + Tq (${Tq}) exceeds the ${Tk} keys`,
      );
    }
  } else {
    if (Tq !== Tk)
      throw new InternalError(`attention: pattern ${pattern} needs Tq = Tk, got ${Tq}, ${Tk}`);
    if (qOffset !== 0) throw new InternalError(`attention: qOffset is only for pattern full`);
    if (cfg.group === undefined) {
      throw new InternalError(`attention: pattern ${pattern} needs a group size (cfg.group)`);
    }
    G = cfg.group;
    if (!isCount(G) || G % 2 !== 0 || Tk % G !== 0) {
      throw new InternalError(
        `attention: group size ${G} must be even and divide the context ${Tk}`,
      );
    }
  }
  const variant = cfg.variant ?? (rt ? resolveAttentionVariant(rt, { ...cfg, group: G }) : 'tiled');
  const spec = ATTENTION.variants[variant] as
    (typeof ATTENTION.variants)[AttentionVariant] | undefined;
  if (!spec) throw new InternalError(`attention: unknown variant '${String(variant)}'`);
  if (!spec.fits({ hd })) {
    throw new InternalError(`attention: the ${variant} variant needs ${spec.requires}, got ${hd}`);
  }
  const rows = cfg.tileRows ?? spec.tile[1];
  const maxLanes = rt?.device.limits.maxComputeInvocationsPerWorkgroup ?? 256;
  if (!isCount(rows) || rows > maxLanes) {
    throw new InternalError(`attention: tileRows must be in 1..${maxLanes}, got ${rows}`);
  }
  // Staged tiles are [cols, hd] inside fixed workgroup arrays of TILE floats (see the shaders).
  const fit = Math.floor(ATTENTION_TILE_FLOATS / hd);
  const cols = cfg.tileCols ?? Math.min(64, fit);
  if (!isCount(cols) || cols > 64 || cols > fit) {
    throw new InternalError(`attention: tileCols must be in 1..${Math.min(64, fit)}, got ${cols}`);
  }
  return { G, qOffset, rows, cols, variant };
}

function checkSize(t: Tensor, want: number, name: string): void {
  if (t.dtype !== 'f32') throw new InternalError(`attention: ${name} (${t.label}) must be f32`);
  if (t.size < want) {
    throw new InternalError(
      `attention: ${name} (${t.label}) has ${t.size} elements, needs ${want}`,
    );
  }
}

/** The attention ops, as the registry names their files. */
type AttentionOp = 'forward' | 'backward_dq' | 'backward_dkdv';

/**
 * The fa2 kernels' tiles for head size hd and R query heads per kv head (pipeline constants; the
 * workgroup arrays are sized for these, within the default 16 KiB of workgroup memory, 64 lanes):
 * forward rows (query, head pairs) 8·TR and keys 8·TK per tile, hd <= 64: 32 × 16, else 16 × 8;
 * dq rows 8·TR and keys 8·TK, hd <= 64: 16 × 16, else 8 × 8; dk/dv keys 8·TR per workgroup and BQ
 * queries per tile, hd <= 64: 16 × 8, else 8 × 4. A forward or dq workgroup holds RH of the R query
 * heads of one kv head (at most 8: chunks = ceil(R / 8) workgroups share the kv head) and
 * floor(rows / RH) queries of each.
 */
export function fa2Tiles(hd: number, R: number) {
  const small = hd <= 64;
  const chunks = Math.ceil(R / 8);
  const RH = Math.ceil(R / chunks);
  return {
    HD4: hd / 4,
    RH,
    chunks,
    forward: small ? { TR: 4, TK: 2 } : { TR: 2, TK: 1 },
    backward_dq: small ? { TR: 2, TK: 2 } : { TR: 1, TK: 1 },
    backward_dkdv: small ? { TR: 2, BQ: 8 } : { TR: 1, BQ: 4 },
  };
}

/**
 * The fa2_sg kernels' tiles (pipeline constants; 16 quads of 4 lanes, K and V tiles or q and dO
 * tiles 4 KiB each): forward and dq rows 16·TR (TR per quad) and keys 4·TK per tile (TK per lane),
 * hd <= 64: 32 × 16, else 16 × 8; dk/dv keys 16·TR per workgroup and 4·TQ queries per tile, hd <=
 * 64: 32 × 16, else 16 × 8. Rows are (query, head) pairs over RH heads as fa2Tiles.
 */
export function fa2SgTiles(hd: number, R: number) {
  const small = hd <= 64;
  const { HD4, RH, chunks } = fa2Tiles(hd, R);
  const rows = small ? { TR: 2, TK: 4 } : { TR: 1, TK: 2 };
  return {
    HD4,
    RH,
    chunks,
    forward: rows,
    backward_dq: rows,
    backward_dkdv: small ? { TR: 2, TQ: 4 } : { TR: 1, TQ: 2 },
  };
}

/** The fa2 or fa2_sg tiles of a config, and how many lanes share a row group (fa2 8, fa2_sg a quad). */
function fa2Shape(variant: 'fa2' | 'fa2_sg', cfg: AttentionConfig) {
  const R = cfg.H / cfg.KV;
  return variant === 'fa2'
    ? { t: fa2Tiles(cfg.hd, R), lanesPerRow: 8 }
    : { t: fa2SgTiles(cfg.hd, R), lanesPerRow: 4 };
}

/** Runtimes whose attention_sgmatrix_config (the subgroup-matrix forward's sizes) is written. */
const sgmatrixReady = new WeakSet<Runtime>();

/**
 * Writes the sizes attention.forward_sgmatrix.wgsl is built with on this runtime's adapter, once,
 * before its first pipeline (the file's include, attention_sgmatrix_config, is replaced).
 */
function prepareSgmatrix(rt: Runtime): void {
  if (sgmatrixReady.has(rt)) return;
  const tile = attentionSgmatrixTile(rt.info);
  if (!tile) throw new InternalError('attention sgmatrix: no usable subgroup-matrix configuration');
  rt.registerShader('attention_sgmatrix_config', attentionSgmatrixConfigWgsl(tile));
  sgmatrixReady.add(rt);
}

/** The variant whose kernel runs `op`: the sgmatrix variants' backward is fa2's. */
function kernelOf(variant: AttentionVariant, op: AttentionOp): AttentionVariant {
  return (variant === 'sgmatrix' || variant === 'sgmatrix_emu') && op !== 'forward'
    ? 'fa2'
    : variant;
}

/**
 * Pipeline constants: the direct kernels are specialised on the head size and the skip mode; fa2 on
 * its tiles, and on GPUs also on the head size and heads per workgroup (on software adapters, where
 * compiling dominates, those come from the uniforms: one pipeline per tile shape).
 */
function constants(
  rt: Runtime,
  cfg: AttentionConfig,
  r: Resolved,
  op: AttentionOp,
): Record<string, number> {
  const variant = kernelOf(r.variant, op);
  if (variant === 'tiled') return { ROWS: r.rows };
  if (variant === 'sgmatrix' || variant === 'sgmatrix_emu') {
    const out: Record<string, number> = {};
    if (variant === 'sgmatrix') {
      prepareSgmatrix(rt);
      out.SG_LANES = attentionSgmatrixTile(rt.info)!.lanes;
    }
    if (!rt.info.isSoftware) {
      out.FIXED_HD4 = cfg.hd / 4;
      out.FIXED_RH = fa2Tiles(cfg.hd, cfg.H / cfg.KV).RH;
    }
    return out;
  }
  if (variant === 'fa2' || variant === 'fa2_sg') {
    const { t } = fa2Shape(variant, cfg);
    const out: Record<string, number> = { ...(op === 'backward_dkdv' ? t.backward_dkdv : t[op]) };
    if (!rt.info.isSoftware) {
      out.FIXED_HD4 = t.HD4;
      if (op !== 'backward_dkdv') out.FIXED_RH = t.RH;
    }
    // A subgroup of exactly one quad (SwiftShader): subgroupBroadcast, as matmul.quad8.
    if (variant === 'fa2_sg' && rt.info.features.subgroupSize === 4 && !cfg.quadBroadcast)
      out.SG4 = 1;
    return out;
  }
  return { ROWS: r.rows, HD4: cfg.hd / 4, SKIP: cfg.skipTiles === false ? 0 : 1 };
}

/**
 * The pipelines (shader and constants) of the forward, dq and dk/dv kernels a call of `cfg` runs
 * on this adapter (tuning compiles them before it runs a candidate).
 */
export function attentionPipelines(
  rt: Runtime,
  cfg: AttentionConfig,
): { shader: string; constants: Record<string, number> }[] {
  const r = resolveAttentionConfig(rt, cfg);
  const files = ATTENTION.variants[r.variant].files;
  return (['forward', 'backward_dq', 'backward_dkdv'] as const).map((op) => ({
    shader: files[op],
    constants: constants(rt, cfg, r, op),
  }));
}

/** Workgroups of one dispatch over nq queries (forward, dq) or nk keys (dk/dv). */
function grid(cfg: AttentionConfig, r: Resolved, op: AttentionOp, n: number): [number, number] {
  const variant = kernelOf(r.variant, op);
  if (variant === 'sgmatrix' || variant === 'sgmatrix_emu') {
    // 16 rows over RH heads, as fa2's row blocks (attention_fa2_rows.wgsl).
    const { RH, chunks } = fa2Tiles(cfg.hd, cfg.H / cfg.KV);
    return [Math.ceil(n / Math.floor(ATTENTION.variants[variant].tile[1] / RH)), cfg.KV * chunks];
  }
  if (variant !== 'fa2' && variant !== 'fa2_sg')
    return [Math.ceil(n / r.rows), op === 'backward_dkdv' ? cfg.KV : cfg.H];
  const { t, lanesPerRow } = fa2Shape(variant, cfg);
  const groups = 64 / lanesPerRow;
  if (op === 'backward_dkdv') return [Math.ceil(n / (groups * t.backward_dkdv.TR)), cfg.KV];
  const perHead = Math.floor((groups * t[op].TR) / t.RH);
  return [Math.ceil(n / perHead), cfg.KV * t.chunks];
}

/** One dispatch's rows: queries q0 … q0 + nq − 1 and keys k0 … k0 + nk − 1. */
interface Block {
  q0: number;
  nq: number;
  k0: number;
  nk: number;
}

function params(cfg: AttentionConfig, r: Resolved, b: Block, acc: boolean): ArrayBuffer {
  return Params.pack({
    Tq: b.nq,
    Tk: b.nk,
    H: cfg.H,
    KV: cfg.KV,
    pattern: PATTERN_ID[cfg.pattern],
    G: r.G,
    qOffset: r.qOffset,
    skip: cfg.skipTiles === false ? 0 : 1,
    hd: cfg.hd,
    bk: r.cols,
    scale: 1 / Math.sqrt(cfg.hd),
    N: cfg.Tk,
    NQ: cfg.Tq,
    qBase: b.q0,
    kBase: b.k0,
    acc: acc ? 1 : 0,
  });
}

/**
 * Query and key rows per block under a binding limit of `maxBinding` bytes: all rows when [rows,
 * heads·hd] f32 fits, else the largest 64·2^k rows that do (viewBlockRows; cfg.queryBlock /
 * keyBlock override). Throws when not even 64 rows fit.
 */
export function attentionBlockRows(
  cfg: Pick<AttentionConfig, 'Tq' | 'Tk' | 'H' | 'KV' | 'hd' | 'queryBlock' | 'keyBlock'>,
  maxBinding: number,
): { query: number; key: number } {
  const pick = (rows: number, width: number, given: number | undefined, what: string) => {
    if (given !== undefined) {
      if (!(Number.isInteger(given) && given > 0 && given % VIEW_ROW_GRANULE === 0))
        throw new InternalError(
          `attention: ${what} must be a positive multiple of 64, got ${given}`,
        );
      return Math.min(given, rows);
    }
    const n = viewBlockRows(rows, 4 * width, maxBinding);
    if (n < 1)
      throw new InternalError(
        `attention: not even 64 ${what} rows of ${width} floats fit a binding`,
      );
    return n;
  };
  return {
    query: pick(cfg.Tq, cfg.H * cfg.hd, cfg.queryBlock, 'queryBlock'),
    key: pick(cfg.Tk, cfg.KV * cfg.hd, cfg.keyBlock, 'keyBlock'),
  };
}

/** [first row, count] of each block of `per` rows. */
function spans(rows: number, per: number): [number, number][] {
  const out: [number, number][] = [];
  for (let r0 = 0; r0 < rows; r0 += per) out.push([r0, Math.min(per, rows - r0)]);
  return out;
}

/**
 * Whether any query of [q0, q0 + nq) can see any key of [k0, k0 + nk) (conservative: true may still
 * see nothing, false never hides a visible pair). Causal for every pattern, so keys after the last
 * query (plus qOffset) are unseen, except s2roll's wrapped tail [N − G/2, N), seen by its first G/2
 * queries; s2 and s2roll never look further back than G/2 before the first query's group.
 */
export function attentionBlocksMeet(
  cfg: AttentionConfig,
  G: number,
  qOffset: number,
  b: Block,
): boolean {
  if (cfg.skipTiles === false) return true;
  const qLast = b.q0 + b.nq - 1 + qOffset;
  const wrapped = cfg.pattern === 's2roll' && b.q0 < G / 2 && b.k0 + b.nk > cfg.Tk - G / 2;
  if (wrapped) return true;
  if (b.k0 > qLast) return false;
  if (cfg.pattern === 'full') return true;
  const lowest = Math.floor(b.q0 / G) * G - G / 2;
  return b.k0 + b.nk > lowest;
}

/**
 * Rows r0 … r0 + n − 1 of t seen as [rows, width] f32 (the whole tensor when that is all of it and
 * it is one buffer).
 */
function rowView(t: Tensor, r0: number, n: number, rows: number, width: number): Binding {
  if (r0 === 0 && n === rows && !t.split) return t;
  return { tensor: t, offset: r0 * width * 4, size: n * width * 4 };
}

/**
 * o = softmax(q·kᵀ/√hd, masked by cfg.pattern)·v and lse [H, Tq]; both overwritten. Over more than
 * one key block, each block after a query block's first writes a partial output and log-sum-exp
 * into a temporary ([query block, H·hd] and [H, Tq] f32, category workspace) that attention.merge
 * folds in; the recorded work is then submitted before the temporary is released.
 */
export function attentionForward(
  rt: Runtime,
  q: Tensor,
  k: Tensor,
  v: Tensor,
  o: Tensor,
  lse: Tensor,
  cfg: AttentionConfig,
): void {
  const r = resolveAttentionConfig(rt, cfg);
  const { Tq, Tk, H, KV, hd } = cfg;
  checkSize(q, Tq * H * hd, 'q');
  checkSize(k, Tk * KV * hd, 'k');
  checkSize(v, Tk * KV * hd, 'v');
  checkSize(o, Tq * H * hd, 'o');
  checkSize(lse, H * Tq, 'lse');
  const per = attentionBlockRows(cfg, blockBytesLimit(rt.info.limits));
  const qSpans = spans(Tq, per.query);
  const kSpans = spans(Tk, per.key);
  let oPart: Tensor | null = null;
  let lsePart: Tensor | null = null;
  const label = `attention.forward ${r.variant} ${cfg.pattern} ${Tq}x${Tk} H${H}/${KV} d${hd}`;
  for (const [q0, nq] of qSpans) {
    let first = true;
    for (const [k0, nk] of kSpans) {
      const b = { q0, nq, k0, nk };
      if (!attentionBlocksMeet(cfg, r.G, r.qOffset, b)) continue;
      if (!first && !oPart) {
        oPart = rt.tensor([per.query, H * hd], 'f32', 'workspace', 'attention partial o');
        lsePart = rt.tensor([H, Tq], 'f32', 'workspace', 'attention partial lse');
      }
      const out = first
        ? rowView(o, q0, nq, Tq, H * hd)
        : rowView(oPart!, 0, nq, per.query, H * hd);
      rt.dispatch({
        shader: ATTENTION.variants[r.variant].files.forward,
        constants: constants(rt, cfg, r, 'forward'),
        bindings: [
          rowView(q, q0, nq, Tq, H * hd),
          rowView(k, k0, nk, Tk, KV * hd),
          rowView(v, k0, nk, Tk, KV * hd),
          out,
          first ? lse : lsePart!,
        ],
        params: params(cfg, r, b, false),
        workgroups: grid(cfg, r, 'forward', nq),
        label: qSpans.length * kSpans.length > 1 ? `${label} q${q0}+${nq} k${k0}+${nk}` : label,
      });
      if (!first) {
        rt.dispatch({
          shader: 'attention.merge',
          bindings: [rowView(o, q0, nq, Tq, H * hd), lse, out, lsePart!],
          params: PrepParams.pack({ Tq: nq, H, HD: hd, q0, NQ: Tq }),
          workgroups: [Math.ceil((nq * H) / 64)],
          label: `attention.merge q${q0}+${nq} k${k0}+${nk}`,
        });
      }
      first = false;
    }
  }
  if (oPart) {
    rt.flush();
    oPart.destroy();
    lsePart!.destroy();
  }
}

/** A workspace tensor for attentionBackward (D, [H, Tq] f32), to reuse across calls. */
export function attentionWorkspace(rt: Runtime, cfg: AttentionConfig): Tensor {
  return rt.tensor([cfg.H, cfg.Tq], 'f32', 'workspace', 'attention D');
}

/**
 * dq, dk, dv (all OVERWRITTEN) from the forward's o and lse and the upstream dO; deterministic.
 * `ws` is a workspace from attentionWorkspace; without one, a temporary is allocated, and the
 * recorded work is submitted before it is released. In blocks, dq accumulates over key blocks and
 * dk/dv over query blocks (each block's first dispatch overwrites).
 */
export function attentionBackward(
  rt: Runtime,
  q: Tensor,
  k: Tensor,
  v: Tensor,
  o: Tensor,
  lse: Tensor,
  dO: Tensor,
  dq: Tensor,
  dk: Tensor,
  dv: Tensor,
  cfg: AttentionConfig,
  ws?: Tensor,
): void {
  const r = resolveAttentionConfig(rt, cfg);
  const { Tq, Tk, H, KV, hd } = cfg;
  for (const [t, n, name] of [
    [q, Tq * H * hd, 'q'],
    [k, Tk * KV * hd, 'k'],
    [v, Tk * KV * hd, 'v'],
    [o, Tq * H * hd, 'o'],
    [lse, H * Tq, 'lse'],
    [dO, Tq * H * hd, 'dO'],
    [dq, Tq * H * hd, 'dq'],
    [dk, Tk * KV * hd, 'dk'],
    [dv, Tk * KV * hd, 'dv'],
  ] as const) {
    checkSize(t, n, name);
  }
  const D = ws ?? attentionWorkspace(rt, cfg);
  checkSize(D, H * Tq, 'workspace');
  const per = attentionBlockRows(cfg, blockBytesLimit(rt.info.limits));
  const qSpans = spans(Tq, per.query);
  const kSpans = spans(Tk, per.key);
  const split = qSpans.length * kSpans.length > 1;
  const label = `${r.variant} ${cfg.pattern} ${Tq}x${Tk} H${H}/${KV} d${hd}`;
  const qv = (t: Tensor, q0: number, nq: number) => rowView(t, q0, nq, Tq, H * hd);
  const kv = (t: Tensor, k0: number, nk: number) => rowView(t, k0, nk, Tk, KV * hd);
  for (const [q0, nq] of qSpans) {
    rt.dispatch({
      shader: 'attention.backward_prep',
      bindings: [qv(o, q0, nq), qv(dO, q0, nq), D],
      params: PrepParams.pack({ Tq: nq, H, HD: hd, q0, NQ: Tq }),
      workgroups: [Math.ceil((nq * H) / 64)],
      label: `attention.backward_prep ${label}${split ? ` q${q0}+${nq}` : ''}`,
    });
  }
  const files = ATTENTION.variants[r.variant].files;
  for (const [k0, nk] of kSpans) {
    let first = true;
    for (const [q0, nq] of qSpans) {
      const b = { q0, nq, k0, nk };
      // A key block no query block meets still gets one dispatch, which writes its zeros.
      const lastChance = first && q0 + nq === Tq;
      if (!attentionBlocksMeet(cfg, r.G, r.qOffset, b) && !lastChance) continue;
      rt.dispatch({
        shader: files.backward_dkdv,
        constants: constants(rt, cfg, r, 'backward_dkdv'),
        bindings: [
          qv(q, q0, nq),
          kv(k, k0, nk),
          kv(v, k0, nk),
          qv(dO, q0, nq),
          lse,
          D,
          kv(dk, k0, nk),
          kv(dv, k0, nk),
        ],
        params: params(cfg, r, b, !first),
        workgroups: grid(cfg, r, 'backward_dkdv', nk),
        label: `attention.backward_dkdv ${label}${split ? ` q${q0}+${nq} k${k0}+${nk}` : ''}`,
      });
      first = false;
    }
  }
  for (const [q0, nq] of qSpans) {
    let first = true;
    for (const [k0, nk] of kSpans) {
      const b = { q0, nq, k0, nk };
      const lastChance = first && k0 + nk === Tk;
      if (!attentionBlocksMeet(cfg, r.G, r.qOffset, b) && !lastChance) continue;
      rt.dispatch({
        shader: files.backward_dq,
        constants: constants(rt, cfg, r, 'backward_dq'),
        bindings: [
          qv(q, q0, nq),
          kv(k, k0, nk),
          kv(v, k0, nk),
          qv(dO, q0, nq),
          lse,
          D,
          qv(dq, q0, nq),
        ],
        params: params(cfg, r, b, !first),
        workgroups: grid(cfg, r, 'backward_dq', nq),
        label: `attention.backward_dq ${label}${split ? ` q${q0}+${nq} k${k0}+${nk}` : ''}`,
      });
      first = false;
    }
  }
  if (!ws) {
    rt.flush();
    D.destroy();
  }
}
