import { describe, expect, it } from 'vitest';
import {
  MATMUL,
  variantNames,
  variantRuns,
  type KernelAdapter,
  type MatmulShape,
  type MatmulVariant,
  type MatmulVariantSpec,
} from './registry.ts';
import { HALF_RUN, linearCheckTolerance } from './matmul.ts';
import { subgroupMatrixConfigWgsl, subgroupMatrixTile } from './subgroup-matrix.ts';
import type { SubgroupMatrixConfig } from '../device.ts';
import { dawnFlags } from '../node-host.ts';
import { linearHalf, roundF16, type F16Rounding } from '../../reference/matmul-half.ts';
import { decodeHalves, encodeHalves } from '../../util/half.ts';
import { SettingsError } from '../../util/errors.ts';
import { Rng } from '../../util/rng.ts';

const cfg = (componentType: string, resultComponentType: string, M: number, N = M, K = M) =>
  ({ componentType, resultComponentType, M, N, K }) satisfies SubgroupMatrixConfig;

/** A GPU's summary with these features (subgroups of up to 32 lanes). */
function adapter(
  f: { shaderF16?: boolean; subgroupMatrix?: boolean; subgroups?: boolean; maxSize?: number },
  configs: SubgroupMatrixConfig[] = [],
): KernelAdapter {
  return {
    isSoftware: false,
    features: {
      shaderF16: f.shaderF16 ?? false,
      subgroups: f.subgroups ?? true,
      timestampQuery: false,
      subgroupSize: 0,
      subgroupMaxSize: f.maxSize ?? 32,
      subgroupMatrix: f.subgroupMatrix ?? false,
      subgroupMatrixConfigs: configs,
    },
  };
}

const APPLE = [cfg('f32', 'f32', 8), cfg('f16', 'f16', 8)];
const NVIDIA = [cfg('f16', 'f16', 16), cfg('f16', 'f32', 16), cfg('u8', 'u32', 16, 16, 32)];

/** A variant as the launchers see it (every method with its full signature). */
const spec = (v: MatmulVariant): MatmulVariantSpec => MATMUL.variants[v];

const shape = (dtype: MatmulShape['dtype'], M = 64, N = 64, K = 64): MatmulShape => ({
  op: 'forward',
  dtype,
  M,
  N,
  K,
});

describe('the subgroup-matrix tile an adapter gets', () => {
  it('takes an f32-result configuration: f16 operands with shader-f16, else f32', () => {
    expect(
      subgroupMatrixTile(adapter({ subgroupMatrix: true, shaderF16: true }, NVIDIA)),
    ).toMatchObject({
      config: cfg('f16', 'f32', 16),
      f16: true,
      lanes: 32,
      block: [64, 32],
      bk: 32,
    });
    // Apple7+: f32 8×8×8 (the f16 one accumulates in f16, which the kernel does not take).
    expect(
      subgroupMatrixTile(adapter({ subgroupMatrix: true, shaderF16: true }, APPLE)),
    ).toMatchObject({
      config: cfg('f32', 'f32', 8),
      f16: false,
      block: [32, 16],
      bk: 16,
      workgroupBytes: 16 * 16 * 4 + 16 * 32 * 4 + 16 * 32 * 4 + (32 + 16) * 4,
    });
    // Without shader-f16 an NVIDIA-like list offers nothing the kernel takes.
    expect(subgroupMatrixTile(adapter({ subgroupMatrix: true }, NVIDIA))).toBeNull();
  });

  it('is null without the feature, without subgroups, or with no configuration that fits', () => {
    expect(subgroupMatrixTile(adapter({ shaderF16: true }, NVIDIA))).toBeNull();
    expect(
      subgroupMatrixTile(adapter({ subgroupMatrix: true, subgroups: false }, APPLE)),
    ).toBeNull();
    expect(subgroupMatrixTile(adapter({ subgroupMatrix: true }, []))).toBeNull();
    // 32×32×32 f32: staged A, B and C need 80 KiB, more than WebGPU’s default 16 KiB.
    expect(
      subgroupMatrixTile(adapter({ subgroupMatrix: true }, [cfg('f32', 'f32', 32)])),
    ).toBeNull();
    expect(
      subgroupMatrixTile(adapter({ subgroupMatrix: true }, [cfg('i32', 'i32', 8)])),
    ).toBeNull();
  });

  it('builds the kernel with the configuration’s sizes, enabling f16 only for f16 operands', () => {
    const f32 = subgroupMatrixConfigWgsl(
      subgroupMatrixTile(adapter({ subgroupMatrix: true }, APPLE))!,
    );
    expect(f32).toContain('const SM_M: u32 = 8u;');
    expect(f32).toContain('alias SmT = f32;');
    expect(f32).not.toContain('enable f16;');
    const f16 = subgroupMatrixConfigWgsl(
      subgroupMatrixTile(adapter({ subgroupMatrix: true, shaderF16: true }, NVIDIA))!,
    );
    expect(f16.startsWith('enable f16;\n')).toBe(true);
    expect(f16).toContain('const SM_K: u32 = 16u;');
    expect(f16).toContain('const SM_F16: bool = true;');
  });
});

