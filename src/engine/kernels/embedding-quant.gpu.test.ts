import { describe, expect, it } from 'vitest';
import { embeddingForwardQuant } from './embedding-quant.ts';
import { uploadQuantWeight } from './matmul-quant.ts';
import { GPU_QUANT_LAYOUTS, GPU_QUANT_TYPES, randomQuantBlocks } from './quant-layout.ts';
import { dequantize } from '../../io/quant.ts';
import { testRuntime } from '../../test/gpu.ts';
import { Rng } from '../../util/rng.ts';

const bits = (f: Float32Array) => new Uint32Array(f.buffer, f.byteOffset, f.length);

/**
 * Runs the lookup of a [rows, D] piece holding vocabulary rows [row0, row0 + rows) onto random
 * `out` and returns what it wrote and what it started from.
 */
async function lookup(
  t: (typeof GPU_QUANT_TYPES)[number],
  blocks: Uint8Array,
  rows: number,
  D: number,
  ids: Uint32Array,
  row0: number,
  last: boolean,
  rng: Rng,
): Promise<{ got: Float32Array; before: Float32Array }> {
  const rt = await testRuntime();
  const T = ids.length;
  const w = uploadQuantWeight(rt, t, rows, D, blocks, 'weights', `E ${t}`);
  const tids = rt.tensor([T], 'u32', 'activations', 'ids', ids);
  const before = rng.floats(T * D);
  const tout = rt.tensor([T, D], 'f32', 'activations', 'out', before);
  embeddingForwardQuant(rt, tids, w, tout, T, D, row0, last);
  const got = await rt.read(tout);
  for (const x of [w.tensor, tids, tout]) x.destroy();
  expect(rt.liveTensors).toBe(0);
  return { got, before };
}

describe('embedding forward, quantized table (embeddingForwardQuant)', () => {
  for (const t of GPU_QUANT_TYPES) {
    const block = GPU_QUANT_LAYOUTS[t].block;

    it(`${t}: a whole table of random blocks, every row looked up: io/quant.ts’s values bit for bit`, async () => {
      // (quant-layout.test.ts checks the same decoding on gguf-py's own blocks; this test runs in
      // the browser too, which cannot read fixtures/.)
      const [V, D] = [40, block * 2];
      const rng = new Rng(block + 7);
      const blocks = randomQuantBlocks(t, V, D, rng);
      const values = dequantize(t, blocks).values;
      const ids = Uint32Array.from({ length: V }, (_, i) => (i * 7) % V);
      const { got } = await lookup(t, blocks, V, D, ids, 0, true, rng);
      const want = new Float32Array(V * D);
      ids.forEach((id, i) => want.set(values.subarray(id * D, (id + 1) * D), i * D));
      expect(bits(got)).toEqual(bits(want));
    });

    for (const last of [false, true]) {
      it(`${t}: one piece of a row-blocked table (${last ? 'the last' : 'not the last'}): its ids exact, ids before it untouched, ids past it ${last ? 'zero' : 'untouched'}`, async () => {
        const rng = new Rng(block + (last ? 1 : 0));
        const [rows, D, row0] = [7, block * 3, 5];
        const blocks = randomQuantBlocks(t, rows, D, rng);
        const values = dequantize(t, blocks).values;
        const ids = Uint32Array.from({ length: 23 }, () => rng.int(row0 + rows + 4));
        ids[0] = row0;
        ids[1] = row0 + rows - 1;
        ids[2] = row0 - 1;
        ids[3] = row0 + rows;
        const { got, before } = await lookup(t, blocks, rows, D, ids, row0, last, rng);
        const want = before.slice();
        ids.forEach((id, i) => {
          if (id >= row0 && id < row0 + rows)
            want.set(values.subarray((id - row0) * D, (id - row0 + 1) * D), i * D);
          else if (last && id >= row0 + rows) want.fill(0, i * D, (i + 1) * D);
        });
        expect(bits(got)).toEqual(bits(want));
      });
    }
  }
});
