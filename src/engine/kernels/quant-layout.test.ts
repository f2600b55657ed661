import { describe, expect, it } from 'vitest';
import { dequantize, QUANT_FORMATS } from '../../io/quant.ts';
import { quantBlocksFixture } from '../../test/quant-fixtures.ts';
import { randomQuantBlocks } from '../../test/linear-quant-check.ts';
import { f32ToF16 } from '../../util/half.ts';
import { Rng } from '../../util/rng.ts';
import {
  dequantizeRepacked,
  GPU_QUANT_LAYOUTS,
  GPU_QUANT_TYPES,
  quantWeightBytes,
  repackedToGgml,
  repackQuant,
} from './quant-layout.ts';

const bits = (f: Float32Array) => new Uint32Array(f.buffer, f.byteOffset, f.length);

describe('the GPU layout of quantized weights (quant-layout.ts)', () => {
  it('has io/quant.ts’s block sizes and whole u32 words per block', () => {
    for (const t of GPU_QUANT_TYPES) {
      const l = GPU_QUANT_LAYOUTS[t];
      expect([l.block, l.ggmlBytes]).toEqual([QUANT_FORMATS[t].block, QUANT_FORMATS[t].bytes]);
    }
    expect(quantWeightBytes('Q8_0', 2, 64)).toBe(4 * 36);
    expect(quantWeightBytes('Q4_K', 3, 512)).toBe(6 * 152);
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

    it(`${t}: a block with a non-finite scale is reported by its index`, () => {
      const blocks = randomQuantBlocks(t, 4, 256, new Rng(9));
      const at = 3 * GPU_QUANT_LAYOUTS[t].ggmlBytes + (t === 'Q4_K' ? 2 : 0);
      const h = f32ToF16(Infinity);
      blocks[at] = h & 0xff;
      blocks[at + 1] = h >> 8;
      expect(repackQuant(t, blocks).badBlock).toBe(3);
      expect(dequantize(t, blocks).badBlock).toBe(3);
    });
  }
});
