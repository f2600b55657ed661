/**
 * Launchers for flash-style attention with the LongLoRA patterns (full causal, s2, s2roll): a forward
 * that saves the per-row log-sum-exp, and a backward that recomputes probabilities from it. Memory is
 * linear in the context: no N×N buffer exists; key tiles a query tile cannot see are skipped.
 */
import type { Runtime, Tensor } from '../runtime.ts';
import { uniformLayout } from '../uniforms.ts';
import {
  isAttentionPattern,
  PATTERN_ID,
  type AttentionPattern,
} from '../../util/attention-pattern.ts';

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
  /** Kernel family; default attentionVariant(rt, hd). 'direct' needs hd % 4 == 0 and hd <= 64. */
  variant?: AttentionVariant;
}

/**
 * 'tiled': workgroups stage key (or query) tiles in workgroup memory behind barriers (GPUs);
 * 'direct': one invocation per (query row, head) or (key row, kv head) reading straight from global
 * memory, no workgroup memory and no barriers (CPU adapters, where SwiftShader emulates barriers at
 * great cost). Both visit exactly the same key/query ranges and give the same results.
 */
export type AttentionVariant = 'tiled' | 'direct';

/** The largest head size the direct kernels hold in registers (16 vec4s per operand). */
export const ATTENTION_DIRECT_MAX_HEAD_DIM = 64;

/** Whether the direct kernels take this head size (a multiple of 4, at most 64). */
export function directAttentionFits(hd: number): boolean {
  return hd % 4 === 0 && hd <= ATTENTION_DIRECT_MAX_HEAD_DIM;
}

/** The variant for this adapter: 'direct' on software adapters when the head size fits, else 'tiled'. */
export function attentionVariant(rt: Runtime, hd: number): AttentionVariant {
  return rt.info.isSoftware && directAttentionFits(hd) ? 'direct' : 'tiled';
}

/** The largest head size the kernels hold per lane (private arrays of this size). */
export const ATTENTION_MAX_HEAD_DIM = 128;

/** Floats per staged workgroup array in the shaders (const TILE there). */
export const ATTENTION_TILE_FLOATS = 1984;

/** The six tiled and direct kernels; their Params is spliced into attention.pattern.wgsl. */
export const ATTENTION_KERNELS = [
  'attention.forward',
  'attention.forward_direct',
  'attention.backward_dq',
  'attention.backward_dq_direct',
  'attention.backward_dkdv',
  'attention.backward_dkdv_direct',
] as const;

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
  { Tq: 'u32', H: 'u32', HD: 'u32' },
  { shaders: ['attention.backward_prep'] },
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
    if (!isCount(x)) throw new Error(`attention: ${name} must be a positive integer, got ${x}`);
  }
  if (!isAttentionPattern(pattern))
    throw new Error(`attention: unknown pattern '${String(pattern)}'`);
  if (H % KV !== 0) throw new Error(`attention: H (${H}) must be a multiple of KV (${KV})`);
  if (hd > ATTENTION_MAX_HEAD_DIM) {
    throw new Error(`attention: head_dim ${hd} exceeds ${ATTENTION_MAX_HEAD_DIM}`);
  }
  const qOffset = cfg.qOffset ?? 0;
  if (!Number.isInteger(qOffset) || qOffset < 0) {
    throw new Error(`attention: qOffset must be a non-negative integer, got ${qOffset}`);
  }
  let G = Tk;
  if (pattern === 'full') {
    if (qOffset + Tq > Tk) {
      throw new Error(`attention: qOffset (${qOffset}) + Tq (${Tq}) exceeds the ${Tk} keys`);
    }
  } else {
    if (Tq !== Tk) throw new Error(`attention: pattern ${pattern} needs Tq = Tk, got ${Tq}, ${Tk}`);
    if (qOffset !== 0) throw new Error(`attention: qOffset is only for pattern full`);
    if (cfg.group === undefined) {
      throw new Error(`attention: pattern ${pattern} needs a group size (cfg.group)`);
    }
    G = cfg.group;
    if (!isCount(G) || G % 2 !== 0 || Tk % G !== 0) {
      throw new Error(`attention: group size ${G} must be even and divide the context ${Tk}`);
    }
  }
  const rows = cfg.tileRows ?? 64;
  const maxLanes = rt?.device.limits.maxComputeInvocationsPerWorkgroup ?? 256;
  if (!isCount(rows) || rows > maxLanes) {
    throw new Error(`attention: tileRows must be in 1..${maxLanes}, got ${rows}`);
  }
  // Staged tiles are [cols, hd] inside fixed workgroup arrays of TILE floats (see the shaders).
  const fit = Math.floor(ATTENTION_TILE_FLOATS / hd);
  const cols = cfg.tileCols ?? Math.min(64, fit);
  if (!isCount(cols) || cols > 64 || cols > fit) {
    throw new Error(`attention: tileCols must be in 1..${Math.min(64, fit)}, got ${cols}`);
  }
  const variant = cfg.variant ?? (rt ? attentionVariant(rt, hd) : 'tiled');
  if (variant !== 'tiled' && variant !== 'direct') {
    throw new Error(`attention: unknown variant '${String(variant)}'`);
  }
  if (variant === 'direct' && !directAttentionFits(hd)) {
    throw new Error(
      `attention: the direct variant needs head_dim % 4 == 0 and <= ${ATTENTION_DIRECT_MAX_HEAD_DIM}, got ${hd}`,
    );
  }
  return { G, qOffset, rows, cols, variant };
}

