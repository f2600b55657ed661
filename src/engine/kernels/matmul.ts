/** Launcher for the matmul family: C = A · Bᵀ (a linear layer's x · Wᵀ). */
import type { Runtime, Tensor } from '../runtime.ts';
import { uniformLayout } from '../uniforms.ts';

const Params = uniformLayout({ M: 'u32', N: 'u32', K: 'u32' });

/** C[M, N] = A[M, K] · B[N, K]ᵀ, f32, tiled 16×16 with workgroup memory. */
export function matmulNT(
  rt: Runtime,
  a: Tensor,
  b: Tensor,
  c: Tensor,
  M: number,
  N: number,
  K: number,
): void {
  rt.dispatch({
    shader: 'matmul.tiled',
    bindings: [a, b, c],
    params: Params.pack({ M, N, K }),
    workgroups: [Math.ceil(N / 16), Math.ceil(M / 16)],
    label: `matmulNT ${M}x${N}x${K}`,
  });
}
