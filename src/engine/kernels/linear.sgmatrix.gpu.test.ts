import { describe, expect, it } from 'vitest';
import { checkF16Linear } from '../../test/linear-f16-check.ts';
import { supports } from '../../test/linear-check.ts';
import { testRuntime } from '../../test/gpu.ts';
import { subgroupMatrixTile } from './subgroup-matrix.ts';

/**
 * [T, in, out] for the subgroup-matrix body: 16×32 blocks of C, K in steps of 16 — partial blocks,
 * K not a multiple of 16 (40), several K steps (72) and a block of exactly 16 rows.
 */
const SHAPES: [number, number, number][] = [
  [5, 40, 24],
  [19, 72, 40],
  [16, 32, 64],
];

describe('linear, sgmatrix kernel (subgroup matrices), against the float64 reference', () => {
  // Each pipeline takes SwiftShader ~1.5 s to compile: the forward takes both operand types and
  // both W dtypes, the input gradient (the same body, W read transposed) f16 operands from bf16.
  const CASES = {
    forward: [
      ['bf16', false, false],
      ['bf16', true, true],
      ['f16', true, false],
    ],
    backwardInput: [
      ['bf16', false, true],
      ['bf16', true, true],
    ],
  } as const;
  for (const op of ['forward', 'backwardInput'] as const) {
    const cases = CASES[op];
    it(`${op}: the emulated build (8×8×8; ${cases.map(([d, a, h]) => `${d} W, ${h ? 'f16' : 'f32'} operands, ${a ? '+=' : '='}`).join('; ')})`, async () => {
      const rt = await testRuntime();
      let ran = 0;
      for (const shape of SHAPES) {
        for (const [dtype, accumulate, emulateF16] of cases) {
          expect(supports(rt, 'sgmatrix_emu', op, dtype, shape)).toBe(true);
          const r = await checkF16Linear(rt, op, 'sgmatrix_emu', dtype, shape, {
            accumulate,
            emulateF16,
            alpha: 0.5,
          });
          expect(r.worst).toBeLessThanOrEqual(1);
          ran++;
        }
      }
      expect(ran).toBe(SHAPES.length * cases.length);
      expect(rt.liveTensors).toBe(0);
    });
  }

  it('f16 operands: rows of 1e-7 and 300× keep f16’s relative error (rows scaled into range)', async () => {
    const rt = await testRuntime();
    const r = await checkF16Linear(rt, 'backwardInput', 'sgmatrix_emu', 'bf16', [16, 48, 40], {
      emulateF16: true,
      rowScales: [1e-7, 300, 1, 0],
    });
    expect(r.worst).toBeLessThanOrEqual(1);
  });

  it('the subgroup-matrix build itself where the adapter has the feature (none here: never offered)', async () => {
    const rt = await testRuntime();
    if (!subgroupMatrixTile(rt.info)) {
      for (const shape of SHAPES)
        expect(supports(rt, 'sgmatrix', 'forward', 'bf16', shape)).toBe(false);
      return;
    }
    for (const op of ['forward', 'backwardInput'] as const)
      for (const shape of SHAPES) {
        const r = await checkF16Linear(rt, op, 'sgmatrix', 'bf16', shape, { accumulate: true });
        expect(r.worst).toBeLessThanOrEqual(1);
      }
  });
});
