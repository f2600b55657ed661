/** Launchers for the optimizer: one AdamW step and the deterministic squared gradient norm. */
import type { Runtime, Tensor } from '../runtime.ts';
import { uniformLayout } from '../uniforms.ts';
import { grid2d } from './elementwise.ts';

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
const PartialParams = uniformLayout({ n: 'u32', base: 'u32' }, { shaders: ['gradnorm.partial'] });
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

/** One PyTorch-semantics AdamW step over n f32 elements; param, m and v are updated in place. */
export function adamwStep(
  rt: Runtime,
  param: Tensor,
  grad: Tensor,
  m: Tensor,
  v: Tensor,
  n: number,
  h: AdamWHyper,
): void {
  if (!(h.step >= 1)) throw new Error(`adamwStep: step must be ≥ 1 (got ${h.step})`);
  const bc1 = 1 - h.beta1 ** h.step;
  const bc2 = 1 - h.beta2 ** h.step;
  rt.dispatch({
    shader: 'adamw.step',
    bindings: [grad, param, m, v],
    params: AdamParams.pack({
      n,
      beta1: h.beta1,
      beta2: h.beta2,
      eps: h.eps,
      decay: 1 - h.lr * h.weightDecay,
      stepSize: h.lr / bc1,
      invSqrtBc2: 1 / Math.sqrt(bc2),
      gradScale: h.gradScale,
    }),
    workgroups: grid2d(Math.ceil(n / 256), rt.device.limits.maxComputeWorkgroupsPerDimension),
    label: `adamwStep ${n}`,
  });
}

/**
 * out[0] = Σ over every listed buffer of Σ_{i<n} g[i]² (overwrite), deterministic: per-block partial
 * sums in a fixed order, then one fixed-order reduction. Submits the work to free its workspace.
 */
export function gradNormSquared(
  rt: Runtime,
  grads: { tensor: Tensor; n: number }[],
  out: Tensor,
): void {
  const blocks = grads.map((g) => Math.ceil(g.n / NORM_BLOCK));
  const count = blocks.reduce((a, b) => a + b, 0);
  const partials = rt.tensor([Math.max(count, 1)], 'f32', 'workspace', 'gradnorm partials');
  const maxDim = rt.device.limits.maxComputeWorkgroupsPerDimension;
  let base = 0;
  grads.forEach((g, i) => {
    const b = blocks[i]!;
    if (b === 0) return;
    rt.dispatch({
      shader: 'gradnorm.partial',
      bindings: [g.tensor, partials],
      params: PartialParams.pack({ n: g.n, base }),
      workgroups: grid2d(b, maxDim),
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
