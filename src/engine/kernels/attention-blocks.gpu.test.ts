/**
 * Attention in query and key blocks: q/o/dO/dq bound as query-row views, k/v/dk/dv as key-row views,
 * the forward merged over key blocks by log-sum-exp, dq accumulated over key blocks and dk/dv over
 * query blocks. Blocks of 64 rows (and a 32 KiB binding cap that picks them itself) against the
 * float64 reference, for full, s2 and s2roll (including s2roll's wrapped tail across blocks), tiled
 * and direct; the pairs a query block cannot see are skipped.
 */
import { describe, expect, it } from 'vitest';
import {
  attentionBackward,
  attentionBlockRows,
  attentionBlocksMeet,
  attentionForward,
  type AttentionConfig,
  type AttentionVariant,
} from './attention.ts';
import { attentionInputs } from '../../test/attention-cases.ts';
import {
  attentionBackward as refBackward,
  attentionForward as refForward,
} from '../../reference/attention.ts';
import type { Runtime } from '../runtime.ts';
import { cappedRuntime, testRuntime } from '../../test/gpu.ts';
import { expectClose } from '../../test/numeric.ts';

async function run(rt: Runtime, cfg: AttentionConfig, seed: number) {
  const { Tq, Tk, H, KV, hd } = cfg;
  const x = attentionInputs(cfg, seed);
  const t = (shape: number[], label: string, data?: Float32Array) =>
    rt.tensor(shape, 'f32', 'activations', label, data);
  const q = t([Tq, H * hd], 'q', x.q);
  const k = t([Tk, KV * hd], 'k', x.k);
  const v = t([Tk, KV * hd], 'v', x.v);
  const g = t([Tq, H * hd], 'dO', x.g);
  const o = t([Tq, H * hd], 'o', new Float32Array(Tq * H * hd).fill(5));
  const lse = t([H, Tq], 'lse', new Float32Array(H * Tq).fill(5));
  const dq = t([Tq, H * hd], 'dq', new Float32Array(Tq * H * hd).fill(7));
  const dk = t([Tk, KV * hd], 'dk', new Float32Array(Tk * KV * hd).fill(7));
  const dv = t([Tk, KV * hd], 'dv', new Float32Array(Tk * KV * hd).fill(7));
  attentionForward(rt, q, k, v, o, lse, cfg);
  attentionBackward(rt, q, k, v, o, lse, g, dq, dk, dv, cfg);
  const got = {
    o: await rt.read(o),
    lse: await rt.read(lse),
    dq: await rt.read(dq),
    dk: await rt.read(dk),
    dv: await rt.read(dv),
  };
  for (const tt of [q, k, v, g, o, lse, dq, dk, dv]) tt.destroy();
  const fwd = refForward(x.q, x.k, x.v, cfg);
  const bwd = refBackward(x.q, x.k, x.v, x.g, cfg);
  expectClose('o', got.o, fwd.o, 1e-4, 1e-3);
  expectClose('lse', got.lse, fwd.lse, 1e-4, 1e-3);
  expectClose('dq', got.dq, bwd.dq, 1e-4, 1e-3);
  expectClose('dk', got.dk, bwd.dk, 1e-4, 1e-3);
  expectClose('dv', got.dv, bwd.dv, 1e-4, 1e-3);
}

const variants: AttentionVariant[] = ['tiled', 'direct'];
const base = { Tq: 320, Tk: 320, H: 4, KV: 2, hd: 8 };

describe.each(variants)(
  'attention in query and key blocks (%s) vs the float64 reference',
  (variant) => {
    for (const pattern of ['full', 's2', 's2roll'] as const) {
      for (const group of pattern === 'full' ? [320] : [40, 160]) {
        it(`${pattern}${pattern === 'full' ? '' : ` G${group}`}: blocks of 64 queries and 64 keys`, async () => {
          const rt = await testRuntime();
          const cfg: AttentionConfig = {
            ...base,
            pattern,
            group,
            variant,
            queryBlock: 64,
            keyBlock: 64,
          };
          await run(rt, cfg, 31);
          await run(rt, { ...cfg, queryBlock: 128, keyBlock: 192 }, 32);
          expect(rt.liveTensors).toBe(0);
          expect(rt.memory.snapshot().current.workspace).toBe(0);
        });
      }
    }

    it('full with a query offset (KV-cache decoding) in key blocks', async () => {
      const rt = await testRuntime();
      const cfg: AttentionConfig = {
        Tq: 70,
        Tk: 330,
        H: 4,
        KV: 1,
        hd: 8,
        pattern: 'full',
        qOffset: 260,
        variant,
        keyBlock: 64,
      };
      const x = attentionInputs(cfg, 5);
      const t = (shape: number[], label: string, data?: Float32Array) =>
        rt.tensor(shape, 'f32', 'activations', label, data);
      const q = t([70, 32], 'q', x.q);
      const k = t([330, 8], 'k', x.k);
      const v = t([330, 8], 'v', x.v);
      const o = t([70, 32], 'o');
      const lse = t([4, 70], 'lse');
      attentionForward(rt, q, k, v, o, lse, cfg);
      const ref = refForward(x.q, x.k, x.v, cfg);
      expectClose('o', await rt.read(o), ref.o, 1e-4, 1e-3);
      expectClose('lse', await rt.read(lse), ref.lse, 1e-4, 1e-3);
      for (const tt of [q, k, v, o, lse]) tt.destroy();
    });

    it('an 8 KiB binding cap splits [320, 32] q and [320, 16] k by itself', async () => {
      const rt = await cappedRuntime({
        maxStorageBufferBindingSize: 8 * 1024,
        maxBufferSize: 1 << 20,
      });
      try {
        const cfg: AttentionConfig = { ...base, pattern: 's2roll', group: 80, variant };
        expect(attentionBlockRows(cfg, 8 * 1024)).toEqual({ query: 64, key: 128 });
        await run(rt, cfg, 33);
      } finally {
        rt.destroy(true);
      }
    });
  },
);

describe('attentionBlocksMeet', () => {
  it('skips key blocks after the query block, and s2 blocks before its group, but not s2roll tails', () => {
    const cfg: AttentionConfig = { ...base, pattern: 's2', group: 40 };
    expect(attentionBlocksMeet(cfg, 40, 0, { q0: 0, nq: 64, k0: 64, nk: 64 })).toBe(false);
    expect(attentionBlocksMeet(cfg, 40, 0, { q0: 256, nq: 64, k0: 0, nk: 64 })).toBe(false);
    expect(attentionBlocksMeet(cfg, 40, 0, { q0: 256, nq: 64, k0: 192, nk: 64 })).toBe(true);
    const roll = { ...cfg, pattern: 's2roll' as const };
    expect(attentionBlocksMeet(roll, 40, 0, { q0: 0, nq: 64, k0: 256, nk: 64 })).toBe(true);
    expect(attentionBlocksMeet(roll, 40, 0, { q0: 64, nq: 64, k0: 256, nk: 64 })).toBe(false);
  });
});
