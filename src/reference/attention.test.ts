import { describe, expect, it } from 'vitest';
import {
  attentionBackward,
  attentionForward,
  visible,
  type AttentionPattern,
  type AttentionShape,
} from './attention.ts';
import { expectClose } from '../test/numeric.ts';
import { Rng } from '../util/rng.ts';

/** The mask of head h as rows of '1'/'.' (row = query i, column = key j). */
function mask(pattern: AttentionPattern, h: number, H: number, N: number, G: number): string[] {
  const rows: string[] = [];
  for (let i = 0; i < N; i++) {
    let r = '';
    for (let j = 0; j < N; j++) r += visible(pattern, i, j, h, H, N, G) ? '1' : '.';
    rows.push(r);
  }
  return rows;
}

describe('visible(pattern, i, j, h, H, N, G)', () => {
  const N = 8;
  const G = 4;
  const H = 2;
  const causal = [
    '1.......',
    '11......',
    '111.....',
    '1111....',
    '11111...',
    '111111..',
    '1111111.',
    '11111111',
  ];
  const grouped = [
    '1.......',
    '11......',
    '111.....',
    '1111....',
    '....1...',
    '....11..',
    '....111.',
    '....1111',
  ];
  // s2 shifted head: segments [0,2), [2,6), [6,8).
  const shifted = [
    '1.......',
    '11......',
    '..1.....',
    '..11....',
    '..111...',
    '..1111..',
    '......1.',
    '......11',
  ];
  // s2roll shifted head: r(i) = (i − 2) mod 8 = [6,7,0,1,2,3,4,5]; rolled groups {2,3,4,5} and
  // {6,7,0,1} in that order, so token 0 sees 6, 7 and itself, and 1 sees 6, 7, 0, 1.
  const rolled = [
    '1.....11',
    '11....11',
    '..1.....',
    '..11....',
    '..111...',
    '..1111..',
    '......1.',
    '......11',
  ];

  it('full is causal in every head', () => {
    expect(mask('full', 0, H, N, G)).toEqual(causal);
    expect(mask('full', 1, H, N, G)).toEqual(causal);
  });
  it('s2: heads [0, H/2) causal in groups of G, heads [H/2, H) in segments shifted by G/2', () => {
    expect(mask('s2', 0, H, N, G)).toEqual(grouped);
    expect(mask('s2', 1, H, N, G)).toEqual(shifted);
  });
  it('s2roll: shifted heads causal in rolled order, the first tokens see the tail', () => {
    expect(mask('s2roll', 0, H, N, G)).toEqual(grouped);
    expect(mask('s2roll', 1, H, N, G)).toEqual(rolled);
  });
  it('with H = 4 heads 0, 1 are unshifted and 2, 3 shifted', () => {
    expect(mask('s2', 1, 4, N, G)).toEqual(grouped);
    expect(mask('s2', 2, 4, N, G)).toEqual(shifted);
    expect(mask('s2roll', 3, 4, N, G)).toEqual(rolled);
  });
  it('s2 at G = N/4 keeps about a quarter of the causal pairs', () => {
    const n = 64;
    let full = 0;
    let s2 = 0;
    for (let h = 0; h < 2; h++) {
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < n; j++) {
          if (visible('full', i, j, h, 2, n, n / 4)) full++;
          if (visible('s2', i, j, h, 2, n, n / 4)) s2++;
        }
      }
    }
    expect(s2 / full).toBeGreaterThan(0.22);
    expect(s2 / full).toBeLessThan(0.3);
  });
});

function scalarLoss(o: ArrayLike<number>, w: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < o.length; i++) s += o[i]! * w[i]!;
  return s;
}

