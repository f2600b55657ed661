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

const GradParams = uniformLayout(
  { T: 'u32', M: 'u32', N: 'u32', alpha: 'f32' },
  { shaders: ['lora.weightgrad', 'lora.weightgrad_direct'] },
);

/** Options of the LoRA launchers: a forced matmul variant (tests, benchmark); default: autotuned. */
export interface LoraOptions {
  variant?: MatmulVariant;
}

/**
 * 'tiled': 16×16 workgroup-memory tiles (GPUs); 'direct': 4×4 register blocks per invocation with
 * no workgroup memory (CPU adapters, where emulated barriers dominate). Both sum t in order.
 */
export type WeightGradVariant = 'tiled' | 'direct';

/** The weight-gradient variant for this adapter. */
export function weightGradVariant(rt: Runtime): WeightGradVariant {
  return rt.info.isSoftware ? 'direct' : 'tiled';
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
  variant: WeightGradVariant = weightGradVariant(rt),
): void {
  const direct = variant === 'direct';
  rt.dispatch({
    shader: direct ? 'lora.weightgrad_direct' : 'lora.weightgrad',
    bindings: [P, Q, C],
    params: GradParams.pack({ T, M, N, alpha }),
    workgroups: direct
      ? [Math.ceil(N / 32), Math.ceil(M / 32)]
      : [Math.ceil(N / 16), Math.ceil(M / 16)],
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
