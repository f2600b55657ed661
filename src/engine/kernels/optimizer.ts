/**
 * Launchers for the optimizer: one AdamW step and the deterministic squared gradient norm. Parameters
 * may be row-blocked (RowBlocks, with gradient and moments blocked alike): both loop over the blocks.
 */
import { piecesOf, RowBlocks, type Stored } from '../row-blocks.ts';
import type { Runtime, Tensor } from '../runtime.ts';
import { uniformLayout } from '../uniforms.ts';
import { grid2d } from './elementwise.ts';
import { InternalError } from '../../util/errors.ts';
import { chooseVariant, GRADNORM, type GradNormVariant } from './registry.ts';

const AdamParams = uniformLayout(
  {
    n: 'u32',
    beta1: 'f32',
    beta2: 'f32',
    eps: 'f32',
    decay: 'f32',
    stepSize: 'f32',
    invSqrtBc2: 'f32',
    gradScale: 'f32',
  },
  { shaders: ['adamw.step'] },
);
const PartialParams = uniformLayout(
  { n: 'u32', base: 'u32' },
  { shaders: Object.values(GRADNORM.variants).map((v) => v.files.partial) },
);

export type { GradNormVariant } from './registry.ts';
const ReduceParams = uniformLayout({ count: 'u32' }, { shaders: ['gradnorm.reduce'] });

/** Elements summed by one workgroup of gradnorm.partial (256 lanes × 16). */
const NORM_BLOCK = 4096;

/** AdamW hyper-parameters of one step. */
export interface AdamWHyper {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** 1-based step number, for bias correction. */
  step: number;
  /** Multiplies the gradient first (clipping, accumulation averaging). */
  gradScale: number;
}

/**
 * One PyTorch-semantics AdamW step over n f32 elements; param, m and v are updated in place. Row-
 * blocked parameters (grad, m and v blocked the same way) get one dispatch per block.
 */
export function adamwStep(
  rt: Runtime,
  param: Stored,
  grad: Stored,
  m: Stored,
  v: Stored,
  n: number,
  h: AdamWHyper,
): void {
  if (!(h.step >= 1)) throw new InternalError(`adamwStep: step must be ≥ 1 (got ${h.step})`);
  const bc1 = 1 - h.beta1 ** h.step;
  const bc2 = 1 - h.beta2 ** h.step;
  const params = (count: number) =>
    AdamParams.pack({
      n: count,
      beta1: h.beta1,
      beta2: h.beta2,
      eps: h.eps,
      decay: 1 - h.lr * h.weightDecay,
      stepSize: h.lr / bc1,
      invSqrtBc2: 1 / Math.sqrt(bc2),
      gradScale: h.gradScale,
    });
  const maxDim = rt.device.limits.maxComputeWorkgroupsPerDimension;
  if (!(param instanceof RowBlocks)) {
    const one = (t: Stored, what: string) => {
      if (t instanceof RowBlocks)
        throw new InternalError(`adamwStep: ${what} is row-blocked, param is not`);
      return t;
    };
    rt.dispatch({
      shader: 'adamw.step',
      bindings: [one(grad, 'grad'), param, one(m, 'm'), one(v, 'v')],
      params: params(n),
      workgroups: grid2d(Math.ceil(n / 256), maxDim),
      label: `adamwStep ${n}`,
    });
    return;
  }
  if (n !== param.size)
    throw new InternalError(`adamwStep: n ${n} is not ${param.label}'s ${param.size}`);
  const [gs, ms, vs] = [grad, m, v].map(piecesOf);
  param.pieces().forEach((b, i) => {
    const count = b.rows * param.shape[1];
    const parts = [gs![i], ms![i], vs![i]];
    if (parts.some((x) => !x || x.row0 !== b.row0 || x.rows !== b.rows)) {
      throw new InternalError(`adamwStep: grad, m and v must be row-blocked as ${param.label}`);
    }
    rt.dispatch({
      shader: 'adamw.step',
      bindings: [parts[0]!.tensor, b.tensor, parts[1]!.tensor, parts[2]!.tensor],
      params: params(count),
      workgroups: grid2d(Math.ceil(count / 256), maxDim),
      label: `adamwStep ${count} rows ${b.row0}+${b.rows}`,
    });
  });
}

/**
 * out[0] = Σ over every listed buffer of Σ_{i<n} g[i]² (overwrite; a row-blocked buffer is summed
 * over all its blocks), deterministic: per-block partial
 * sums in a fixed order, then one fixed-order reduction. Submits the work to free its workspace.
 */