describe('reference attention', () => {
  it('forward full matches a direct softmax and lse is the log of the row sum', () => {
    const cfg: AttentionShape = { Tq: 3, Tk: 3, H: 1, KV: 1, hd: 2, pattern: 'full' };
    const q = [1, 0, 0, 1, 1, 1];
    const k = [1, 0, 0, 1, 1, 1];
    const v = [1, 2, 3, 4, 5, 6];
    const { o, lse } = attentionForward(q, k, v, cfg);
    const s = 1 / Math.sqrt(2);
    // Row 0 sees only key 0.
    expectClose('o0', [o[0]!, o[1]!], [1, 2], 1e-12, 0);
    expect(lse[0]).toBeCloseTo(s, 12);
    // Row 2: scores (1, 1, 2)·s.
    const e = [Math.exp(s), Math.exp(s), Math.exp(2 * s)];
    const z = e[0]! + e[1]! + e[2]!;
    const want = [(e[0]! * 1 + e[1]! * 3 + e[2]! * 5) / z, (e[0]! * 2 + e[1]! * 4 + e[2]! * 6) / z];
    expectClose('o2', [o[4]!, o[5]!], want, 1e-12, 0);
    expect(lse[2]).toBeCloseTo(Math.log(z), 12);
  });

  it('forward with qOffset equals the last rows of the full forward', () => {
    const rng = new Rng(5);
    const [T, H, KV, hd, off] = [9, 2, 1, 3, 6];
    const q = rng.floats(T * H * hd);
    const k = rng.floats(T * KV * hd);
    const v = rng.floats(T * KV * hd);
    const all = attentionForward(q, k, v, { Tq: T, Tk: T, H, KV, hd, pattern: 'full' });
    const tail = attentionForward(q.subarray(off * H * hd), k, v, {
      Tq: T - off,
      Tk: T,
      H,
      KV,
      hd,
      pattern: 'full',
      qOffset: off,
    });
    expectClose('o', tail.o, all.o.subarray(off * H * hd), 1e-14, 0);
  });

  it('s2 and s2roll need an explicit group size (the model layer picks it)', () => {
    const x = [0, 0, 0, 0, 0, 0, 0, 0];
    for (const pattern of ['s2', 's2roll'] as const) {
      const cfg: AttentionShape = { Tq: 4, Tk: 4, H: 2, KV: 1, hd: 1, pattern };
      expect(() => attentionForward(x, x, x, cfg)).toThrow(`pattern ${pattern} needs a group size`);
      expect(() => attentionBackward(x, x, x, x, cfg)).toThrow(/needs a group size/);
    }
  });

  const cases: AttentionShape[] = [
    { Tq: 8, Tk: 8, H: 2, KV: 1, hd: 3, pattern: 'full' },
    { Tq: 8, Tk: 8, H: 4, KV: 2, hd: 3, pattern: 's2', group: 4 },
    { Tq: 8, Tk: 8, H: 2, KV: 2, hd: 2, pattern: 's2roll', group: 4 },
    { Tq: 3, Tk: 7, H: 2, KV: 1, hd: 2, pattern: 'full', qOffset: 4 },
  ];
  for (const cfg of cases) {
    it(`backward matches central finite differences (${cfg.pattern}, H=${cfg.H}, KV=${cfg.KV}, Tq=${cfg.Tq})`, () => {
      const rng = new Rng(cfg.H * 31 + cfg.Tq);
      const q = Float64Array.from(rng.floats(cfg.Tq * cfg.H * cfg.hd));
      const k = Float64Array.from(rng.floats(cfg.Tk * cfg.KV * cfg.hd));
      const v = Float64Array.from(rng.floats(cfg.Tk * cfg.KV * cfg.hd));
      const w = Float64Array.from(rng.floats(cfg.Tq * cfg.H * cfg.hd));
      const grads = attentionBackward(q, k, v, w, cfg);
      const eps = 1e-6;
      const inputs: [string, Float64Array, Float64Array][] = [
        ['dq', q, grads.dq],
        ['dk', k, grads.dk],
        ['dv', v, grads.dv],
      ];
      for (const [name, x, g] of inputs) {
        const fd = new Float64Array(x.length);
        for (let e = 0; e < x.length; e++) {
          const keep = x[e]!;
          x[e] = keep + eps;
          const up = scalarLoss(attentionForward(q, k, v, cfg).o, w);
          x[e] = keep - eps;
          const down = scalarLoss(attentionForward(q, k, v, cfg).o, w);
          x[e] = keep;
          fd[e] = (up - down) / (2 * eps);
        }
        expectClose(name, g, fd, 1e-8, 1e-6);
      }
    });
  }
});
