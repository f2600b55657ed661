/** Launchers for RMSNorm forward and backward (dx, and dw through a deterministic two-stage sum). */
import type { Binding, Runtime, Tensor } from '../runtime.ts';
import { uniformLayout } from '../uniforms.ts';
import { grid2d } from './elementwise.ts';
import { InternalError } from '../../util/errors.ts';
import { chooseVariant, RMSNORM, type RmsnormVariant } from './registry.ts';

const FwdParams = uniformLayout(
  { T: 'u32', D: 'u32', eps: 'f32' },
  {
    shaders: Object.values(RMSNORM.variants).flatMap((v) => [v.files.forward, v.files.add_forward]),
  },
);
const BwdParams = uniformLayout(
  { T: 'u32', D: 'u32', accumulate: 'u32' },
  { shaders: Object.values(RMSNORM.variants).map((v) => v.files.backward) },
);
const DwParams = uniformLayout(
  { T: 'u32', D: 'u32', R: 'u32' },
  { shaders: ['rmsnorm.backward_dw'] },
);
const DwReduceParams = uniformLayout(
  { D: 'u32', C: 'u32' },
  { shaders: ['rmsnorm.backward_dw_reduce'] },
);

/** Rows per partial sum of the weight gradient (stage 1 of 2). */
export const RMSNORM_DW_ROWS = 32;

/** Workspace floats rmsnormBackward needs for the dw partial sums: ceil(T / 32) · D. */
export function rmsnormBackwardWorkspaceSize(T: number, D: number): number {
  return Math.ceil(T / RMSNORM_DW_ROWS) * D;
}

export type { RmsnormVariant } from './registry.ts';

/** The variant for this adapter (the registry's rmsnorm rule). */
export function rmsnormVariant(rt: Runtime): RmsnormVariant {
  return chooseVariant(RMSNORM, rt.info, {});
}

/** The variant's files and its grid over T rows (rows per workgroup: its tile). */
function launchOf(rt: Runtime, T: number, variant?: RmsnormVariant) {
  const { files, tile } = RMSNORM.variants[chooseVariant(RMSNORM, rt.info, {}, variant)];
  const grid = grid2d(Math.ceil(T / tile[1]), rt.device.limits.maxComputeWorkgroupsPerDimension);
  return { files, grid };
}

/** y = x · rstd · w per row, rstd = 1 / sqrt(mean(x²) + eps) saved for backward. */
export function rmsnormForward(
  rt: Runtime,
  x: Binding,
  w: Tensor,
  y: Binding,
  rstd: Binding,
  T: number,
  D: number,
  eps: number,
  variant?: RmsnormVariant,
): void {
  const { files, grid } = launchOf(rt, T, variant);
  rt.dispatch({
    shader: files.forward,
    bindings: [x, w, y, rstd],
    params: FwdParams.pack({ T, D, eps }),
    workgroups: grid,
    label: `rmsnormForward ${T}x${D}`,
  });
}

/**
 * The residual add and the norm after it in one launch: h += res, then y = h · rstd · w per row
 * (rstd saved for backward) — the same values as addInto(h, res) followed by rmsnormForward(h).
 * h and res are different buffers.
 */
export function rmsnormAddForward(
  rt: Runtime,
  h: Binding,
  res: Binding,
  w: Tensor,
  y: Binding,
  rstd: Binding,
  T: number,
  D: number,
  eps: number,
  variant?: RmsnormVariant,
): void {
  const { files, grid } = launchOf(rt, T, variant);
  rt.dispatch({
    shader: files.add_forward,
    bindings: [h, res, w, y, rstd],
    params: FwdParams.pack({ T, D, eps }),
    workgroups: grid,
    label: `rmsnormAddForward ${T}x${D}`,
  });
}

/**
 * dx = (or += with accumulateDx) the input gradient; dw += Σ_t dy · x · rstd, summed in a fixed
 * order. Without `opts.workspace` (≥ rmsnormBackwardWorkspaceSize floats) a temporary one is
 * allocated, and the recorded work is submitted so it can be freed.
 */
export function rmsnormBackward(
  rt: Runtime,
  x: Binding,
  w: Tensor,
  rstd: Binding,
  dy: Binding,
  dx: Binding,
  dw: Tensor,
  T: number,
  D: number,
  opts?: { accumulateDx?: boolean; workspace?: Tensor; variant?: RmsnormVariant },
): void {
  const { files, grid } = launchOf(rt, T, opts?.variant);
  rt.dispatch({
    shader: files.backward,
    bindings: [x, w, rstd, dy, dx],
    params: BwdParams.pack({ T, D, accumulate: opts?.accumulateDx ? 1 : 0 }),
    workgroups: grid,
    label: `rmsnormBackward dx ${T}x${D}`,
  });
  const C = Math.ceil(T / RMSNORM_DW_ROWS);
  if (C === 0) return;
  const need = C * D;
  const given = opts?.workspace;
  if (given && given.size < need) {
    throw new InternalError(
      `rmsnormBackward: workspace ${given.label} has ${given.size} < ${need} floats`,
    );
  }
  const ws = given ?? rt.tensor([C, D], 'f32', 'workspace', 'rmsnorm dw partials');
  rt.dispatch({
    shader: 'rmsnorm.backward_dw',
    bindings: [x, rstd, dy, ws],
    params: DwParams.pack({ T, D, R: RMSNORM_DW_ROWS }),
    workgroups: [Math.ceil(D / 64), C],
    label: `rmsnormBackward dw partials ${T}x${D}`,
  });
  rt.dispatch({
    shader: 'rmsnorm.backward_dw_reduce',
    bindings: [ws, dw],
    params: DwReduceParams.pack({ D, C }),
    workgroups: [Math.ceil(D / 64)],
    label: `rmsnormBackward dw reduce ${D}`,
  });
  if (!given) {
    rt.flush();
    ws.destroy();
  }
}

/**
 * Per-head RMSNorm (Qwen3's q_norm / k_norm, before RoPE): x [T, H·hd] is T·H rows of hd, each
 * normalised with the one weight w [hd] shared by every head, rstd [T, H] saved. A row-major
 * [T, H·hd] buffer is exactly [T·H, hd], so this runs the RMSNorm shaders over T·H rows of hd.
 */
export function headRmsnormForward(
  rt: Runtime,
  x: Binding,
  w: Tensor,
  y: Binding,
  rstd: Binding,
  T: number,
  H: number,
  hd: number,
  eps: number,
  variant?: RmsnormVariant,
): void {
  rmsnormForward(rt, x, w, y, rstd, T * H, hd, eps, variant);
}

/** Workspace floats headRmsnormBackward needs: ceil(T·H / 32) · hd. */
export function headRmsnormBackwardWorkspaceSize(T: number, H: number, hd: number): number {
  return rmsnormBackwardWorkspaceSize(T * H, hd);
}

/**
 * Backward of headRmsnormForward: dx (= or += with accumulateDx) [T, H·hd]; dw [hd] += the sum over
 * every token and head of dy · x · rstd, in a fixed order. dx must not alias dy.
 */
export function headRmsnormBackward(
  rt: Runtime,
  x: Binding,
  w: Tensor,
  rstd: Binding,
  dy: Binding,
  dx: Binding,
  dw: Tensor,
  T: number,
  H: number,
  hd: number,
  opts?: { accumulateDx?: boolean; workspace?: Tensor; variant?: RmsnormVariant },
): void {
  rmsnormBackward(rt, x, w, rstd, dy, dx, dw, T * H, hd, opts);
}
