/**
 * LoRA launchers (PEFT shapes: A [r, in], B [out, r], scaling = alpha / r). The forward adds the
 * low-rank path after the base matmul; the backward accumulates dA and dB (so gradients sum over
 * micro-steps, and over token blocks) with a deterministic reduction over tokens and adds the input
 * gradient into dx. The per-token operands (x, xa, y, dy, dx, workspace) may be row views
 * (Tensor.rows), so a layer can run in token blocks.
 */
import type { Binding, Runtime, Tensor } from '../runtime.ts';
import { uniformLayout } from '../uniforms.ts';
import { linearBackwardInput, linearForward, type MatmulVariant } from './matmul.ts';
import { chooseVariant, LORA, type WeightGradVariant } from './registry.ts';

const GradParams = uniformLayout(
  { T: 'u32', M: 'u32', N: 'u32', alpha: 'f32' },
  { shaders: Object.values(LORA.variants).map((v) => v.files.weightgrad) },
);

/** Options of the LoRA launchers: a forced matmul variant (tests, benchmark); default: autotuned. */
export interface LoraOptions {
  variant?: MatmulVariant;
}

export type { WeightGradVariant } from './registry.ts';

/** The weight-gradient variant for this adapter (the registry's lora rule). */
export function weightGradVariant(rt: Runtime): WeightGradVariant {
  return chooseVariant(LORA, rt.info, {});
}

/** C[M, N] += alpha · P[T, M]ᵀ · Q[T, N], summed over tokens in a fixed order. */
export function weightGradAccumulate(
  rt: Runtime,
  P: Binding,
  Q: Binding,
  C: Tensor,
  T: number,
  M: number,
  N: number,
  alpha: number,
  variant?: WeightGradVariant,
): void {
  const { files, tile } = LORA.variants[chooseVariant(LORA, rt.info, {}, variant)];
  rt.dispatch({
    shader: files.weightgrad,
    bindings: [P, Q, C],
    params: GradParams.pack({ T, M, N, alpha }),
    workgroups: [Math.ceil(N / tile[0]), Math.ceil(M / tile[1])],
    label: `lora.weightgrad ${M}x${N} over ${T}`,
  });
}

/** xa[T, r] = x·Aᵀ (saved for backward); y[T, out] += scaling · xa·Bᵀ (y already holds x·Wᵀ). */
export function loraForward(
  rt: Runtime,
  x: Binding,
  A: Tensor,
  B: Tensor,
  xa: Binding,
  y: Binding,
  T: number,
  inF: number,
  outF: number,
  r: number,
  scaling: number,
  opts: LoraOptions = {},
): void {
  const variant = opts.variant; // undefined: the tuned or default choice per shape
  linearForward(rt, x, A, xa, T, inF, r, { variant });
  linearForward(rt, xa, B, y, T, r, outF, { variant, accumulate: true, alpha: scaling });
}

/**
 * dB += scaling·dyᵀ·xa; g = scaling·dy·B (into workspace [T, r]); dA += gᵀ·x; dx += g·A.
 * dA and dB accumulate across calls; dx accumulates onto the base layer's input gradient.
 */
export function loraBackward(
  rt: Runtime,
  x: Binding,
  A: Tensor,
  B: Tensor,
  xa: Binding,
  dy: Binding,
  dA: Tensor,
  dB: Tensor,
  dx: Binding,
  workspace: Binding,
  T: number,
  inF: number,
  outF: number,
  r: number,
  scaling: number,
  opts: LoraOptions = {},
): void {
  const variant = opts.variant; // undefined: the tuned or default choice per shape
  weightGradAccumulate(rt, dy, xa, dB, T, outF, r, scaling);
  linearBackwardInput(rt, dy, B, workspace, T, r, outF, { variant, alpha: scaling });
  weightGradAccumulate(rt, workspace, x, dA, T, r, inF, 1);
  linearBackwardInput(rt, workspace, A, dx, T, inF, r, { variant, accumulate: true });
}
