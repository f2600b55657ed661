import { describe, expect, it } from 'vitest';
import {
  attentionForward,
  type AttentionConfig,
  type AttentionVariant,
  directAttentionFits,
} from './attention.ts';
import { attentionCases, attentionInputs } from '../../test/attention-cases.ts';
import { attentionForward as refForward } from '../../reference/attention.ts';
import type { Runtime } from '../runtime.ts';
import { testRuntime } from '../../test/gpu.ts';
import { expectClose } from '../../test/numeric.ts';

async function forward(
  rt: Runtime,
  cfg: AttentionConfig,
  x: { q: Float32Array; k: Float32Array; v: Float32Array },
): Promise<{ o: Float32Array; lse: Float32Array }> {
  const { Tq, Tk, H, KV, hd } = cfg;
  const q = rt.tensor([Tq, H, hd], 'f32', 'activations', 'q', x.q);
  const k = rt.tensor([Tk, KV, hd], 'f32', 'activations', 'k', x.k);
  const v = rt.tensor([Tk, KV, hd], 'f32', 'activations', 'v', x.v);
  // Garbage in the outputs shows they are overwritten.
  const o = rt.tensor(
    [Tq, H, hd],
    'f32',
    'activations',
    'o',
    new Float32Array(Tq * H * hd).fill(7),
  );
  const lse = rt.tensor([H, Tq], 'f32', 'activations', 'lse', new Float32Array(H * Tq).fill(7));
  attentionForward(rt, q, k, v, o, lse, cfg);
  const out = { o: await rt.read(o), lse: await rt.read(lse) };
  for (const t of [q, k, v, o, lse]) t.destroy();
  return out;
}

const variants: AttentionVariant[] = ['tiled', 'direct'];

describe.each(variants)('flash attention forward (%s) vs the float64 reference', (variant) => {
  attentionCases.forEach(({ name, cfg }, n) => {
    // The direct kernels hold a head in registers up to hd 64; larger heads use 'tiled' (tested below).
    if (variant === 'direct' && !directAttentionFits(cfg.hd)) return;
    it(name, async () => {
      const rt = await testRuntime();
      const x = attentionInputs(cfg, 100 + n);
      const got = await forward(rt, { ...cfg, variant }, x);
      const ref = refForward(x.q, x.k, x.v, cfg);
      expectClose('o', got.o, ref.o, 1e-5, 1e-3);
      expectClose('lse', got.lse, ref.lse, 1e-5, 1e-3);
      expect(rt.liveTensors).toBe(0);
    });
  });

  it('the naive variant (every key tile, mask only) agrees too', async () => {
    const rt = await testRuntime();
    for (const pattern of ['full', 's2', 's2roll'] as const) {
      const cfg: AttentionConfig = { Tq: 72, Tk: 72, H: 2, KV: 1, hd: 8, pattern, group: 24 };
      const x = attentionInputs(cfg, 7);
      const got = await forward(rt, { ...cfg, skipTiles: false, tileCols: 9, variant }, x);
      expectClose(`o ${pattern}`, got.o, refForward(x.q, x.k, x.v, cfg).o, 1e-5, 1e-3);
    }
  });
});

describe('flash attention forward: variants and config errors', () => {
  it('the direct variant gives the same o and lse as the tiled one (s2, GQA, odd N)', async () => {
    const rt = await testRuntime();
    const cfg: AttentionConfig = { Tq: 90, Tk: 90, H: 4, KV: 2, hd: 16, pattern: 's2', group: 30 };
    const x = attentionInputs(cfg, 5);
    const a = await forward(rt, { ...cfg, variant: 'tiled' }, x);
    const b = await forward(rt, { ...cfg, variant: 'direct' }, x);
    expectClose('o', b.o, a.o, 1e-6, 1e-5);
    expectClose('lse', b.lse, a.lse, 1e-6, 1e-5);
  });

  it('rejects bad configs with a clear error', async () => {
    const rt = await testRuntime();
    const q = rt.tensor([24, 2, 8], 'f32', 'activations', 'q');
    const base: AttentionConfig = {
      Tq: 24,
      Tk: 24,
      H: 2,
      KV: 1,
      hd: 8,
      pattern: 's2',
      group: 24 / 4,
    };
    const bad: [Partial<AttentionConfig>, RegExp][] = [
      [{ group: 5 }, /group size 5 must be even/],
      [{ group: 16 }, /divide the context 24/],
      [{ group: undefined }, /pattern s2 needs a group size/],
      [{ pattern: 's2roll', group: undefined }, /pattern s2roll needs a group size/],
      [{ pattern: 'full', qOffset: 1 }, /exceeds the 24 keys/],
      [{ Tk: 26 }, /needs Tq = Tk/],
      [{ H: 2, KV: 4 }, /multiple of KV/],
      [{ hd: 130 }, /exceeds 128/],
      [{ pattern: 'full', Tq: 200, Tk: 200 }, /has 384 elements, needs/],
      [{ hd: 6, variant: 'direct' }, /direct variant needs head_dim % 4 == 0 and <= 64, got 6/],
      [{ hd: 128, variant: 'direct' }, /direct variant needs head_dim % 4 == 0 and <= 64, got 128/],
    ];
    for (const [patch, msg] of bad) {
      expect(() => attentionForward(rt, q, q, q, q, q, { ...base, ...patch })).toThrow(msg);
    }
    q.destroy();
  });
});
