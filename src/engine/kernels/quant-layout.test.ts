import { describe, expect, it } from 'vitest';
import { dequantize, QUANT_FORMATS, QUANT_TYPES } from '../../io/quant.ts';
import { quantBlocksFixture } from '../../test/quant-fixtures.ts';
import { f32ToF16 } from '../../util/half.ts';
import { Rng } from '../../util/rng.ts';
import {
  dequantizeRepacked,
  GPU_QUANT_LAYOUTS,
  GPU_QUANT_TYPES,
  quantWeightBytes,
  randomQuantBlocks,
  repackedToGgml,
  repackQuant,
} from './quant-layout.ts';

const bits = (f: Float32Array) => new Uint32Array(f.buffer, f.byteOffset, f.length);

describe('the GPU layout of quantized weights (quant-layout.ts)', () => {
  it('has io/quant.ts’s types and block sizes; header and fields fill the words and cover every ggml bit once', () => {
    expect([...GPU_QUANT_TYPES].sort()).toEqual([...QUANT_TYPES].sort());
    for (const t of GPU_QUANT_TYPES) {
      const l = GPU_QUANT_LAYOUTS[t];
      expect([l.block, l.ggmlBytes]).toEqual([QUANT_FORMATS[t].block, QUANT_FORMATS[t].bytes]);
      const fieldWords = l.fields.reduce((n, f) => n + (l.block * f.bits) / 32, 0);
      expect(l.header.reduce((n, s) => n + s.words, 0) + fieldWords).toBe(l.words);
      // Every bit of a ggml block: counted once by the header's bytes or a field's bits.
      const covered = new Uint8Array(8 * l.ggmlBytes);
      for (const s of l.header) {
        const len = s.kind === 'f16' ? 2 : s.kind === 'scales6' ? 12 : 4 * s.words;
        for (let i = 8 * s.from; i < 8 * (s.from + len); i++) covered[i]!++;
      }
      for (const f of l.fields) {
        for (let v = 0; v < l.block; v++) {
          const [byte, bit] = f.ggml(v);
          for (let b = 0; b < f.bits; b++) covered[8 * byte + bit + b]!++;
        }
      }
      expect(
        [...covered].every((c) => c === 1),
        t,
      ).toBe(true);
      // Every oct of values (the kernels' unit) lies in one sub-block.
      expect(l.sub % 8).toBe(0);
    }
    expect(quantWeightBytes('Q8_0', 2, 64)).toBe(4 * 36);
    expect(quantWeightBytes('Q4_0', 2, 64)).toBe(4 * 20);
    expect(quantWeightBytes('Q5_1', 1, 32)).toBe(28);
    expect(quantWeightBytes('Q4_K', 3, 512)).toBe(6 * 152);
    expect(quantWeightBytes('Q5_K', 1, 256)).toBe(184);
    expect(quantWeightBytes('Q6_K', 1, 256)).toBe(212);
  });

  for (const t of GPU_QUANT_TYPES) {
    const cases: [string, () => Uint8Array][] = [
      ['gguf-py’s fixture blocks', () => quantBlocksFixture(t).blocks],
      ['random blocks (every scale byte pattern)', () => randomQuantBlocks(t, 16, 512, new Rng(5))],
    ];
    for (const [what, make] of cases) {
      it(`${t}, ${what}: the same values as io/quant.ts bit for bit, and the inverse gives the bytes back`, () => {
        const blocks = make();
        const { words, badBlock } = repackQuant(t, blocks);
        expect(badBlock).toBe(-1);
        expect(words.length * 4).toBe(
          (blocks.length / GPU_QUANT_LAYOUTS[t].ggmlBytes) * GPU_QUANT_LAYOUTS[t].words * 4,
        );
        const want = dequantize(t, blocks).values;
        expect(bits(dequantizeRepacked(t, words))).toEqual(bits(want));
        expect(repackedToGgml(t, words)).toEqual(blocks);
      });
    }

    it(`${t}: a block with a non-finite scale (d or the min) is reported by its index`, () => {
      const scales = GPU_QUANT_LAYOUTS[t].header.filter((s) => s.kind === 'f16');
      for (const [s, bad] of scales.flatMap((s) => [Infinity, NaN].map((x) => [s, x] as const))) {
        const blocks = randomQuantBlocks(t, 4, 256, new Rng(9));
        const at = 3 * GPU_QUANT_LAYOUTS[t].ggmlBytes + s.from;
        const h = f32ToF16(bad);
        blocks[at] = h & 0xff;
        blocks[at + 1] = h >> 8;
        expect(repackQuant(t, blocks).badBlock).toBe(3);
        expect(dequantize(t, blocks).badBlock).toBe(3);
      }
    });
  }
});
