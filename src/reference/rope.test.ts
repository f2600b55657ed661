import { describe, expect, it } from 'vitest';
import { dot, numericGradient, randoms } from './finite_diff.ts';
import { llama3InvFreq, ropeBackward, ropeForward } from './rope.ts';
import { ropeInvFreq } from '../engine/kernels/rope.ts';
import { expectClose } from '../test/numeric.ts';
import { Rng } from '../util/rng.ts';

describe('reference rope', () => {
  it('backward matches finite differences of the forward (float64)', () => {
    const rng = new Rng(12);
    const [T, nh, hd, pos] = [3, 2, 6, 5];
    const invFreq = ropeInvFreq(hd, 10000, 1);
    const x = randoms(() => rng.next(), T * nh * hd);
    const g = randoms(() => rng.next(), T * nh * hd);
    const loss = () => dot(ropeForward(x, invFreq, T, nh, hd, pos), g);
    expectClose(
      'dx',
      ropeBackward(g, invFreq, T, nh, hd, pos),
      numericGradient(loss, x),
      1e-8,
      1e-6,
    );
  });

  it('rotates pair (i, i + hd/2) by pos · invFreq[i] and leaves position 0 unchanged', () => {
    const invFreq = [1, 0.5];
    const x = [1, 2, 3, 4]; // pairs (1, 3) and (2, 4)
    expectClose('pos 0', ropeForward(x, invFreq, 1, 1, 4, 0), x, 1e-12, 0);
    const [c1, s1, c2, s2] = [Math.cos(3), Math.sin(3), Math.cos(1.5), Math.sin(1.5)];
    const want = [1 * c1 - 3 * s1, 2 * c2 - 4 * s2, 3 * c1 + 1 * s1, 4 * c2 + 2 * s2];
    expectClose('pos 3', ropeForward(x, invFreq, 1, 1, 4, 3), want, 1e-12, 0);
  });
});

describe('ropeInvFreq', () => {
  it('is theta^(−2i/hd) divided by the linear factor', () => {
    const f = ropeInvFreq(8, 10000, 4);
    const want = [0, 1, 2, 3].map((i) => 10000 ** (-(2 * i) / 8) / 4);
    expectClose('invFreq', f, want, 0, 1e-6);
  });

  it('applies HF llama3 scaling: high frequencies kept, low divided, middle smoothed', () => {
    const s = {
      factor: 8,
      low_freq_factor: 1,
      high_freq_factor: 4,
      original_max_position_embeddings: 8192,
    };
    const hd = 128;
    const theta = 500000;
    const base = ropeInvFreq(hd, theta, 1);
    const scaled = ropeInvFreq(hd, theta, 2, s);
    let kept = 0;
    let divided = 0;
    let smoothed = 0;
    for (let i = 0; i < hd / 2; i++) {
      const f = base[i]!;
      const wavelen = (2 * Math.PI) / f;
      let want: number;
      if (wavelen < 8192 / 4) {
        want = f;
        kept++;
      } else if (wavelen > 8192) {
        want = f / 8;
        divided++;
      } else {
        const sm = (8192 / wavelen - 1) / (4 - 1);
        want = ((1 - sm) * f) / 8 + sm * f;
        smoothed++;
      }
      expectClose(`invFreq[${i}]`, [scaled[i]!], [want / 2], 0, 1e-6);
    }
    expect(kept).toBeGreaterThan(0);
    expect(divided).toBeGreaterThan(0);
    expect(smoothed).toBeGreaterThan(0);
  });
});

describe('reference llama3InvFreq (float64, independent of ropeInvFreq)', () => {
  const s = { factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 64 };

  it('keeps fast frequencies, slows slow ones by the factor, and blends linearly in between', () => {
    // hd 8, theta 10000: f = 1, 0.1, 0.01, 0.001 turn 64·f/2π = 10.2, 1.02, 0.10, 0.01 times.
    const f = llama3InvFreq(8, 10000, s);
    expect(f[0]).toBe(1);
    const turns = (64 * 0.1) / (2 * Math.PI);
    const t = (turns - 1) / (4 - 1);
    expectClose('smoothed', [f[1]!], [0.1 * (1 / 8 + t * (7 / 8))], 0, 1e-15);
    expectClose('slowed', [f[2]!, f[3]!], [0.01 / 8, 0.001 / 8], 0, 1e-15);
  });

  it('agrees with the engine (Hugging Face f32) to f32 precision on Llama 3.2 and the tiny case', () => {
    const hf = (x: typeof s) => ({
      factor: x.factor,
      low_freq_factor: x.lowFreqFactor,
      high_freq_factor: x.highFreqFactor,
      original_max_position_embeddings: x.originalMaxPositions,
    });
    const llama32 = { factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 8192 };
    for (const [hd, theta, sc] of [
      [128, 500000, llama32],
      [8, 10000, s],
    ] as const) {
      const ref = llama3InvFreq(hd, theta, sc);
      expectClose('×1', ropeInvFreq(hd, theta, 1, hf(sc)), ref, 0, 2e-6);
      expectClose(
        '×2 on top',
        ropeInvFreq(hd, theta, 2, hf(sc)),
        Array.from(ref, (x) => x / 2),
        0,
        2e-6,
      );
    }
  });
});
