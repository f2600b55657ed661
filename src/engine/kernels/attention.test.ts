import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadShaderFromDisk } from '../node-host.ts';
import { shaderParams } from '../uniforms.ts';
import { expandShader } from '../wgsl-include.ts';
import { ATTENTION_PATTERNS, PATTERN_ID } from '../../util/attention-pattern.ts';
import {
  ATTENTION_KERNELS,
  ATTENTION_DIRECT_MAX_HEAD_DIM,
  directAttentionFits,
  ATTENTION_MAX_HEAD_DIM,
  ATTENTION_TILE_FLOATS,
  attentionUniforms,
  fa2SgTiles,
  fa2Tiles,
  resolveAttentionConfig,
} from './attention.ts';
import { ATTENTION_TUNE_BYTES, attentionTuneTokens } from './attention-tune.ts';

const ops = ['attention.forward', 'attention.backward_dq', 'attention.backward_dkdv'];
const tiled = ops.map((name) => `${name}_tiled`);
const direct = ops.map((name) => `${name}_direct`);
const fa2 = ops.map((name) => `${name}_fa2`);
const fa2Sg = ops.map((name) => `${name}_fa2_sg`);
const shader = (name: string) => readFileSync(`shaders/${name}.wgsl`, 'utf8');
describe('attention shaders and launcher', () => {
  it('the twelve tiled, direct, fa2 and fa2_sg kernels take the pattern arithmetic from one shared file', () => {
    const shared = shader('attention.pattern');
    for (const fn of ['visible', 'firstKey', 'firstQuery', 'queryEnd', 'keyRuns', 'queryRuns']) {
      expect(shared).toContain(`fn ${fn}(`);
    }
    for (const name of [...tiled, ...direct, ...fa2, ...fa2Sg]) {
      const src = shader(name);
      expect(src.match(/^\/\/ #include attention\.pattern$/gm), name).toHaveLength(1);
      expect(src, name).not.toContain('fn visible(');
    }
  });

  it('the shaders size their arrays as the launcher assumes', () => {
    for (const name of tiled) {
      expect(shader(name)).toContain(`const TILE: u32 = ${ATTENTION_TILE_FLOATS}u;`);
      expect(shader(name)).toContain(`const HD_MAX: u32 = ${ATTENTION_MAX_HEAD_DIM}u;`);
    }
    for (const name of direct) {
      // Registers for heads up to ATTENTION_DIRECT_MAX_HEAD_DIM: the last guard is HD4 > max/4 − 1.
      const last = ATTENTION_DIRECT_MAX_HEAD_DIM / 4 - 1;
      expect(shader(name)).toContain(`if (HD4 > ${last}u)`);
      expect(shader(name)).not.toContain(`if (HD4 > ${last + 1}u)`);
      expect(shader(name)).not.toContain('var<private>');
      expect(shader(name)).not.toContain('var<workgroup>');
      expect(shader(name)).not.toContain('Barrier');
    }
  });

  it('the fa2 kernels stay within 16 KiB of workgroup memory and 64 lanes, for both tile shapes', () => {
    const sizes: Record<string, number> = { f32: 4, 'vec4<f32>': 16 };
    for (const name of fa2) {
      const src = shader(name);
      expect(src, name).toContain('const LANES: u32 = 64u;');
      const bytes = [...src.matchAll(/var<workgroup> \w+: array<(f32|vec4<f32>), (\d+)>;/g)].reduce(
        (sum, m) => sum + sizes[m[1]!]! * Number(m[2]),
        0,
      );
      expect(bytes, name).toBeGreaterThan(12 * 1024);
      expect(bytes, name).toBeLessThanOrEqual(16 * 1024);
    }
    // The staged arrays hold the launcher's tiles at head_dim 64 and 128.
    for (const [hd, fwd, dq, dkdv] of [
      [64, { TR: 4, TK: 2 }, { TR: 2, TK: 2 }, { TR: 2, BQ: 8 }],
      [128, { TR: 2, TK: 1 }, { TR: 1, TK: 1 }, { TR: 1, BQ: 4 }],
    ] as const) {
      const t = fa2Tiles(hd, 4);
      expect([t.forward, t.backward_dq, t.backward_dkdv]).toEqual([fwd, dq, dkdv]);
      expect(8 * t.forward.TR * (hd / 4)).toBeLessThanOrEqual(512);
      expect(8 * t.forward.TK * (hd / 4)).toBeLessThanOrEqual(256);
      expect(8 * t.backward_dq.TR * (hd / 4)).toBeLessThanOrEqual(256);
      expect(8 * t.backward_dq.TK * (hd / 4)).toBeLessThanOrEqual(256);
      expect(8 * t.backward_dkdv.TR * (hd / 4)).toBeLessThanOrEqual(256);
      expect(t.backward_dkdv.BQ * (hd / 4)).toBeLessThanOrEqual(128);
    }
    expect(fa2Tiles(64, 32)).toMatchObject({ chunks: 4, RH: 8 });
    expect(fa2Tiles(64, 9)).toMatchObject({ chunks: 2, RH: 5 });
  });

  it('fa2 and fa2_sg forward and dq share their row blocks, key runs and tile staging', () => {
    const rows = shader('attention_fa2_rows');
    for (const fn of ['rhOf', 'rowBlock', 'keySteps', 'keyTile', 'kTile', 'vTile']) {
      expect(rows).toContain(`fn ${fn}(`);
    }
    for (const name of [fa2[0]!, fa2[1]!, fa2Sg[0]!, fa2Sg[1]!]) {
      const src = shader(name);
      expect(src.match(/^\/\/ #include attention_fa2_rows$/gm), name).toHaveLength(1);
      expect(src, name).not.toMatch(/fn rhOf|keyRuns\(|k\[\(/);
    }
  });

  it('the fa2_sg kernels hold the launcher’s tiles: 8 KiB of staged tiles, registers for 8 vec4s', () => {
    for (const name of fa2Sg) {
      const src = shader(name);
      expect(src, name).toContain('const LANES: u32 = 64u;');
      expect(src, name).toContain('enable subgroups;');
      const arrays = [...src.matchAll(/var<workgroup> \w+: array<vec4<f32>, (\d+)>;/g)];
      expect(
        arrays.map((m) => m[1]),
        name,
      ).toEqual(['256', '256']);
      expect(src.match(/var \w+: array<vec4<f32>, 8>;/g)?.length, name).toBeGreaterThanOrEqual(2);
    }
    const quads = (x: number) => Math.ceil(x / 4);
    for (const hd of [4, 8, 24, 64, 68, 128]) {
      for (const R of [1, 3, 8, 9]) {
        const t = fa2SgTiles(hd, R);
        const HD4 = hd / 4;
        for (const op of [t.forward, t.backward_dq]) {
          expect(4 * op.TK * HD4).toBeLessThanOrEqual(256);
          expect(op.TR * quads(HD4)).toBeLessThanOrEqual(8);
          expect(op.TR * op.TK).toBeLessThanOrEqual(8);
          expect(Math.floor((16 * op.TR) / t.RH)).toBeGreaterThanOrEqual(1);
        }
        const kv = t.backward_dkdv;
        expect(4 * kv.TQ * HD4).toBeLessThanOrEqual(256);
        expect(4 * kv.TQ).toBeLessThanOrEqual(16);
        expect(kv.TR * quads(HD4)).toBeLessThanOrEqual(8);
        expect(kv.TR * kv.TQ).toBeLessThanOrEqual(8);
      }
    }
  });

  it('the kernels get Params and the PATTERN_* constants from the launcher, via attention.pattern', () => {
    const { Params, PrepParams } = attentionUniforms;
    const shared = shader('attention.pattern');
    expect(shared.match(/^\/\/ #params Params$/gm)).toHaveLength(1);
    // p.pattern is compared by name only; the values come from PATTERN_ID.
    expect(shared).not.toMatch(/pattern [!=]= \d/);
    expect(shared.match(/p\.pattern [!=]= PATTERN_(FULL|S2|S2ROLL)\b/g)).toHaveLength(12);
    // The sgmatrix variants have their own forward and run fa2's backward kernels.
    const sgmatrix = ['attention.forward_sgmatrix', 'attention.forward_sgmatrix_emu'];
    expect([...ATTENTION_KERNELS].sort()).toEqual(
      [...tiled, ...direct, ...fa2, ...fa2Sg, ...sgmatrix].sort(),
    );
    for (const name of ATTENTION_KERNELS) {
      expect(shaderParams(name), name).toBe(Params);
      const { code } = expandShader(name, loadShaderFromDisk);
      expect(code, name).toContain(Params.wgsl());
      for (const pattern of ATTENTION_PATTERNS) {
        const id = PATTERN_ID[pattern];
        expect(code).toContain(`const PATTERN_${pattern.toUpperCase()}: u32 = ${id}u;`);
      }
    }
    expect(shaderParams('attention.backward_prep')).toBe(PrepParams);
  });

  it('resolves defaults: 64 rows, key tiles that fit 1984 floats; s2 and s2roll need a group', () => {
    const s2 = { Tq: 64, Tk: 64, H: 2, KV: 1, hd: 64, pattern: 's2' as const };
    const r = resolveAttentionConfig(null, { ...s2, group: 64 / 4 });
    expect(r).toEqual({ G: 16, qOffset: 0, rows: 64, cols: 31, variant: 'tiled' });
    expect(() => resolveAttentionConfig(null, s2)).toThrow('pattern s2 needs a group size');
    expect(() => resolveAttentionConfig(null, { ...s2, pattern: 's2roll' })).toThrow(
      'pattern s2roll needs a group size',
    );
    expect(resolveAttentionConfig(null, { ...s2, pattern: 'full' }).G).toBe(64);
    expect(
      resolveAttentionConfig(null, { Tq: 8, Tk: 8, H: 1, KV: 1, hd: 8, pattern: 'full' }).cols,
    ).toBe(64);
    expect(
      resolveAttentionConfig(null, { Tq: 8, Tk: 8, H: 1, KV: 1, hd: 128, pattern: 'full' }).cols,
    ).toBe(15);
    expect(() =>
      resolveAttentionConfig(null, {
        Tq: 8,
        Tk: 8,
        H: 1,
        KV: 1,
        hd: 128,
        pattern: 'full',
        tileCols: 16,
      }),
    ).toThrow(/tileCols must be in 1..15/);
  });

  it('resolves the variant: tiled without a runtime, direct on request, direct needs hd % 4 == 0 and hd <= 64', () => {
    const cfg = { Tq: 8, Tk: 8, H: 1, KV: 1, hd: 8, pattern: 'full' as const };
    expect(resolveAttentionConfig(null, cfg).variant).toBe('tiled');
    expect(resolveAttentionConfig(null, { ...cfg, variant: 'direct' }).variant).toBe('direct');
    expect(() => resolveAttentionConfig(null, { ...cfg, hd: 10, variant: 'direct' })).toThrow(
      /direct variant needs head_dim % 4 == 0 and <= 64, got 10/,
    );
    expect(() => resolveAttentionConfig(null, { ...cfg, hd: 68, variant: 'direct' })).toThrow(
      /got 68/,
    );
    expect([4, 8, 60, 64].every(directAttentionFits)).toBe(true);
    expect([2, 6, 68, 128].some(directAttentionFits)).toBe(false);
  });

  it('tuning times a step at its own tokens, or where its tensors pass 512 MiB at fewer with the same groups', () => {
    const tiny = { T: 8192, H: 32, KV: 4, hd: 64, pattern: 's2' as const, group: 2048 };
    expect(attentionTuneTokens(tiny)).toBe(8192);
    // Llama-2-7B's heads at 8k: 1.07 GB of q, k, v, o, dO, dq, dk, dv, lse and D.
    const big = { T: 8192, H: 32, KV: 32, hd: 128, pattern: 's2' as const, group: 2048 };
    const T = attentionTuneTokens(big);
    expect(T).toBe(4088);
    expect(4 * T * (8 * 32 * 128 + 2 * 32)).toBeLessThanOrEqual(ATTENTION_TUNE_BYTES);
    const G = (big.group * T) / big.T;
    expect([G % 2, T % G, T / G]).toEqual([0, 0, 4]);
    expect(attentionTuneTokens({ ...big, pattern: 'full', group: 8192 }) % 64).toBe(0);
  });
});
