/**
 * The FlashAttention-2-style variant (fa2) against the float64 reference, forced so it runs on
 * SwiftShader although the registry picks it only on GPUs: forward (o, lse) and backward (dq, dk,
 * dv) at the shared attention cases it takes (head_dim % 4 == 0), at N = 1,024 with 9 query heads
 * over 3 kv heads (odd, GQA; head_dim 8, the tiles of every head_dim up to 64) for s2 and full
 * causal, at head_dim 128, in query and key blocks, with every tile masked (skipTiles false), and
 * bit-for-bit deterministic.
 */
import { describe, expect, it } from 'vitest';
import { fa2Tiles, type AttentionConfig } from './attention.ts';
import {
  checkAttention,
  checkEveryTileMasked,
  checkHeadChunks,
  fa2BlockTests,
  fa2CaseTests,
} from '../../test/attention-cases.ts';
import type { Runtime } from '../runtime.ts';
import { testRuntime } from '../../test/gpu.ts';

const check = (rt: Runtime, cfg: AttentionConfig, seed: number) =>
  checkAttention(rt, { ...cfg, variant: 'fa2' }, seed);

describe('fa2 attention (forced) vs the float64 reference', () => {
  fa2CaseTests(check);

  it('hd 128, 6 heads over 2 (GQA), s2roll and s2, N 48', async () => {
    const rt = await testRuntime();
    for (const pattern of ['s2roll', 's2'] as const) {
      const cfg: AttentionConfig = { Tq: 48, Tk: 48, H: 6, KV: 2, hd: 128, pattern, group: 24 };
      await check(rt, cfg, 128);
    }
  });

  it('more than 8 query heads per kv head run in chunks (12 over 1, and 10 over 2)', async () => {
    const rt = await testRuntime();
    expect(fa2Tiles(64, 12)).toMatchObject({ chunks: 2, RH: 6 });
    expect(fa2Tiles(64, 5)).toMatchObject({ chunks: 1, RH: 5 });
    await checkHeadChunks(rt, check);
  });

  it('every tile masked (skipTiles false) agrees too', async () => {
    await checkEveryTileMasked(await testRuntime(), check);
  });

  fa2BlockTests(check, 'fa2');
});
