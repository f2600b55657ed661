import { afterEach, describe, expect, it } from 'vitest';
import { clearTuneCache, rememberChoice, setTuneStore } from './autotune.ts';
import {
  defaultVariant,
  linearForward,
  linearTuneKey,
  resolveVariant,
  tuneCandidates,
  tuneLinear,
  variantSupported,
} from './matmul.ts';
import { subgroupMatrixTile } from './subgroup-matrix.ts';
import type { AdapterSummary, SubgroupMatrixConfig } from '../device.ts';
import { Runtime, type ShaderLoader } from '../runtime.ts';
import { freshRuntime, hostName, testRuntime } from '../../test/gpu.ts';
import { Rng } from '../../util/rng.ts';

afterEach(() => {
  clearTuneCache();
  setTuneStore(null);
});

/** This host's shader loader (the one its runtimes use). */
async function hostLoader(): Promise<ShaderLoader> {
  return hostName() === 'node'
    ? (await import('../node-host.ts')).loadShaderFromDisk
    : (await import('../browser-host.ts')).loadBundledShader;
}

/** A forward launch of a bf16 W on this runtime: y[T, out] = x · Wᵀ. */
function launch(rt: Runtime, T: number, inF: number, outF: number, variant?: 'half' | 'sgmatrix') {
  const rng = new Rng(T + inF + outF);
  const x = rt.tensor([T, inF], 'f32', 'activations', 'x', rng.floats(T * inF));
  const w = rt.tensor([outF, inF], 'bf16', 'weights', 'w');
  const y = rt.tensor([T, outF], 'f32', 'activations', 'y');
  try {
    linearForward(rt, x, w, y, T, inF, outF, variant ? { variant } : {});
  } finally {
    for (const t of [x, w, y]) t.destroy();
  }
}

describe('hardware paths: offered only where the adapter has them, left out when they do not compile', () => {
  it('f16 and subgroup-matrix kernels are candidates exactly where the device has the features', async () => {
    const rt = await testRuntime();
    const f = rt.info.features;
    const [T, inF, outF] = [16, 64, 64];
    const hasMatrices = subgroupMatrixTile(rt.info) !== null;
    expect(variantSupported(rt, 'half', 'forward', 'bf16', T, outF, inF)).toBe(f.shaderF16);
    expect(variantSupported(rt, 'sgmatrix', 'forward', 'bf16', T, outF, inF)).toBe(hasMatrices);
    // The emulations are never tuning candidates; the real kernels are, for more than 4 rows.
    expect(tuneCandidates(T)).toEqual(expect.arrayContaining(['half', 'sgmatrix']));
    expect(tuneCandidates(T)).not.toContain('half_emu');
    expect(tuneCandidates(T)).not.toContain('sgmatrix_emu');
    // A cache naming a path this adapter lacks, or an emulation, is not used: the default runs.
    const key = linearTuneKey(rt, 'forward', 'bf16', T, outF, inF);
    const fallback = defaultVariant(rt, 'forward', 'bf16', T, outF, inF);
    for (const v of ['half_emu', 'sgmatrix_emu', ...(f.shaderF16 ? [] : ['half'])]) {
      await rememberChoice(key, v);
      expect(resolveVariant(rt, 'forward', 'bf16', T, outF, inF), v).toBe(fallback);
    }
    if (!f.shaderF16) {
      // Forcing it names what it needs; tuning never times it.
      expect(() => launch(rt, T, inF, outF, 'half')).toThrow(/shader-f16/);
      const r = await tuneLinear(rt, 'forward', 'bf16', T, inF, outF, {
        force: true,
        runs: 1,
        variants: ['half', 'direct', 'tiled'],
      });
      expect(Object.keys(r.timings).sort()).toEqual(['direct', 'tiled']);
      expect(r.choice).not.toBe('half');
    }
    if (!hasMatrices) expect(() => launch(rt, T, inF, outF, 'sgmatrix')).toThrow(/subgroup-matrix/);
    expect(rt.liveTensors).toBe(0);
  });

  it('a candidate whose pipeline does not compile is left out with the compiler’s reason', async () => {
    // A summary that claims what this device was not given: shader-f16 (where it lacks it) and a
    // subgroup-matrix configuration it does not list. Tuning compiles each candidate first, leaves
    // out the ones that fail with why, and times the rest: nothing reaches the device's error path.
    const base = await freshRuntime();
    const device = base.device;
    const listed = base.info.features.subgroupMatrixConfigs;
    const fake: SubgroupMatrixConfig = {
      componentType: 'f32',
      resultComponentType: 'f32',
      M: 8,
      N: 8,
      K: 8,
    };
    const unlisted = listed.some(
      (c) => c.M === 8 && c.N === 8 && c.K === 8 && c.componentType === 'f32',
    )
      ? { ...fake, M: 4, N: 4, K: 4 }
      : fake;
    const info: AdapterSummary = {
      ...base.info,
      features: {
        ...base.info.features,
        shaderF16: true,
        subgroups: true,
        subgroupMaxSize: 32,
        subgroupMatrix: true,
        subgroupMatrixConfigs: [unlisted],
      },
    };
    const liar = new Runtime(
      { adapter: null as unknown as GPUAdapter, device, info },
      await hostLoader(),
    );
    try {
      const r = await tuneLinear(liar, 'forward', 'bf16', 16, 64, 64, {
        force: true,
        runs: 1,
        variants: ['half', 'sgmatrix', 'direct', 'tiled'],
      });
      const excluded = r.excluded ?? {};
      expect(Object.keys(excluded)).toContain('sgmatrix');
      expect(excluded.sgmatrix).toMatch(/matmul\.sgmatrix/);
      if (!device.features.has('shader-f16')) expect(excluded.half).toMatch(/f16/);
      for (const v of Object.keys(excluded)) expect(r.timings[v], v).toBeUndefined();
      expect(['direct', 'tiled', ...(excluded.half ? [] : ['half'])]).toContain(r.choice);
      // The device took no error from the failed pipelines: later work runs and reads back.
      await liar.sync();
      const t = liar.tensor([4], 'f32', 'workspace', 't', new Float32Array([1, 2, 3, 4]));
      expect([...(await liar.read(t))]).toEqual([1, 2, 3, 4]);
      t.destroy();
      expect(liar.liveTensors).toBe(0);
    } finally {
      liar.destroy();
      base.destroy(true);
    }
  });
});