function checkSize(t: Tensor, want: number, name: string): void {
  if (t.dtype !== 'f32') throw new Error(`attention: ${name} (${t.label}) must be f32`);
  if (t.size < want) {
    throw new Error(`attention: ${name} (${t.label}) has ${t.size} elements, needs ${want}`);
  }
}

/** Pipeline constants: the direct kernels are specialised on the head size and the skip mode. */
function constants(cfg: AttentionConfig, r: Resolved): Record<string, number> {
  if (r.variant === 'tiled') return { ROWS: r.rows };
  return { ROWS: r.rows, HD4: cfg.hd / 4, SKIP: cfg.skipTiles === false ? 0 : 1 };
}

function params(cfg: AttentionConfig, r: Resolved): ArrayBuffer {
  return Params.pack({
    Tq: cfg.Tq,
    Tk: cfg.Tk,
    H: cfg.H,
    KV: cfg.KV,
    pattern: PATTERN_ID[cfg.pattern],
    G: r.G,
    qOffset: r.qOffset,
    skip: cfg.skipTiles === false ? 0 : 1,
    hd: cfg.hd,
    bk: r.cols,
    scale: 1 / Math.sqrt(cfg.hd),
  });
}

/** o = softmax(q·kᵀ/√hd, masked by cfg.pattern)·v and lse [H, Tq]; both overwritten. */
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
  rt.dispatch({
    shader: r.variant === 'direct' ? 'attention.forward_direct' : 'attention.forward',
    constants: constants(cfg, r),
    bindings: [q, k, v, o, lse],
    params: params(cfg, r),
    workgroups: [Math.ceil(Tq / r.rows), H],
    label: `attention.forward ${r.variant} ${cfg.pattern} ${Tq}x${Tk} H${H}/${KV} d${hd}`,
  });
}

/** A workspace tensor for attentionBackward (D, [H, Tq] f32), to reuse across calls. */
export function attentionWorkspace(rt: Runtime, cfg: AttentionConfig): Tensor {
  return rt.tensor([cfg.H, cfg.Tq], 'f32', 'workspace', 'attention D');
}

/**
 * dq, dk, dv (all OVERWRITTEN) from the forward's o and lse and the upstream dO; deterministic.
 * `ws` is a workspace from attentionWorkspace; without one, a temporary is allocated, and the
 * recorded work is submitted before it is released.
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
  const label = `${r.variant} ${cfg.pattern} ${Tq}x${Tk} H${H}/${KV} d${hd}`;
  rt.dispatch({
    shader: 'attention.backward_prep',
    bindings: [o, dO, D],
    params: PrepParams.pack({ Tq, H, HD: hd }),
    workgroups: [Math.ceil((Tq * H) / 64)],
    label: `attention.backward_prep ${label}`,
  });
  const p = params(cfg, r);
  const suffix = r.variant === 'direct' ? '_direct' : '';
  rt.dispatch({
    shader: `attention.backward_dkdv${suffix}`,
    constants: constants(cfg, r),
    bindings: [q, k, v, dO, lse, D, dk, dv],
    params: p,
    workgroups: [Math.ceil(Tk / r.rows), KV],
    label: `attention.backward_dkdv ${label}`,
  });
  rt.dispatch({
    shader: `attention.backward_dq${suffix}`,
    constants: constants(cfg, r),
    bindings: [q, k, v, dO, lse, D, dq],
    params: p,
    workgroups: [Math.ceil(Tq / r.rows), H],
    label: `attention.backward_dq ${label}`,
  });
  if (!ws) {
    rt.flush();
    D.destroy();
  }
}
