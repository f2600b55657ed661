/**
 * The adapter's optional features in words, as the studio's GPU panel and the command line's GPU
 * line show them: whether the device has shader-f16 and subgroup matrices (the hardware paths a
 * tuned matmul may take) is always said, yes or no; subgroups and timestamp queries where present.
 */

/** One subgroup-matrix configuration (as AdapterSummary lists them). */
export interface MatrixConfigWords {
  componentType: string;
  resultComponentType: string;
  M: number;
  N: number;
  K: number;
}

/** The feature flags the words are made from (AdapterSummary['features']). */
export interface FeatureFlags {
  shaderF16: boolean;
  subgroups: boolean;
  timestampQuery: boolean;
  subgroupMatrix: boolean;
  subgroupMatrixConfigs: readonly MatrixConfigWords[];
}

/** "f16→f32 16×16×16": operands, result, M×N×K. */
export function matrixConfigWords(c: MatrixConfigWords): string {
  return `${c.componentType}→${c.resultComponentType} ${c.M}×${c.N}×${c.K}`;
}

/** E.g. ["shader-f16", "subgroups", "no subgroup matrices", "timestamp-query"]. */
export function gpuFeatureWords(f: FeatureFlags): string[] {
  const configs = f.subgroupMatrixConfigs.map(matrixConfigWords).join(', ');
  return [
    f.shaderF16 ? 'shader-f16' : 'no shader-f16',
    ...(f.subgroups ? ['subgroups'] : []),
    f.subgroupMatrix
      ? `subgroup matrices (${configs || 'no configurations'})`
      : 'no subgroup matrices',
    ...(f.timestampQuery ? ['timestamp-query'] : []),
  ];
}
