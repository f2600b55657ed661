/** Shared seeded cases, checks and tests for the attention kernel tests (forward and backward files). */
import { expect, it } from 'vitest';
import {
  attentionBackward,
  attentionForward,
  type AttentionConfig,
  type AttentionVariant,
} from '../engine/kernels/attention.ts';
import type { Runtime } from '../engine/runtime.ts';
import {
  attentionBackward as refBackward,
  attentionForward as refForward,
} from '../reference/attention.ts';
import { Rng } from '../util/rng.ts';
import { testRuntime } from './gpu.ts';
import { expectClose } from './numeric.ts';

/** A named attention config. Tiles are the default 64 rows (one pipeline per kernel to compile). */
export interface AttentionCase {
  name: string;
  cfg: AttentionConfig;
}

/** Patterns × GQA/MHA × head sizes 8–128 × N not a multiple of the tiles, plus decode. */
export const attentionCases: AttentionCase[] = [
  { name: 'full, GQA, hd 4, N 33', cfg: { Tq: 33, Tk: 33, H: 4, KV: 2, hd: 4, pattern: 'full' } },
  { name: 'full, MHA, hd 8, N 24', cfg: { Tq: 24, Tk: 24, H: 2, KV: 2, hd: 8, pattern: 'full' } },
  {
    name: 'full, GQA, hd 16, N 72, key tiles of 8',
    cfg: { Tq: 72, Tk: 72, H: 4, KV: 2, hd: 16, pattern: 'full', tileCols: 8 },
  },
  {
    name: 's2, GQA, hd 24, N 24, G 12, key tiles of 5',
    cfg: { Tq: 24, Tk: 24, H: 4, KV: 2, hd: 24, pattern: 's2', group: 12, tileCols: 5 },
  },
  {
    name: 's2, MHA, hd 16, N 40, G 20',
    cfg: { Tq: 40, Tk: 40, H: 2, KV: 2, hd: 16, pattern: 's2', group: 20 },
  },
  {
    name: 's2, GQA, hd 64, N 128, G 32 (N/4)',
    cfg: { Tq: 128, Tk: 128, H: 2, KV: 1, hd: 64, pattern: 's2', group: 128 / 4 },
  },
  {
    name: 's2, hd 16, N 96, G 24 (groups straddle tiles), key tiles of 7',
    cfg: { Tq: 96, Tk: 96, H: 4, KV: 1, hd: 16, pattern: 's2', group: 24, tileCols: 7 },
  },
  {
    name: 's2roll, GQA, hd 24, N 40, G 20',
    cfg: { Tq: 40, Tk: 40, H: 4, KV: 1, hd: 24, pattern: 's2roll', group: 20 },
  },
  {
    name: 's2roll, MHA, hd 8, N 96, G 24, key tiles of 5',
    cfg: { Tq: 96, Tk: 96, H: 2, KV: 2, hd: 8, pattern: 's2roll', group: 24, tileCols: 5 },
  },
  {
    name: 's2roll, hd 16, N 128, G 16 (many groups)',
    cfg: { Tq: 128, Tk: 128, H: 2, KV: 1, hd: 16, pattern: 's2roll', group: 16, tileCols: 16 },
  },
  { name: 'full, hd 128, N 20', cfg: { Tq: 20, Tk: 20, H: 2, KV: 1, hd: 128, pattern: 'full' } },
  {
    name: 'decode: full, qOffset 32, 5 queries over 37 keys, GQA',
    cfg: { Tq: 5, Tk: 37, H: 4, KV: 2, hd: 16, pattern: 'full', qOffset: 32, tileCols: 6 },
  },
  {
    name: 'decode: one query at qOffset 70 over 71 keys',
    cfg: { Tq: 1, Tk: 71, H: 2, KV: 1, hd: 8, pattern: 'full', qOffset: 70 },
  },
];

