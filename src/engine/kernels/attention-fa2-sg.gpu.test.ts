/**
 * fa2_sg, fa2 with quad operations (adapters with subgroups; SwiftShader has them, with subgroups of
 * one quad), forced, against the float64 reference: forward (o, lse) and backward (dq, dk, dv) at
 * the shared attention cases it takes (head_dim % 4 == 0, among them head_dim 64 and 128), at N =
 * 1,024 with 9 query heads over 3 kv heads (odd, GQA; head_dim 8, the tiles of every head_dim up to
 * 64) for s2 and full causal, head_dim 128 with GQA (head_dim over 64 with quadBroadcast, the path
 * GPUs run, where SwiftShader otherwise takes subgroupBroadcast), in chunks of heads, in query and
 * key blocks, with every tile masked, and bit-for-bit deterministic although quads take their slots
 * in any order.
 */
import { describe, expect, it } from 'vitest';
import type { AttentionConfig } from './attention.ts';
import {
  attentionCases,
  attentionInputs,
  checkAttention,
  runAttention,
} from '../../test/attention-cases.ts';
import type { Runtime } from '../runtime.ts';
import { testRuntime } from '../../test/gpu.ts';

/**
 * SwiftShader's subgroups are one quad, where the kernels take subgroupBroadcast (SG4); head sizes
 * over 64 run with quadBroadcast, the path GPUs take, so each path is compiled for one tile shape.
 */
const check = (rt: Runtime, cfg: AttentionConfig, seed: number) =>
  checkAttention(rt, { ...cfg, variant: 'fa2_sg', quadBroadcast: cfg.hd > 64 }, seed);

describe('fa2_sg attention (forced) vs the float64 reference', () => {
  it('the adapter has subgroups (the variant needs them)', async () => {
    const rt = await testRuntime();
    expect(rt.info.features.subgroups).toBe(true);
  });

  attentionCases.forEach(({ name, cfg }, n) => {
    if (cfg.hd % 4 !== 0) return;
    it(name, async () => {
      const rt = await testRuntime();
      await check(rt, cfg, 100 + n);
      expect(rt.liveTensors).toBe(0);
    });
  });

  for (const pattern of ['s2', 'full'] as const) {
    it(`N 1024, 9 query heads over 3 kv heads, hd 8, ${pattern}${pattern === 's2' ? ' G 256' : ''}`, async () => {
      const rt = await testRuntime();
      const cfg: AttentionConfig = { Tq: 1024, Tk: 1024, H: 9, KV: 3, hd: 8, pattern, group: 256 };
      await check(rt, cfg, 1024);
    });
  }

  it('hd 128, 6 heads over 2 (GQA), s2roll, N 48', async () => {
    const rt = await testRuntime();
    const cfg: AttentionConfig = {
      Tq: 48,
      Tk: 48,
      H: 6,
      KV: 2,
      hd: 128,
      pattern: 's2roll',
      group: 24,
    };
    await check(rt, cfg, 128);
  });

  it('in chunks of heads (12 over 1, 10 over 2) and with every tile masked', async () => {
    const rt = await testRuntime();
    await check(rt, { Tq: 40, Tk: 40, H: 12, KV: 1, hd: 16, pattern: 's2', group: 20 }, 12);
    await check(rt, { Tq: 40, Tk: 40, H: 10, KV: 2, hd: 8, pattern: 's2roll', group: 8 }, 10);
    for (const pattern of ['full', 's2', 's2roll'] as const) {
      const cfg: AttentionConfig = { Tq: 72, Tk: 72, H: 4, KV: 2, hd: 8, pattern, group: 24 };
      await check(rt, { ...cfg, skipTiles: false }, 9);
    }
  });

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
    const cfg: AttentionConfig = {
      Tq: 80,
      Tk: 80,
      H: 4,
      KV: 1,
      hd: 16,
      pattern: 's2roll',
      group: 20,
      variant: 'fa2_sg',
    };
    const x = attentionInputs(cfg, 11);
    const a = await runAttention(rt, cfg, x);
    const b = await runAttention(rt, cfg, x);
    for (const key of ['o', 'lse', 'dq', 'dk', 'dv'] as const) {
      expect(new Uint32Array(a[key].buffer)).toEqual(new Uint32Array(b[key].buffer));
    }
  });
});