export function gradNormSquared(
  rt: Runtime,
  list: { tensor: Stored; n: number }[],
  out: Tensor,
  variant?: GradNormVariant,
): void {
  const { files, tile } = GRADNORM.variants[chooseVariant(GRADNORM, rt.info, {}, variant)];
  // A row-blocked gradient counts as its blocks, each whole.
  const grads = list.flatMap((g) =>
    g.tensor instanceof RowBlocks
      ? g.tensor.blocks.map((b) => ({ tensor: b, n: b.size }))
      : [{ tensor: g.tensor, n: g.n }],
  );
  const blocks = grads.map((g) => Math.ceil(g.n / NORM_BLOCK));
  const count = blocks.reduce((a, b) => a + b, 0);
  const partials = rt.tensor([Math.max(count, 1)], 'f32', 'workspace', 'gradnorm partials');
  const maxDim = rt.device.limits.maxComputeWorkgroupsPerDimension;
  let base = 0;
  grads.forEach((g, i) => {
    const b = blocks[i]!;
    if (b === 0) return;
    rt.dispatch({
      shader: files.partial,
      bindings: [g.tensor, partials],
      params: PartialParams.pack({ n: g.n, base }),
      // Blocks of NORM_BLOCK elements per workgroup: the tile's rows.
      workgroups: grid2d(Math.ceil(b / tile[1]), maxDim),
      label: `gradNormSquared partial ${g.tensor.label}`,
    });
    base += b;
  });
  rt.dispatch({
    shader: 'gradnorm.reduce',
    bindings: [partials, out],
    params: ReduceParams.pack({ count }),
    workgroups: [1],
    label: `gradNormSquared reduce ${count}`,
  });
  rt.flush();
  partials.destroy();
}

/** Float32 AdamW constants as adamw.step.wgsl sees them (its uniforms are f32). */
function hostAdamConstants(h: AdamWHyper) {
  if (!(h.step >= 1)) throw new InternalError(`adamwStep: step must be ≥ 1 (got ${h.step})`);
  const f = Math.fround;
  const b1 = f(h.beta1);
  const b2 = f(h.beta2);
  return {
    b1,
    b2,
    // (1.0 − β) is computed in f32 by the shader.
    c1: f(1 - b1),
    c2: f(1 - b2),
    eps: f(h.eps),
    decay: f(1 - h.lr * h.weightDecay),
    stepSize: f(h.lr / (1 - h.beta1 ** h.step)),
    invSqrtBc2: f(1 / Math.sqrt(1 - h.beta2 ** h.step)),
    gradScale: f(h.gradScale),
  };
}

/**
 * The CPU mirror of adamw.step.wgsl: one AdamW step over `param.length` f32 values in place (param,
 * m, v), with the shader's operations in its order, each rounded to f32. Used for moments kept in
 * host memory (LlamaParams' `embedOptimizer: 'cpu'`).
 */
export function adamwStepHost(
  param: Float32Array,
  grad: Float32Array,
  m: Float32Array,
  v: Float32Array,
  h: AdamWHyper,
): void {
  const n = param.length;
  if (grad.length < n || m.length !== n || v.length !== n)
    throw new InternalError(`adamwStepHost: grad, m and v must hold ${n} values`);
  const { b1, b2, c1, c2, eps, decay, stepSize, invSqrtBc2, gradScale } = hostAdamConstants(h);
  const f = Math.fround;
  for (let i = 0; i < n; i++) {
    const g = f(grad[i]! * gradScale);
    const mi = f(f(b1 * m[i]!) + f(c1 * g));
    const vi = f(f(b2 * v[i]!) + f(f(c2 * g) * g));
    m[i] = mi;
    v[i] = vi;
    const denom = f(f(f(Math.sqrt(vi)) * invSqrtBc2) + eps);
    param[i] = f(param[i]! * decay) - f(f(stepSize * mi) / denom);
  }
}

/**
 * One AdamW step for a parameter whose moments live in host memory (one Float32Array per piece of
 * `param`, in row order): block by block, reads the gradient and the parameter back, updates on the
 * CPU (adamwStepHost) and writes the parameter back. Never holds more than one block's gradient and
 * parameter at once. Returns the bytes moved between GPU and host.
 */
export async function adamwStepHostBlocks(
  rt: Runtime,
  param: Stored,
  grad: Stored,
  m: readonly Float32Array[],
  v: readonly Float32Array[],
  h: AdamWHyper,
): Promise<number> {
  const ps = piecesOf(param);
  const gs = piecesOf(grad);
  if (gs.length !== ps.length || m.length !== ps.length || v.length !== ps.length)
    throw new InternalError(
      `adamwStepHostBlocks: grad and moments must be blocked as ${param.label}`,
    );
  let moved = 0;
  for (let i = 0; i < ps.length; i++) {
    const p = ps[i]!;
    const g = gs[i]!;
    if (g.row0 !== p.row0 || g.rows !== p.rows)
      throw new InternalError(`adamwStepHostBlocks: grad must be row-blocked as ${param.label}`);
    const gv = await rt.read(g.tensor);
    const pv = await rt.read(p.tensor);
    adamwStepHost(pv, gv, m[i]!, v[i]!, h);
    rt.write(p.tensor, pv);
    moved += gv.byteLength + 2 * pv.byteLength;
  }
  return moved;
}