/** Seeded q, k, v and upstream gradient g for a config. */
export function attentionInputs(cfg: AttentionConfig, seed: number) {
  const rng = new Rng(seed);
  return {
    q: rng.floats(cfg.Tq * cfg.H * cfg.hd, -2, 2),
    k: rng.floats(cfg.Tk * cfg.KV * cfg.hd, -2, 2),
    v: rng.floats(cfg.Tk * cfg.KV * cfg.hd),
    g: rng.floats(cfg.Tq * cfg.H * cfg.hd),
  };
}

type Inputs = ReturnType<typeof attentionInputs>;

/**
 * The kernels' forward, then their backward on the reference forward's o and lse (`ref`, computed
 * here when not given), with garbage in every output to show it is overwritten; all tensors freed.
 */
export async function runAttention(
  rt: Runtime,
  cfg: AttentionConfig,
  x: Inputs,
  ref = refForward(x.q, x.k, x.v, cfg),
) {
  const { Tq, Tk, H, KV, hd } = cfg;
  const t = (shape: number[], label: string, data: Float32Array) =>
    rt.tensor(shape, 'f32', 'activations', label, data);
  const fill = (n: number, value: number) => new Float32Array(n).fill(value);
  const q = t([Tq, H, hd], 'q', x.q);
  const k = t([Tk, KV, hd], 'k', x.k);
  const v = t([Tk, KV, hd], 'v', x.v);
  const g = t([Tq, H, hd], 'dO', x.g);
  const o = t([Tq, H, hd], 'o', fill(Tq * H * hd, 7));
  const lse = t([H, Tq], 'lse', fill(H * Tq, 7));
  const refO = t([Tq, H, hd], 'o ref', Float32Array.from(ref.o));
  const refLse = t([H, Tq], 'lse ref', Float32Array.from(ref.lse));
  const dq = t([Tq, H, hd], 'dq', fill(Tq * H * hd, 7));
  const dk = t([Tk, KV, hd], 'dk', fill(Tk * KV * hd, 7));
  const dv = t([Tk, KV, hd], 'dv', fill(Tk * KV * hd, 7));
  attentionForward(rt, q, k, v, o, lse, cfg);
  attentionBackward(rt, q, k, v, refO, refLse, g, dq, dk, dv, cfg);
  const got = {
    o: await rt.read(o),
    lse: await rt.read(lse),
    dq: await rt.read(dq),
    dk: await rt.read(dk),
    dv: await rt.read(dv),
  };
  for (const tt of [q, k, v, g, o, lse, refO, refLse, dq, dk, dv]) tt.destroy();
  return got;
}

/**
 * Runs `cfg` (its variant forced) on seeded inputs and checks o and lse (1e-5 + 1e-3·|ref|) and
 * dq, dk, dv (`tol` + 1e-3·|ref|) against the float64 reference; returns what the kernels gave.
 */
export async function checkAttention(rt: Runtime, cfg: AttentionConfig, seed: number, tol = 1e-4) {
  const x = attentionInputs(cfg, seed);
  const fwd = refForward(x.q, x.k, x.v, cfg);
  const got = await runAttention(rt, cfg, x, fwd);
  const bwd = refBackward(x.q, x.k, x.v, x.g, cfg);
  const at = cfg.variant ? ` (${cfg.variant})` : '';
  expectClose(`o${at}`, got.o, fwd.o, 1e-5, 1e-3);
  expectClose(`lse${at}`, got.lse, fwd.lse, 1e-5, 1e-3);
  expectClose(`dq${at}`, got.dq, bwd.dq, tol, 1e-3);
  expectClose(`dk${at}`, got.dk, bwd.dk, tol, 1e-3);
  expectClose(`dv${at}`, got.dv, bwd.dv, tol, 1e-3);
  return got;
}

/** A file's check: `checkAttention` with its variant (and that variant's options) forced. */
export type VariantCheck = (rt: Runtime, cfg: AttentionConfig, seed: number) => Promise<unknown>;

