/** Shared checks for the linear-layer GPU tests (one test file per kernel variant). */
import {
  linearBackwardInput,
  linearForward,
  variantSupported,
  type LinearOp,
  type LinearOptions,
  type MatmulVariant,
  type WeightDType,
} from '../engine/kernels/matmul.ts';
import {
  linearBackwardInput as refBackward,
  linearForward as refForward,
} from '../reference/matmul.ts';
import { decodeHalves, encodeHalves } from '../util/half.ts';
import type { Runtime } from '../engine/runtime.ts';
import { expectClose } from './numeric.ts';
import { Rng } from '../util/rng.ts';

/**
 * [T, in, out]: odd sizes for every edge path, one aligned single row (generation), aligned ones so the vec4 kernels run with partial
 * tiles (70 rows, 72 columns; K = 40 is not a multiple of 16), 44 (aligned for f32 W, not for
 * 16-bit W), skinny T for the subgroup kernel, and whole lane blocks (16 rows, 20 columns) for the
 * direct kernels' clamp-free FULL path.
 */
export const SHAPES: [number, number, number][] = [
  [1, 1, 1],
  [1, 16, 8],
  [17, 9, 33],
  [37, 129, 5],
  [70, 48, 72],
  [5, 40, 24],
  [3, 64, 20],
  [6, 44, 12],
  [16, 48, 20],
];
export const DTYPES: WeightDType[] = ['f32', 'bf16', 'f16'];

/**
 * Extra [T, in, out] for quad8, which needs K % 16 == 0: forward K = in, the input gradient K = out.
 * Row counts that leave a partial 8-row block, a forward N (37) that ends inside a lane's 4 columns,
 * and NN widths of 40 (a lane in the high half of an 8-column block of halves) and 72 (a partial
 * 64-column workgroup).
 */
export const QUAD_SHAPES: [number, number, number][] = [
  [19, 32, 37],
  [9, 40, 48],
  [24, 72, 32],
  [3, 16, 64],
];

/** Uploads W in its storage dtype; returns the tensor and the values the GPU actually sees. */
export function uploadWeight(
  rt: Runtime,
  values: Float32Array,
  dtype: WeightDType,
  shape: number[],
) {
  if (dtype === 'f32') return { t: rt.tensor(shape, 'f32', 'weights', 'W', values), seen: values };
  const h = encodeHalves(values, dtype);
  return { t: rt.tensor(shape, dtype, 'weights', 'W', h), seen: decodeHalves(h, dtype) };
}

/** Whether `variant` runs `op` at [T, in, out] on this adapter. */
export function supports(
  rt: Runtime,
  variant: MatmulVariant,
  op: LinearOp,
  dtype: WeightDType,
  [T, inF, outF]: [number, number, number],
): boolean {
  return op === 'forward'
    ? variantSupported(rt, variant, op, dtype, T, outF, inF)
    : variantSupported(rt, variant, op, dtype, T, inF, outF);
}

/** Runs one launch (overwrite or accumulate onto random C) and compares with the reference. */
export async function checkLinear(
  rt: Runtime,
  op: LinearOp,
  variant: MatmulVariant,
  dtype: WeightDType,
  [T, inF, outF]: [number, number, number],
  accumulate: boolean,
  extra: LinearOptions = {},
): Promise<void> {
  const rng = new Rng(T * 7919 + inF * 31 + outF + dtype.length);
  const [inLen, outLen] = op === 'forward' ? [inF, outF] : [outF, inF];
  const a = rng.floats(T * inLen);
  const w = uploadWeight(rt, rng.floats(outF * inF), dtype, [outF, inF]);
  const c0 = rng.floats(T * outLen);
  const ta = rt.tensor([T, inLen], 'f32', 'activations', 'A', a);
  const tc = rt.tensor([T, outLen], 'f32', 'activations', 'C', c0);
  const run = op === 'forward' ? linearForward : linearBackwardInput;
  run(rt, ta, w.t, tc, T, inF, outF, { ...extra, variant, accumulate });
  const got = await rt.read(tc);
  const ref =
    op === 'forward' ? refForward(a, w.seen, T, inF, outF) : refBackward(a, w.seen, T, inF, outF);
  if (accumulate) for (let i = 0; i < ref.length; i++) ref[i]! += c0[i]!;
  const atol = op === 'forward' ? 1e-5 : 1e-4;
  const name = `${op} ${variant} ${dtype} T=${T} in=${inF} out=${outF}${accumulate ? ' +=' : ''}`;
  expectClose(name, got, ref, atol, 1e-3);
  ta.destroy();
  w.t.destroy();
  tc.destroy();
}

/** Checks every supported (dtype, shape) of one variant and op; returns how many ran. */
export async function checkVariant(
  rt: Runtime,
  op: LinearOp,
  variant: MatmulVariant,
  shapes: [number, number, number][] = SHAPES,
  extra: LinearOptions = {},
): Promise<number> {
  let ran = 0;
  for (const dtype of DTYPES) {
    for (const shape of shapes) {
      if (!supports(rt, variant, op, dtype, shape)) continue;
      await checkLinear(rt, op, variant, dtype, shape, false, extra);
      await checkLinear(rt, op, variant, dtype, shape, true, extra);
      ran++;
    }
  }
  return ran;
}
