/**
 * The subgroup-matrix attention forward (issue 28 item 3) against the float64 reference. No adapter
 * here offers subgroup matrices (SwiftShader does not), so the real kernel is never compiled; its
 * body runs in the emulated build (sgmatrix_emu: 8×8×8 matrices held by one invocation), forward
 * (o, lse) and the backward through fa2's shared kernels (dq, dk, dv): 9 query heads over 3 kv heads
 * at head_dim 64, full and s2 at N 40 and 72 (partial row blocks and key tiles), a head size padded
 * to 32 (24, s2roll), and query and key blocks (the merged forward); then the attention tests'
 * shared cases it takes and N = 1,024 with 9 query heads over 3 (s2 and full). On SwiftShader one
 * forward pipeline serves them all (head size and heads from the uniforms).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { attentionCases, checkAttention } from '../../test/attention-cases.ts';
import { testRuntime } from '../../test/gpu.ts';
import { attentionSgmatrixTile } from './attention-sgmatrix.ts';
import { attentionCandidates } from './attention-tune.ts';
import {
  attentionTuneKey,
  attentionVariant,
  resolveAttentionVariant,
  type AttentionConfig,
} from './attention.ts';
import { clearTuneCache, rememberChoice } from './autotune.ts';
import { ATTENTION, variantRuns } from './registry.ts';

const CASES: [string, AttentionConfig][] = [
  ['full, 9 heads over 3, hd 64, N 40', { Tq: 40, Tk: 40, H: 9, KV: 3, hd: 64, pattern: 'full' }],
  [
    's2, 9 heads over 3, hd 64, N 72, G 24',
    { Tq: 72, Tk: 72, H: 9, KV: 3, hd: 64, pattern: 's2', group: 24 },
  ],
  [
    's2roll, 4 heads over 2, hd 24 (padded to 32), N 40, G 20',
    { Tq: 40, Tk: 40, H: 4, KV: 2, hd: 24, pattern: 's2roll', group: 20 },
  ],
  [
    'full, query and key blocks of 64, 6 heads over 2, hd 16, N 136',
    { Tq: 136, Tk: 136, H: 6, KV: 2, hd: 16, pattern: 'full', queryBlock: 64, keyBlock: 64 },
  ],
];

describe('sgmatrix attention vs the float64 reference', () => {
  afterEach(() => clearTuneCache());

  CASES.forEach(([name, cfg], n) => {
    it(`the emulated build: ${name}`, async () => {
      const rt = await testRuntime();
      expect(variantRuns(ATTENTION.variants.sgmatrix_emu, rt.info, { hd: cfg.hd })).toBe(true);
      await checkAttention(rt, { ...cfg, variant: 'sgmatrix_emu' }, 280 + n);
      expect(rt.liveTensors).toBe(0);
      expect(rt.memory.snapshot().current.workspace).toBe(0);
    });
  });

  // The attention tests' shared cases the variant takes (head_dim % 4 == 0 and <= 64), then N = 1,024
  // with 9 query heads over 3 kv heads, s2 and full causal (hd 8, padded to 16, as fa2's).
  attentionCases.forEach(({ name, cfg }, n) => {
    if (!ATTENTION.variants.sgmatrix_emu.fits({ hd: cfg.hd })) return;
    it(`the emulated build, shared case: ${name}`, async () => {
      const rt = await testRuntime();
      await checkAttention(rt, { ...cfg, variant: 'sgmatrix_emu' }, 100 + n);
      expect(rt.liveTensors).toBe(0);
    });
  });
  for (const pattern of ['s2', 'full'] as const) {
    it(`the emulated build: N 1024, 9 query heads over 3 kv heads, hd 8, ${pattern}`, async () => {
      const rt = await testRuntime();
      const cfg: AttentionConfig = { Tq: 1024, Tk: 1024, H: 9, KV: 3, hd: 8, pattern, group: 256 };
      await checkAttention(rt, { ...cfg, variant: 'sgmatrix_emu' }, 1024);
    });
  }

  it('the emulation is never a default, a tuning candidate or a cached choice', async () => {
    const rt = await testRuntime();
    const cfg = CASES[0]![1];
    expect(attentionVariant(rt, 64)).not.toMatch(/sgmatrix/);
    expect(attentionCandidates(rt, 64)).not.toContain('sgmatrix_emu');
    await rememberChoice(attentionTuneKey(rt, cfg), 'sgmatrix_emu');
    expect(resolveAttentionVariant(rt, cfg)).toBe(attentionVariant(rt, 64));
  });

  it('the subgroup-matrix build itself where the adapter has the feature (none here: never offered)', async () => {
    const rt = await testRuntime();
    const runs = variantRuns(ATTENTION.variants.sgmatrix, rt.info, { hd: 64 });
    expect(runs).toBe(attentionSgmatrixTile(rt.info) !== null);
    expect(attentionCandidates(rt, 64).includes('sgmatrix')).toBe(runs);
    if (!runs) return;
    for (const [, cfg] of CASES) await checkAttention(rt, { ...cfg, variant: 'sgmatrix' }, 7);
  });
});
