import { describe, expect, it } from 'vitest';
import { gpuFeatureWords } from './gpu-features.ts';

describe('the adapter’s features in words', () => {
  const none = {
    shaderF16: false,
    subgroups: false,
    timestampQuery: false,
    subgroupMatrix: false,
    subgroupMatrixConfigs: [],
  };

  it('always says whether shader-f16 and subgroup matrices are there', () => {
    expect(gpuFeatureWords(none)).toEqual(['no shader-f16', 'no subgroup matrices']);
    // SwiftShader: subgroups only.
    expect(gpuFeatureWords({ ...none, subgroups: true })).toEqual([
      'no shader-f16',
      'subgroups',
      'no subgroup matrices',
    ]);
  });

  it('lists the subgroup-matrix configurations the adapter offers', () => {
    const configs = [
      { componentType: 'f32', resultComponentType: 'f32', M: 8, N: 8, K: 8 },
      { componentType: 'f16', resultComponentType: 'f16', M: 8, N: 8, K: 8 },
    ];
    expect(
      gpuFeatureWords({
        shaderF16: true,
        subgroups: true,
        timestampQuery: true,
        subgroupMatrix: true,
        subgroupMatrixConfigs: configs,
      }),
    ).toEqual([
      'shader-f16',
      'subgroups',
      'subgroup matrices (f32→f32 8×8×8, f16→f16 8×8×8)',
      'timestamp-query',
    ]);
  });
});
