/**
 * The subgroup-matrix attention forward's configuration on an adapter (Dawn/Chrome's
 * `chromium-experimental-subgroup-matrix`): which of the adapter's `subgroupMatrixConfigs` the
 * kernel (attention_sgmatrix.wgsl) uses and the WGSL constants it is built with
 * (`attention_sgmatrix_config`, written by attention.ts). Plain data, tested on listed
 * configurations; the real kernel has never been compiled where it was written (no adapter there
 * offered the feature; SwiftShader does not).
 */
import type { SubgroupMatrixConfig } from '../device.ts';
import type { KernelAdapter } from './registry.ts';

/** Rows ((query, head) pairs) per workgroup and keys per staged tile: each a multiple of M, N, K. */
export const SGM_ATTENTION_BLOCK = 16;
/** The largest head size: staged Q, K or V and the output block each [16, 64] (4 KiB in f32). */
export const SGM_ATTENTION_MAX_HEAD_DIM = 64;

/** The attention kernel's configuration on one adapter. */
export interface AttentionSgmatrixTile {
  config: SubgroupMatrixConfig;
  /** Invocations per workgroup: the adapter's largest subgroup (a subgroup-matrix requirement). */
  lanes: number;
}

/**
 * The configuration the attention kernel uses here, or null where it cannot run: subgroups and
 * subgroup matrices, and a configuration with f32 operands and f32 results whose M, N and K divide
 * 16 (the row block and the key tile), the adapter's order first. f16 operands are left out: the
 * softmax's logits would carry f16's rounding of q and k, a tolerance not worked out here.
 */
export function attentionSgmatrixTile(a: KernelAdapter): AttentionSgmatrixTile | null {
  const f = a.features;
  if (!f.subgroupMatrix || !f.subgroups) return null;
  const lanes = f.subgroupMaxSize;
  if (!Number.isInteger(lanes) || lanes < 1 || lanes > 256) return null;
  const divides = (d: number) => Number.isInteger(d) && d > 0 && SGM_ATTENTION_BLOCK % d === 0;
  const config = f.subgroupMatrixConfigs.find(
    (c) =>
      c.componentType === 'f32' &&
      c.resultComponentType === 'f32' &&
      [c.M, c.N, c.K].every(divides),
  );
  return config ? { config, lanes } : null;
}

/** The sizes attention.forward_sgmatrix.wgsl is built with (its `attention_sgmatrix_config`). */
export function attentionSgmatrixConfigWgsl(tile: AttentionSgmatrixTile): string {
  const { M, N, K } = tile.config;
  return [
    `// The subgroup-matrix configuration of this adapter (written by the launcher, attention.ts).`,
    `const SM_M: u32 = ${M}u;`,
    `const SM_N: u32 = ${N}u;`,
    `const SM_K: u32 = ${K}u;`,
    `alias SmT = f32;`,
    '',
  ].join('\n');
}
