/** The GPU self-test: one matmulNT on a small odd shape, checked against the float64 reference. */
import { matmulNT } from '../engine/kernels/matmul.ts';
import type { Runtime } from '../engine/runtime.ts';
import { matmulNT as refMatmulNT } from '../reference/matmul.ts';
import { Rng } from '../util/rng.ts';
import type { SelfTestResult } from './protocol.ts';

const SHAPE: [number, number, number] = [37, 29, 53];
/** f32 accumulation over K = 53 terms of magnitude ≤ 1 stays far below this. */
const TOLERANCE = 1e-4;

/** Runs the self-test on `rt`; never throws for a wrong result, only for a GPU failure. */
export async function runSelfTest(rt: Runtime): Promise<SelfTestResult> {
  const [M, N, K] = SHAPE;
  const rng = new Rng(20240917);
  const a = rng.floats(M * K);
  const b = rng.floats(N * K);
  const t0 = performance.now();
  const ta = rt.tensor([M, K], 'f32', 'workspace', 'selftest A', a);
  const tb = rt.tensor([N, K], 'f32', 'workspace', 'selftest B', b);
  const tc = rt.tensor([M, N], 'f32', 'workspace', 'selftest C');
  try {
    matmulNT(rt, ta, tb, tc, M, N, K);
    const got = await rt.read(tc);
    const ms = performance.now() - t0;
    const ref = refMatmulNT(a, b, M, N, K);
    let maxError = 0;
    for (let i = 0; i < ref.length; i++) {
      const d = Math.abs(got[i]! - ref[i]!);
      maxError = Number.isNaN(d) ? Infinity : Math.max(maxError, d);
    }
    return { ok: maxError <= TOLERANCE, maxError, ms, shape: SHAPE };
  } finally {
    ta.destroy();
    tb.destroy();
    tc.destroy();
  }
}
