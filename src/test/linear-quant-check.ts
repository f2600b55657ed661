/**
 * Shared checks for the quantized linear kernels' GPU tests (one test file per quantized type):
 * random ggml blocks, uploaded repacked, against the float64 reference on the exactly dequantized
 * weights (io/quant.ts), within the linear tests' tolerance (linear-check.ts).
 */
import {
  linearBackwardInputQuant,
  linearForwardQuant,
  uploadQuantWeight,
  type QuantWeightType,
} from '../engine/kernels/matmul-quant.ts';
import type { LinearOp } from '../engine/kernels/matmul.ts';
import type { Runtime } from '../engine/runtime.ts';
import { dequantize, QUANT_FORMATS } from '../io/quant.ts';
import {
  linearBackwardInput as refBackward,
  linearForward as refForward,
} from '../reference/matmul.ts';
import { f32ToF16 } from '../util/half.ts';
import { Rng } from '../util/rng.ts';
import { expectClose } from './numeric.ts';

/**
 * [T, in, out] per type (in, the quantized dimension, whole blocks): a single row and block, K of
 * 2–3 blocks with rows and columns not multiples of the 32×32 tile (nor of a lane's 4), more rows
 * than one tile (70), and real widths (SmolLM2's 576 for Q8_0; 1024).
 */
export const QUANT_SHAPES: Record<QuantWeightType, [number, number, number][]> = {
  Q8_0: [
    [1, 32, 1],
    [5, 64, 9],
    [37, 96, 33],
    [70, 64, 40],
    [3, 576, 20],
    [6, 1024, 7],
  ],
  Q4_K: [
    [1, 256, 1],
    [5, 512, 9],
    [37, 768, 33],
    [70, 256, 40],
    [3, 1024, 20],
  ],
};

/**
 * Random ggml blocks of a [rows, cols] weight: random quants and packed scales, with f16 scales
 * small enough for weights of about ±1–3 (some negative d), as kQuantModelGguf makes them.
 */
export function randomQuantBlocks(
  type: QuantWeightType,
  rows: number,
  cols: number,
  rng: Rng,
): Uint8Array {
  const f = QUANT_FORMATS[type];
  const data = new Uint8Array(((rows * cols) / f.block) * f.bytes);
  for (let i = 0; i < data.length; i++) data[i] = rng.int(256);
  const put = (at: number, x: number) => {
    const h = f32ToF16(x);
    data[at] = h & 0xff;
    data[at + 1] = h >> 8;
  };
  const sign = () => (rng.next() < 0.2 ? -1 : 1);
  for (let b = 0; b < data.length; b += f.bytes) {
    if (type === 'Q8_0') put(b, sign() * rng.uniform(0.004, 0.012));
    else {
      put(b, sign() * rng.uniform(0.001, 0.003));
      put(b + 2, rng.uniform(0.001, 0.003));
    }
  }
  return data;
}

/**
 * Runs one quantized launch (overwrite or accumulate onto random C) and compares it with the
 * float64 reference on the dequantized weights; returns the largest |Δ|.
 */
export async function checkQuantLinear(
  rt: Runtime,
  op: LinearOp,
  type: QuantWeightType,
  [T, inF, outF]: [number, number, number],
  accumulate: boolean,
): Promise<number> {
  const rng = new Rng(T * 7919 + inF * 31 + outF + type.length + (accumulate ? 1 : 0));
  const [inLen, outLen] = op === 'forward' ? [inF, outF] : [outF, inF];
  const a = rng.floats(T * inLen);
  const blocks = randomQuantBlocks(type, outF, inF, rng);
  const { values: seen, badBlock } = dequantize(type, blocks);
  if (badBlock >= 0) throw new Error(`random ${type} block ${badBlock} is not finite`);
  const w = uploadQuantWeight(rt, type, outF, inF, blocks, 'weights', `W ${type}`);
  const c0 = rng.floats(T * outLen);
  const ta = rt.tensor([T, inLen], 'f32', 'activations', 'A', a);
  const tc = rt.tensor([T, outLen], 'f32', 'activations', 'C', c0);
  const run = op === 'forward' ? linearForwardQuant : linearBackwardInputQuant;
  run(rt, ta, w, tc, T, inF, outF, { accumulate });
  const got = await rt.read(tc);
  const ref =
    op === 'forward' ? refForward(a, seen, T, inF, outF) : refBackward(a, seen, T, inF, outF);
  if (accumulate) for (let i = 0; i < ref.length; i++) ref[i]! += c0[i]!;
  const atol = op === 'forward' ? 1e-5 : 1e-4;
  const name = `${op} ${type} T=${T} in=${inF} out=${outF}${accumulate ? ' +=' : ''}`;
  expectClose(name, got, ref, atol, 1e-3);
  let worst = 0;
  for (let i = 0; i < ref.length; i++) worst = Math.max(worst, Math.abs(got[i]! - ref[i]!));
  ta.destroy();
  w.tensor.destroy();
  tc.destroy();
  return worst;
}

/** Checks every shape of one type and op, overwrite and accumulate; returns the largest |Δ|. */
export async function checkQuantVariant(
  rt: Runtime,
  op: LinearOp,
  type: QuantWeightType,
): Promise<number> {
  let worst = 0;
  for (const shape of QUANT_SHAPES[type]) {
    worst = Math.max(worst, await checkQuantLinear(rt, op, type, shape, false));
    worst = Math.max(worst, await checkQuantLinear(rt, op, type, shape, true));
  }
  return worst;
}
