/**
 * Matmul benchmark: GFLOP/s of every linear-forward kernel variant (f32 and packed bf16 weights)
 * at LoRA-training shapes, beside tfjs-backend-webgpu's matMul on the same adapter.
 */
import {
  compileFailure,
  linearForward,
  matmulFlops,
  variantSupported,
  type MatmulVariant,
} from '../src/engine/kernels/matmul.ts';
import { encodeHalves } from '../src/util/half.ts';
import type { Runtime } from '../src/engine/runtime.ts';
import { Rng } from '../src/util/rng.ts';
import { gflops, timeRuntime } from './timing.ts';
import type { BenchSections, Log, MatmulRow } from './types.ts';

/**
 * [m, n, k] = [tokens, out features, in features], scaled so SwiftShader runs each in seconds:
 * square blocks, a narrow projection over many tokens, a wide-K projection (MLP down-projection
 * shape), and one generated token (m = 1) where the subgroup kernel is meant to win.
 */
export const SHAPES: [number, number, number][] = [
  [256, 256, 256],
  [512, 512, 512],
  [1024, 64, 512],
  [256, 512, 2048],
  [1, 1024, 1024],
];

/**
 * On a GPU: the products of a TinyLlama-1.1B step at 8k tokens (q/o, k/v under GQA 8, the MLP's
 * up and down projections, one 2k-token slice of the 32k-vocabulary output layer), a square 4096³
 * block, and one generated token.
 */
export const GPU_SHAPES: [number, number, number][] = [
  [4096, 4096, 4096],
  [8192, 2048, 2048],
  [8192, 256, 2048],
  [8192, 5632, 2048],
  [8192, 2048, 5632],
  [2048, 32000, 2048],
  [1, 4096, 4096],
];

/**
 * tfjs-backend-webgpu's time at a shape, in a browser page only: Node has no tfjs WebGPU backend
 * (its column is then empty).
 */
async function baselineMs(m: number, n: number, k: number): Promise<number | null> {
  if (typeof window === 'undefined') return null;
  const { tfjsMatmulMs } = await import('./tfjs.ts');
  return tfjsMatmulMs(m, n, k);
}
/**
 * The hardware paths (issue 28 item 3: f16 arithmetic, subgroup matrices): rows only where the
 * adapter offers the feature and the pipeline compiles (16-bit W only); none on SwiftShader.
 */
const HARDWARE: MatmulVariant[] = ['half', 'sgmatrix'];
const VARIANTS: MatmulVariant[] = [
  'naive',
  'tiled',
  'regblock',
  'direct',
  'direct8',
  'subgroup',
  ...HARDWARE,
];
const DTYPES = ['f32', 'bf16'] as const;

/** Runs the matmul section. */
export async function run(rt: Runtime, log: Log): Promise<BenchSections> {
  const rows: MatmulRow[] = [];
  const failed = await compileAll(rt, log);
  for (const [m, n, k] of rt.info.isSoftware ? SHAPES : GPU_SHAPES) {
    const rng = new Rng(m + n + k);
    const tfjs_ms = await baselineMs(m, n, k);
    log(`matmul ${m}×${n}×${k}: tfjs ${tfjs_ms === null ? '—' : `${tfjs_ms.toFixed(1)} ms`}`);
    const x = rt.tensor([m, k], 'f32', 'activations', 'bench x', rng.floats(m * k));
    const wValues = rng.floats(n * k);
    for (const dtype of DTYPES) {
      const data = dtype === 'f32' ? wValues : encodeHalves(wValues, dtype);
      const w = rt.tensor([n, k], dtype, 'weights', `bench W ${dtype}`, data);
      const y = rt.tensor([m, n], 'f32', 'activations', 'bench y');
      for (const variant of VARIANTS) {
        if (!variantSupported(rt, variant, 'forward', dtype, m, n, k) || failed.has(variant))
          continue;
        // The subgroup kernel is a many-column, few-row kernel; at large m it only wastes time.
        if (variant === 'subgroup' && m > 4) continue;
        const ms = await timeRuntime(rt, () => linearForward(rt, x, w, y, m, k, n, { variant }));
        const row: MatmulRow = {
          m,
          n,
          k,
          variant: `${variant}:${dtype}`,
          ms: round(ms),
          gflops: round(gflops(matmulFlops(m, n, k), ms), 3),
          tfjs_ms: tfjs_ms === null ? null : round(tfjs_ms),
        };
        rows.push(row);
        log(
          `  ${row.variant.padEnd(14)} ${row.ms.toFixed(1).padStart(9)} ms ${row.gflops} GFLOP/s`,
        );
      }
      w.destroy();
      y.destroy();
    }
    x.destroy();
  }
  return { matmul: rows };
}

/**
 * Compiles every pipeline the section uses (tiny launches), so warm-ups time kernels, not compilers;
 * returns the hardware paths whose pipeline did not compile here (said in the log, left out).
 */
async function compileAll(rt: Runtime, log: Log): Promise<Set<MatmulVariant>> {
  const failed = new Set<MatmulVariant>();
  for (const variant of HARDWARE) {
    const shape = { op: 'forward', dtype: 'bf16', M: 8, N: 8, K: 8 } as const;
    if (!variantSupported(rt, variant, 'forward', 'bf16', 8, 8, 8)) continue;
    const why = await compileFailure(rt, variant, shape);
    if (why === null) continue;
    failed.add(variant);
    log(`matmul ${variant}: left out, its pipeline does not compile here: ${why}`);
  }
  for (const m of [1, 8]) {
    const x = rt.tensor([m, 8], 'f32', 'activations', 'compile x');
    const y = rt.tensor([m, 8], 'f32', 'activations', 'compile y');
    for (const dtype of DTYPES) {
      const w = rt.tensor([8, 8], dtype, 'weights', 'compile W');
      for (const variant of VARIANTS) {
        if (!variantSupported(rt, variant, 'forward', dtype, m, 8, 8) || failed.has(variant))
          continue;
        linearForward(rt, x, w, y, m, 8, 8, { variant });
      }
      await rt.sync();
      w.destroy();
    }
    x.destroy();
    y.destroy();
  }
  return failed;
}

function round(x: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