/** The config the determinism tests run twice (4 query heads share a kv head, s2roll, G 20). */
export const deterministicCase: AttentionConfig = {
  Tq: 80,
  Tk: 80,
  H: 4,
  KV: 1,
  hd: 16,
  pattern: 's2roll',
  group: 20,
};

/** More than 8 query heads per kv head, which the fa2 kernels run in chunks (12 over 1, 10 over 2). */
export async function checkHeadChunks(rt: Runtime, check: VariantCheck) {
  await check(rt, { Tq: 40, Tk: 40, H: 12, KV: 1, hd: 16, pattern: 's2', group: 20 }, 12);
  await check(rt, { Tq: 40, Tk: 40, H: 10, KV: 2, hd: 8, pattern: 's2roll', group: 8 }, 10);
}

/** Every pattern with every tile masked (skipTiles false). */
export async function checkEveryTileMasked(rt: Runtime, check: VariantCheck) {
  for (const pattern of ['full', 's2', 's2roll'] as const) {
    const cfg: AttentionConfig = { Tq: 72, Tk: 72, H: 4, KV: 2, hd: 8, pattern, group: 24 };
    await check(rt, { ...cfg, skipTiles: false }, 9);
  }
}

/**
 * The fa2 family's first tests: the shared cases it takes (head_dim % 4 == 0), then N = 1,024 with
 * 9 query heads over 3 kv heads for s2 and full causal.
 */
export function fa2CaseTests(check: VariantCheck) {
  attentionCases.forEach(({ name, cfg }, n) => {
    if (cfg.hd % 4 !== 0) return;
    it(name, async () => {
      const rt = await testRuntime();
      await check(rt, cfg, 100 + n);
      expect(rt.liveTensors).toBe(0);
    });
  });

  for (const pattern of ['s2', 'full'] as const) {
    // hd 8 keeps the float64 reference and SwiftShader within seconds (hd 64 and 128 run above;
    // the tiles are the same for every head_dim up to 64).
    it(`N 1024, 9 query heads over 3 kv heads, hd 8, ${pattern}${pattern === 's2' ? ' G 256' : ''}`, async () => {
      const rt = await testRuntime();
      const cfg: AttentionConfig = { Tq: 1024, Tk: 1024, H: 9, KV: 3, hd: 8, pattern, group: 256 };
      await check(rt, cfg, 1024);
    });
  }
}

/**
 * The fa2 family's last tests: query and key blocks of 64, an s2roll block with corners in the
 * wrapped group, and two runs of `variant` giving identical bits.
 */
export function fa2BlockTests(check: VariantCheck, variant: AttentionVariant) {
  it('in query and key blocks of 64 (merged forward, accumulated backward)', async () => {
    const rt = await testRuntime();
    for (const pattern of ['full', 's2roll'] as const) {
      const cfg: AttentionConfig = {
        Tq: 256,
        Tk: 256,
        H: 6,
        KV: 2,
        hd: 16,
        pattern,
        group: 64,
        queryBlock: 64,
        keyBlock: 128,
      };
      await check(rt, cfg, 31);
    }
    expect(rt.memory.snapshot().current.workspace).toBe(0);
  });

  it('s2roll with a block whose corners lie in the wrapped group (N 40, G 20: not wholly visible)', async () => {
    const rt = await testRuntime();
    for (const [H, KV] of [
      [2, 2],
      [2, 1],
    ] as const) {
      await check(rt, { Tq: 40, Tk: 40, H, KV, hd: 8, pattern: 's2roll', group: 20 }, 40 + H + KV);
    }
  });

  it('is deterministic: two runs give identical bits', async () => {
    const rt = await testRuntime();
    const cfg: AttentionConfig = { ...deterministicCase, variant };
    const x = attentionInputs(cfg, 11);
    const a = await runAttention(rt, cfg, x);
    const b = await runAttention(rt, cfg, x);
    for (const key of ['o', 'lse', 'dq', 'dk', 'dv'] as const) {
      expect(new Uint32Array(a[key].buffer)).toEqual(new Uint32Array(b[key].buffer));
    }
  });
}
