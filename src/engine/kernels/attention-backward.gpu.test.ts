import { describe, expect, it } from 'vitest';
import {
  attentionBackward,
  attentionWorkspace,
  type AttentionConfig,
  type AttentionVariant,
  directAttentionFits,
} from './attention.ts';
import { attentionCases, attentionInputs, deterministicCase } from '../../test/attention-cases.ts';
import {
  attentionBackward as refBackward,
  attentionForward as refForward,
} from '../../reference/attention.ts';
import type { Runtime } from '../runtime.ts';
import { testRuntime } from '../../test/gpu.ts';
import { expectClose } from '../../test/numeric.ts';

type Grads = { dq: Float32Array; dk: Float32Array; dv: Float32Array };

/** Runs the backward kernels on the reference forward's o and lse (so this file tests only them). */
async function backward(
  rt: Runtime,
  cfg: AttentionConfig,
  x: { q: Float32Array; k: Float32Array; v: Float32Array; g: Float32Array },
  shareWorkspace = false,
): Promise<Grads> {
  const { Tq, Tk, H, KV, hd } = cfg;
  const fwd = refForward(x.q, x.k, x.v, cfg);
  const t = (shape: number[], label: string, data: Float32Array) =>
    rt.tensor(shape, 'f32', 'activations', label, data);
  const q = t([Tq, H, hd], 'q', x.q);
  const k = t([Tk, KV, hd], 'k', x.k);
  const v = t([Tk, KV, hd], 'v', x.v);
  const g = t([Tq, H, hd], 'dO', x.g);
  const o = t([Tq, H, hd], 'o', Float32Array.from(fwd.o));
  const lse = t([H, Tq], 'lse', Float32Array.from(fwd.lse));
  // Garbage in the gradients shows they are overwritten, not accumulated.
  const dq = t([Tq, H, hd], 'dq', new Float32Array(Tq * H * hd).fill(7));
  const dk = t([Tk, KV, hd], 'dk', new Float32Array(Tk * KV * hd).fill(7));
  const dv = t([Tk, KV, hd], 'dv', new Float32Array(Tk * KV * hd).fill(7));
  const ws = shareWorkspace ? attentionWorkspace(rt, cfg) : undefined;
  attentionBackward(rt, q, k, v, o, lse, g, dq, dk, dv, cfg, ws);
  const out = { dq: await rt.read(dq), dk: await rt.read(dk), dv: await rt.read(dv) };
  for (const tt of [q, k, v, g, o, lse, dq, dk, dv]) tt.destroy();
  ws?.destroy();
  return out;
}

const variants: AttentionVariant[] = ['tiled', 'direct'];

describe.each(variants)('flash attention backward (%s) vs the float64 reference', (variant) => {
  attentionCases.forEach(({ name, cfg }, n) => {
    // The direct kernels hold a head in registers up to hd 64; larger heads use 'tiled' (tested below).
    if (variant === 'direct' && !directAttentionFits(cfg.hd)) return;
    it(name, async () => {
      const rt = await testRuntime();
      const x = attentionInputs(cfg, 100 + n);
      const got = await backward(rt, { ...cfg, variant }, x);
      const ref = refBackward(x.q, x.k, x.v, x.g, cfg);
      expectClose('dq', got.dq, ref.dq, 1e-4, 1e-3);
      expectClose('dk', got.dk, ref.dk, 1e-4, 1e-3);
      expectClose('dv', got.dv, ref.dv, 1e-4, 1e-3);
      expect(rt.liveTensors).toBe(0);
    });
  });

  it('the naive variant (every tile, mask only) agrees too', async () => {
    const rt = await testRuntime();
    for (const pattern of ['full', 's2', 's2roll'] as const) {
      const cfg: AttentionConfig = { Tq: 72, Tk: 72, H: 4, KV: 2, hd: 8, pattern, group: 24 };
      const x = attentionInputs(cfg, 9);
      const got = await backward(rt, { ...cfg, skipTiles: false, tileCols: 9, variant }, x);
      const ref = refBackward(x.q, x.k, x.v, x.g, cfg);
      expectClose(`dq ${pattern}`, got.dq, ref.dq, 1e-4, 1e-3);
      expectClose(`dk ${pattern}`, got.dk, ref.dk, 1e-4, 1e-3);
      expectClose(`dv ${pattern}`, got.dv, ref.dv, 1e-4, 1e-3);
    }
  });

  it('is deterministic: two runs give identical bits (4 query heads share a kv head)', async () => {
    const rt = await testRuntime();
    const cfg: AttentionConfig = { ...deterministicCase, variant };
    const x = attentionInputs(cfg, 11);
    const a = await backward(rt, cfg, x, true);
    const b = await backward(rt, cfg, x, false);
    for (const key of ['dq', 'dk', 'dv'] as const) {
      expect(new Uint32Array(a[key].buffer)).toEqual(new Uint32Array(b[key].buffer));
    }
    expect(rt.memory.snapshot().current.workspace).toBe(0);
  });
});
