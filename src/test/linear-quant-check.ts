/**
 * Shared checks for the quantized linear kernels' GPU tests (one test file per quantized type):
 * random ggml blocks, uploaded repacked, against the float64 reference on the exactly dequantized
 * weights (io/quant.ts), within the linear tests' tolerance (linear-check.ts), for every variant of
 * the type, overwriting and accumulating, scaled by alpha, and through column windows of wider A
 * and C (the output layer's pieces of the vocabulary).
 */
import { describe, expect, it } from 'vitest';
import {
  linearBackwardInputQuant,
  linearForwardQuant,
  QUANT_MATMUL_VARIANTS,
  uploadQuantWeight,
  type QuantLinearOptions,
  type QuantMatmulVariant,
  type QuantWeightType,
} from '../engine/kernels/matmul-quant.ts';
import { MATMUL_QUANT } from '../engine/kernels/registry.ts';
import type { LinearOp } from '../engine/kernels/matmul.ts';
import type { Runtime } from '../engine/runtime.ts';
import { dequantize } from '../io/quant.ts';
import {
  linearBackwardInput as refBackward,
  linearForward as refForward,
} from '../reference/matmul.ts';
import { Rng } from '../util/rng.ts';
import { testRuntime } from './gpu.ts';
import { expectClose } from './numeric.ts';

export { randomQuantBlocks } from '../engine/kernels/quant-layout.ts';
import { randomQuantBlocks } from '../engine/kernels/quant-layout.ts';

/**
 * [T, in, out] (in, the quantized dimension, whole blocks): a single row and block, K of 2–3
 * blocks with rows and columns not multiples of the 32×32 (or 64-row) tile nor of a lane's 4, more
 * rows than one tile (70), and real widths (SmolLM2's 576, 1024, 2048; 256·k for the K types).
 */
const SHAPES_32: [number, number, number][] = [
  [1, 32, 1],
  [5, 64, 9],
  [37, 96, 33],
  [70, 64, 40],
  [3, 576, 20],
  [6, 1024, 7],
  [9, 2048, 3],
];
const SHAPES_256: [number, number, number][] = [
  [1, 256, 1],
  [5, 512, 9],
  [37, 768, 33],
  [70, 256, 40],
  [3, 1024, 20],
  [9, 2048, 3],
];

/** The shapes each type is checked at. */
export function quantShapes(type: QuantWeightType): [number, number, number][] {
  return type.endsWith('_K') ? SHAPES_256 : SHAPES_32;
}

/** A column window of A and C: strides past the rows and offsets into them (in f32 elements). */
export interface QuantWindow {
  aPad: number;
  aCol: number;
  cPad: number;
  cCol: number;
}

/** What one checked launch varies. */
export interface QuantCase {
  /** Undefined: the launcher's choice (tuned or default). */
  variant?: QuantMatmulVariant;
  accumulate: boolean;
  alpha?: number;
  window?: QuantWindow;
}

/**
 * Runs one quantized launch (onto random C) and compares it with the float64 reference on the
 * dequantized weights; C's elements outside the written window must be untouched. Returns the
 * largest |Δ|.
 */
export async function checkQuantLinear(
  rt: Runtime,
  op: LinearOp,
  type: QuantWeightType,
  [T, inF, outF]: [number, number, number],
  c: QuantCase,
): Promise<number> {
  const win = c.window ?? { aPad: 0, aCol: 0, cPad: 0, cCol: 0 };
  const rng = new Rng(T * 7919 + inF * 31 + outF + type.length + (c.accumulate ? 1 : 0));
  const [inLen, outLen] = op === 'forward' ? [inF, outF] : [outF, inF];
  const aStride = inLen + win.aPad;
  const cStride = outLen + win.cPad;
  const aFull = rng.floats(T * aStride);
  const a = new Float32Array(T * inLen);
  for (let t = 0; t < T; t++)
    a.set(aFull.subarray(t * aStride + win.aCol, t * aStride + win.aCol + inLen), t * inLen);
  const blocks = randomQuantBlocks(type, outF, inF, rng);
  const { values: seen, badBlock } = dequantize(type, blocks);
  if (badBlock >= 0) throw new Error(`random ${type} block ${badBlock} is not finite`);
  const w = uploadQuantWeight(rt, type, outF, inF, blocks, 'weights', `W ${type}`);
  const c0 = rng.floats(T * cStride);
  const ta = rt.tensor([T, aStride], 'f32', 'activations', 'A', aFull);
  const tc = rt.tensor([T, cStride], 'f32', 'activations', 'C', c0);
  const run = op === 'forward' ? linearForwardQuant : linearBackwardInputQuant;
  const opts: QuantLinearOptions = { accumulate: c.accumulate };
  if (c.variant) opts.variant = c.variant;
  if (c.alpha !== undefined) opts.alpha = c.alpha;
  if (c.window) Object.assign(opts, { aStride, aCol: win.aCol, cStride, cCol: win.cCol });
  run(rt, ta, w, tc, T, inF, outF, opts);
  const gotFull = await rt.read(tc);
  const ref =
    op === 'forward' ? refForward(a, seen, T, inF, outF) : refBackward(a, seen, T, inF, outF);
  const alpha = c.alpha ?? 1;
  const got = new Float32Array(T * outLen);
  const outside: number[] = [];
  for (let t = 0; t < T; t++) {
    for (let j = 0; j < cStride; j++) {
      const i = t * cStride + j;
      const n = j - win.cCol;
      if (n < 0 || n >= outLen) {
        if (gotFull[i] !== c0[i]) outside.push(i);
        continue;
      }
      got[t * outLen + n] = gotFull[i]!;
      ref[t * outLen + n] = alpha * ref[t * outLen + n]! + (c.accumulate ? c0[i]! : 0);
    }
  }
  const name = `${op} ${c.variant ?? 'chosen'} T=${T} in=${inF} out=${outF}${c.accumulate ? ' +=' : ''}${
    c.alpha !== undefined ? ` alpha ${alpha}` : ''
  }${c.window ? ` window ${JSON.stringify(win)}` : ''}`;
  ta.destroy();
  w.tensor.destroy();
  tc.destroy();
  if (outside.length) throw new Error(`${name}: C[${outside[0]}] outside the window was written`);
  const atol = op === 'forward' ? 1e-5 : 1e-4;
  expectClose(name, got, ref, atol, 1e-3);
  let worst = 0;
  for (let i = 0; i < ref.length; i++) worst = Math.max(worst, Math.abs(got[i]! - ref[i]!));
  return worst;
}