describe('the registry offers the hardware paths only where the adapter has them', () => {
  const none = adapter({});
  const f16 = adapter({ shaderF16: true });
  const matrices = adapter({ subgroupMatrix: true, shaderF16: true }, NVIDIA);
  const software: KernelAdapter = { ...none, isSoftware: true };

  it('half needs shader-f16 and a 16-bit W; sgmatrix the feature and a configuration', () => {
    const { half, sgmatrix } = MATMUL.variants;
    expect(variantRuns(half, none, shape('bf16'))).toBe(false);
    expect(variantRuns(half, f16, shape('bf16'))).toBe(true);
    expect(variantRuns(half, f16, shape('f16'))).toBe(true);
    expect(variantRuns(half, f16, shape('f32'))).toBe(false); // LoRA's f32 products stay f32
    expect(variantRuns(half, f16, shape('bf16', 64, 64, 66))).toBe(false); // unaligned K
    expect(variantRuns(sgmatrix, f16, shape('bf16'))).toBe(false);
    expect(variantRuns(sgmatrix, adapter({ subgroupMatrix: true }, NVIDIA), shape('bf16'))).toBe(
      false,
    );
    expect(variantRuns(sgmatrix, matrices, shape('bf16'))).toBe(true);
    expect(spec('sgmatrix').launch(matrices, shape('bf16'), {})).toEqual({
      constants: { WDT: 1, B_NN: 0, RS_LANES: 32 },
      tile: [64, 32],
    });
  });

  it('no default rule picks them, tuning times only the real kernels, and each says its arithmetic', () => {
    for (const a of [none, f16, matrices, software])
      for (const M of [1, 4, 64, 300])
        expect(['half', 'half_emu', 'sgmatrix', 'sgmatrix_emu']).not.toContain(
          MATMUL.pick(a, shape('bf16', M)),
        );
    const timed = variantNames(MATMUL).filter((v) => MATMUL.variants[v].timed(64));
    expect(timed).toContain('half');
    expect(timed).toContain('sgmatrix');
    expect(timed).not.toContain('half_emu');
    expect(timed).not.toContain('sgmatrix_emu');
    expect(spec('half_emu').emulates).toBe('half');
    expect(spec('sgmatrix_emu').emulates).toBe('sgmatrix');
    expect(spec('half').arithmetic(f16, {})).toBe('f16');
    expect(spec('sgmatrix').arithmetic(matrices, {})).toBe('f16');
    expect(spec('sgmatrix').arithmetic(adapter({ subgroupMatrix: true }, APPLE), {})).toBe('f32');
    expect(spec('sgmatrix_emu').arithmetic(none, { emulateF16: true })).toBe('f16');
    expect(spec('regblock').arithmetic(none, {})).toBe('f32');
  });
});

describe('the f16 kernel’s arithmetic against float64', () => {
  /** Largest |Δ| / tolerance of the f16 model over random [8, 32] products of length K. */
  function worst(K: number, mode: F16Rounding, drop = false): number {
    const [M, N] = [8, 32];
    const rng = new Rng(K * 3 + 1);
    const a = rng.floats(M * K);
    const w = decodeHalves(encodeHalves(rng.floats(N * K), 'bf16'), 'bf16');
    const c = linearHalf(a, w, M, N, K, 'nt', HALF_RUN, 1, mode);
    let r = 0;
    for (let m = 0; m < M; m++)
      for (let n = 0; n < N; n++) {
        let sum = 0;
        let sumSq = 0;
        // `drop`: a kernel that skips one staged tile of K (16 products) — it must fail the check.
        for (let k = drop ? 16 : 0; k < K; k++) sum += a[m * K + k]! * w[n * K + k]!;
        for (let k = 0; k < K; k++) sumSq += (a[m * K + k]! * w[n * K + k]!) ** 2;
        r = Math.max(r, Math.abs(c[m * N + n]! - sum) / linearCheckTolerance('f16', K, sumSq));
      }
    return r;
  }

  it('rounds to f16 both ways WGSL allows', () => {
    expect(roundF16(1 + 2 ** -11)).toBe(1); // a tie: to even
    expect(roundF16(1 + 3 * 2 ** -11)).toBe(1 + 2 ** -9);
    expect(roundF16(1 + 3 * 2 ** -11, 'zero')).toBe(1 + 2 ** -10);
    expect(roundF16(-(1 + 3 * 2 ** -11), 'zero')).toBe(-(1 + 2 ** -10));
    expect(roundF16(3e-8)).toBe(2 ** -24); // subnormal
    expect(roundF16(3e-8, 'zero')).toBe(0);
  });

  it('stays within tuning’s f16 tolerance rounding to nearest or toward zero, and a wrong kernel does not', () => {
    for (const K of [48, 256, 1024]) {
      expect(worst(K, 'nearest'), `K ${K} nearest`).toBeLessThan(0.25);
      expect(worst(K, 'zero'), `K ${K} toward zero`).toBeLessThan(0.6);
      expect(worst(K, 'nearest', true), `K ${K} one tile dropped`).toBeGreaterThan(1);
    }
  });
});

describe('Dawn toggles (LONGLORA_DAWN_TOGGLES)', () => {
  it('none unless asked for; a list becomes one enable-dawn-features flag', () => {
    expect(dawnFlags(undefined)).toEqual([]);
    expect(dawnFlags(' ')).toEqual([]);
    expect(dawnFlags('allow_unsafe_apis, vulkan_enable_f16_on_nvidia')).toEqual([
      'enable-dawn-features=allow_unsafe_apis,vulkan_enable_f16_on_nvidia',
    ]);
  });

  it('refuses what is not a toggle name', () => {
    expect(() => dawnFlags('allow_unsafe_apis;rm')).toThrow(SettingsError);
    expect(() => dawnFlags('disable-dawn-features=x')).toThrow(/not a Dawn toggle name/);
  });
});
