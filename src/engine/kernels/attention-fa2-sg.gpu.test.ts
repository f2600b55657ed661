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
  checkAttention,
  checkEveryTileMasked,
  checkHeadChunks,
  fa2BlockTests,
  fa2CaseTests,
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

  fa2CaseTests(check);

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
    await checkHeadChunks(rt, check);
    await checkEveryTileMasked(rt, check);
  });

  fa2BlockTests(check, 'fa2_sg');
});