/** The variants of one type (all of them, not only those tuning times at a shape). */
export function quantVariantsOf(type: QuantWeightType): QuantMatmulVariant[] {
  return QUANT_MATMUL_VARIANTS.filter((v) => MATMUL_QUANT.variants[v].quant === type);
}

/**
 * Checks one type and op: every variant at every shape, overwriting and accumulating; then alpha
 * and a column window of A and C (forward: A's window 16-byte aligned, as the forward requires).
 * Returns the largest |Δ|.
 */
export async function checkQuantType(
  rt: Runtime,
  op: LinearOp,
  type: QuantWeightType,
): Promise<number> {
  let worst = 0;
  const note = (x: number) => (worst = Math.max(worst, x));
  for (const variant of quantVariantsOf(type)) {
    if (!MATMUL_QUANT.variants[variant].needs.every((f) => rt.info.features[f])) {
      // The quad kernels on an adapter without subgroups: refused by name.
      const [T, inF, outF] = quantShapes(type)[0]!;
      const w = uploadQuantWeight(
        rt,
        type,
        outF,
        inF,
        randomQuantBlocks(type, outF, inF, new Rng(1)),
        'weights',
        'W',
      );
      const a = rt.tensor([T, inF], 'f32', 'activations', 'A');
      const c = rt.tensor([T, outF], 'f32', 'activations', 'C');
      const run = () => linearForwardQuant(rt, a, w, c, T, inF, outF, { variant });
      if (op === 'forward') expect(run).toThrow(new RegExp(`${variant} cannot run .*subgroups`));
      for (const x of [a, c, w.tensor]) x.destroy();
      continue;
    }
    for (const shape of quantShapes(type)) {
      note(await checkQuantLinear(rt, op, type, shape, { variant, accumulate: false }));
      note(await checkQuantLinear(rt, op, type, shape, { variant, accumulate: true }));
    }
    const window: QuantWindow =
      op === 'forward'
        ? { aPad: 12, aCol: 8, cPad: 7, cCol: 3 }
        : { aPad: 5, aCol: 3, cPad: 6, cCol: 5 };
    const [first, , third] = quantShapes(type);
    note(
      await checkQuantLinear(rt, op, type, third!, { variant, accumulate: false, alpha: -0.75 }),
    );
    note(await checkQuantLinear(rt, op, type, first!, { variant, accumulate: true, window }));
    note(
      await checkQuantLinear(rt, op, type, third!, {
        variant,
        accumulate: true,
        alpha: 0.5,
        window,
      }),
    );
  }
  return worst;
}

/**
 * The GPU test of one type's kernels (linear.<type>.gpu.test.ts): both ops through checkQuantType,
 * and the launchers' refusals of windows the kernels cannot take.
 */
export function quantLinearSuite(type: QuantWeightType): void {
  describe(`linear, ${type} kernels (W in ${type} blocks, dequantized inside), against the float64 reference on the dequantized weights`, () => {
    for (const op of ['forward', 'backwardInput'] as const) {
      it(`${op}: every variant and shape, overwrite, accumulate, alpha, column windows of A and C`, async () => {
        const rt = await testRuntime();
        const worst = await checkQuantType(rt, op, type);
        expect(worst).toBeLessThan(2e-3);
        expect(rt.liveTensors).toBe(0);
      });
    }

    it('refuses a forward window of A that is not 16-byte aligned, and windows past the rows', async () => {
      const rt = await testRuntime();
      const [, inF, outF] = quantShapes(type)[1]!;
      const w = uploadQuantWeight(
        rt,
        type,
        outF,
        inF,
        randomQuantBlocks(type, outF, inF, new Rng(3)),
        'weights',
        'W',
      );
      const a = rt.tensor([2, inF + 8], 'f32', 'activations', 'A');
      const c = rt.tensor([2, inF + 8], 'f32', 'activations', 'C');
      const fwd = (o: QuantLinearOptions) => () => linearForwardQuant(rt, a, w, c, 2, inF, outF, o);
      const bwd = (o: QuantLinearOptions) => () =>
        linearBackwardInputQuant(rt, c, w, a, 2, inF, outF, o);
      expect(fwd({ aStride: inF + 8, aCol: 2 })).toThrow(/multiples of 4/);
      expect(fwd({ aStride: inF + 2 })).toThrow(/multiples of 4/);
      expect(fwd({ aStride: inF + 8, aCol: 12 })).toThrow(/leave their rows/);
      expect(bwd({ cStride: inF + 8, cCol: 9 })).toThrow(/leave their rows/);
      expect(bwd({ aStride: outF + 1, aCol: 1, cStride: inF + 8, cCol: 8 })).not.toThrow();
      await rt.sync();
      a.destroy();
      c.destroy();
      w.tensor.destroy();
      expect(rt.liveTensors).toBe(0);
    });
  });
}
