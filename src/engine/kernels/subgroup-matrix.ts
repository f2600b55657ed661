/**
 * The subgroup-matrix matmul's tile on an adapter (Dawn/Chrome's
 * `chromium-experimental-subgroup-matrix`: Metal simdgroup matrices on Apple7+, Vulkan cooperative
 * matrices): which of the adapter's `subgroupMatrixConfigs` the kernel uses, the block of C one
 * workgroup covers, and the WGSL constants the kernel is built with (`sgmatrix_config`, spliced
 * into matmul.sgmatrix.wgsl). Nothing here runs a GPU: the choice is plain data, tested on listed
 * configurations; the kernel itself could not be compiled where it was written (no adapter there
 * offered the feature).
 */
import type { SubgroupMatrixConfig } from '../device.ts';
import type { KernelAdapter } from './registry.ts';

/** Result tiles one subgroup holds: SGM_ROWS × SGM_COLS accumulators (named, not an array). */
export const SGM_ROWS = 2;
export const SGM_COLS = 4;
/** K steps of the configuration per staged block of K. */
export const SGM_KSTEPS = 2;
/** Workgroup memory the kernel may take (WebGPU's default maxComputeWorkgroupStorageSize). */
const WORKGROUP_BYTES = 16384;

/** The kernel's tile on one adapter. */
export interface SubgroupMatrixTile {
  config: SubgroupMatrixConfig;
  /** The operands are f16 (A's rows scaled into range, as matmul.half); else f32. */
  f16: boolean;
  /** Invocations per workgroup: the adapter's largest subgroup (a subgroup-matrix requirement). */
  lanes: number;
  /** [columns, rows] of C one workgroup covers. */
  block: [number, number];
  /** K staged per step. */
  bk: number;
  /** Workgroup memory in bytes. */
  workgroupBytes: number;
}

function tileOf(a: KernelAdapter, c: SubgroupMatrixConfig): SubgroupMatrixTile | null {
  const f16 = c.componentType === 'f16';
  if (c.resultComponentType !== 'f32') return null; // f16 accumulation over K loses too much
  if (c.componentType !== 'f32' && !(f16 && a.features.shaderF16)) return null;
  const lanes = a.features.subgroupMaxSize;
  const rows = SGM_ROWS * c.M;
  const cols = SGM_COLS * c.N;
  const bk = SGM_KSTEPS * c.K;
  // Staged A and B in the operand type, C's block in f32, and the row scales (matmul_rowscale).
  const e = f16 ? 2 : 4;
  const bytes = rows * bk * e + bk * cols * e + rows * cols * 4 + (lanes + rows) * 4;
  const whole = [c.M, c.N, c.K].every((d) => Number.isInteger(d) && d > 0 && d <= 32);
  if (!whole || lanes < 1 || lanes > 256 || bytes > WORKGROUP_BYTES) return null;
  // Rows per workgroup and lanes must divide one another (matmul_rowscale's passes).
  if (lanes % rows !== 0 && rows % lanes !== 0) return null;
  return { config: c, f16, lanes, block: [cols, rows], bk, workgroupBytes: bytes };
}

/**
 * The tile the kernel uses on this adapter, or null where it cannot run: the device needs subgroup
 * matrices and subgroups, and a configuration with an f32 result and f32 operands, or f16 ones
 * where the device has shader-f16 (preferred: the matrix units' fast path), that fits the kernel's
 * workgroup memory. Among equals, the adapter's order (Vulkan lists its preferred ones first).
 */
export function subgroupMatrixTile(a: KernelAdapter): SubgroupMatrixTile | null {
  const f = a.features;
  if (!f.subgroupMatrix || !f.subgroups) return null;
  const tiles = f.subgroupMatrixConfigs
    .map((c) => tileOf(a, c))
    .filter((t): t is SubgroupMatrixTile => t !== null);
  return tiles.find((t) => t.f16) ?? tiles[0] ?? null;
}

/** The sizes and types matmul.sgmatrix.wgsl is built with for `tile` (its `sgmatrix_config`). */
export function subgroupMatrixConfigWgsl(tile: SubgroupMatrixTile): string {
  const { M, N, K } = tile.config;
  const t = tile.f16 ? 'f16' : 'f32';
  // An f16 configuration needs `enable f16;`, a directive: the include stands among the directives.
  return [
    ...(tile.f16 ? ['enable f16;'] : []),
    `// The subgroup-matrix configuration of this adapter (written by the launcher, matmul.ts).`,
    `const SM_M: u32 = ${M}u;`,
    `const SM_N: u32 = ${N}u;`,
    `const SM_K: u32 = ${K}u;`,
    `const SM_F16: bool = ${tile.f16};`,
    `alias SmT = ${t};`,
    '',
  ].join('\n');
}
