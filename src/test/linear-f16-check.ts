/**
 * Checks for the matmul variants whose arithmetic is f16 or emulated (half, half_emu, sgmatrix,
 * sgmatrix_emu): one launch against the float64 product at each entry's tolerance (f32 arithmetic:
 * the linear tests' 1e-5 (1e-4 for the input gradient) + 1e-3·|ref|; f16: linearCheckTolerance from
 * the entry's Σ(a·w)²), and, for the f16 kernel's emulation, the largest difference from
 * src/reference/matmul-half.ts (the same roundings in TypeScript).
 */
import {
  HALF_RUN,
  linearBackwardInput,
  linearCheckTolerance,
  linearForward,
  type LinearOp,
  type LinearOptions,
  type MatmulVariant,
  type WeightDType,
} from '../engine/kernels/matmul.ts';
import { MATMUL } from '../engine/kernels/registry.ts';
import type { Runtime } from '../engine/runtime.ts';
import { linearHalf } from '../reference/matmul-half.ts';
import { Rng } from '../util/rng.ts';
import { uploadWeight } from './linear-check.ts';

/** [T, in, out] the 16-bit-weight kernels take (K % 4, W's contiguous dimension % 8), with edges. */
export const F16_SHAPES: [number, number, number][] = [
  [1, 16, 8],
  [5, 40, 24],
  [70, 48, 72],
  [3, 64, 16],
  [17, 136, 40],
  [9, 520, 32],
];

/** What one launch measured: the largest error and the largest error over its tolerance. */
export interface F16Check {
  maxError: number;
  /** max |Δ| / tolerance over the entries (≤ 1 passes). */
  worst: number;
  /** max |Δ| against the TypeScript model of the roundings (half_emu only), else NaN. */
  modelError: number;
}

/**
 * Runs `variant` on seeded random operands (A's rows multiplied by `rowScales[m % length]`) and
 * returns its errors; throws with the entry, both values and the tolerance when one is over.
 */
export async function checkF16Linear(
  rt: Runtime,
  op: LinearOp,
  variant: MatmulVariant,
  dtype: WeightDType,
  [T, inF, outF]: [number, number, number],
  opts: LinearOptions & { rowScales?: number[] } = {},
): Promise<F16Check> {
  const rng = new Rng(T * 7919 + inF * 31 + outF + dtype.length);
  const [K, N] = op === 'forward' ? [inF, outF] : [outF, inF];
  const a = rng.floats(T * K);
  const scales = opts.rowScales ?? [1];
  for (let m = 0; m < T; m++)
    for (let k = 0; k < K; k++) a[m * K + k]! *= scales[m % scales.length]!;
  const w = uploadWeight(rt, rng.floats(outF * inF), dtype, [outF, inF]);
  const c0 = rng.floats(T * N);
  const ta = rt.tensor([T, K], 'f32', 'activations', 'A', a);
  const tc = rt.tensor([T, N], 'f32', 'activations', 'C', c0);
  const run = op === 'forward' ? linearForward : linearBackwardInput;
  run(rt, ta, w.t, tc, T, inF, outF, { ...opts, variant });
  const got = await rt.read(tc);
  const arith = MATMUL.variants[variant].arithmetic(rt.info, opts);
  const model =
    variant === 'half_emu'
      ? linearHalf(a, w.seen, T, N, K, op === 'forward' ? 'nt' : 'nn', HALF_RUN, opts.alpha ?? 1)
      : null;
  const name = `${op} ${variant} ${dtype} T=${T} in=${inF} out=${outF}${opts.accumulate ? ' +=' : ''}`;
  const alpha = opts.alpha ?? 1;
  const out: F16Check = { maxError: 0, worst: 0, modelError: model ? 0 : NaN };
  for (let m = 0; m < T; m++) {
    for (let n = 0; n < N; n++) {
      let sum = 0;
      let sumSq = 0;
      for (let k = 0; k < K; k++) {
        const p = a[m * K + k]! * (op === 'forward' ? w.seen[n * K + k]! : w.seen[k * N + n]!);
        sum += p;
        sumSq += p * p;
      }
      const base = opts.accumulate ? c0[m * N + n]! : 0;
      const i = m * N + n;
      // f32 arithmetic: the linear tests' tolerance; f16: tuning's, on the row's scale (a row
      // scaled by s has s times the errors of unit-scale data).
      const s = scales[m % scales.length]!;
      const want = base + alpha * sum;
      const tol =
        s === 0
          ? 0
          : arith === 'f32'
            ? (op === 'forward' ? 1e-5 : 1e-4) * s + 1e-3 * Math.abs(want)
            : linearCheckTolerance(arith, K, (alpha * alpha * sumSq) / (s * s)) * s;
      const d = Math.abs(got[i]! - want);
      out.maxError = Math.max(out.maxError, d);
      out.worst = Math.max(out.worst, tol > 0 ? d / tol : d > 0 ? Infinity : 0);
      if (!(d <= tol))
        throw new Error(
          `${name}: C[${m}, ${n}] = ${got[i]}, float64 ${want}, |Δ| ${d} over ${tol}`,
        );
      if (model) {
        // The same roundings in TypeScript: equal up to the f32 adds' last bits.
        const dm = Math.abs(got[i]! - (base + model[i]!));
        out.modelError = Math.max(out.modelError, dm);
        if (!(dm <= 2 ** -20 * Math.max(1, Math.abs(want))))
          throw new Error(
            `${name}: C[${m}, ${n}] = ${got[i]}, the f16 model ${base + model[i]!}, |Δ| ${dm}`,
          );
      }
    }
  }
  ta.destroy();
  w.t.destroy();
  tc.destroy();
  return out;
}
