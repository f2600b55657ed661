import { describe, expect, it } from 'vitest';
import { embeddingBackward, embeddingForward, groupPositionsById } from './embedding.ts';
import { decodeHalves, encodeHalves } from '../../util/half.ts';
import type { DType } from '../runtime.ts';
import * as ref from '../../reference/embedding.ts';
import { testRuntime } from '../../test/gpu.ts';
import { expectClose } from '../../test/numeric.ts';
import { Rng } from '../../util/rng.ts';

/** A [V, D] table of the given dtype and the f32 values it really holds (16-bit decoded). */
function table(
  values: Float32Array,
  dtype: DType,
): { data: ArrayBufferView; values: Float32Array } {
  if (dtype === 'bf16' || dtype === 'f16') {
    const h = encodeHalves(values, dtype);
    return { data: h, values: decodeHalves(h, dtype) };
  }
  return { data: values, values };
}

describe('embedding forward', () => {
  for (const dtype of ['f32', 'bf16', 'f16'] as const) {
    for (const [V, T, D] of [
      [37, 23, 19],
      [5, 3, 1],
    ] as const) {
      it(`gathers rows of a ${dtype} table at V=${V}, T=${T}, D=${D}`, async () => {
        const rt = await testRuntime();
        const rng = new Rng(V + T + D);
        const tab = table(rng.floats(V * D), dtype);
        const ids = Uint32Array.from({ length: T }, () => rng.int(V));
        ids[T - 1] = V + 3; // out of range: a zero row
        const tids = rt.tensor([T], 'u32', 'activations', 'ids', ids);
        const ttab = rt.tensor([V, D], dtype, 'weights', 'table', tab.data);
        const tout = rt.tensor([T, D], 'f32', 'activations', 'out', rng.floats(T * D));
        embeddingForward(rt, tids, ttab, tout, T, D);
        expectClose('out', await rt.read(tout), ref.embeddingForward(ids, tab.values, T, D), 0, 0);
        for (const t of [tids, ttab, tout]) t.destroy();
        expect(rt.liveTensors).toBe(0);
      });
    }
  }
});

describe('embedding backward', () => {
  it('groups positions by id in position order', () => {
    const { order, segs } = groupPositionsById(Uint32Array.of(4, 1, 4, 0, 4));
    expect([...order]).toEqual([3, 1, 0, 2, 4]);
    expect([...segs]).toEqual([0, 0, 1, 1, 1, 2, 4, 2, 5]);
  });

  it('accumulates repeated ids, skips out-of-range ids and gives the same bits every run', async () => {
    const rt = await testRuntime();
    const [V, T, D] = [29, 67, 83];
    const rng = new Rng(99);
    // Few distinct ids so rows repeat many times; two ids beyond the table.
    const ids = Uint32Array.from({ length: T }, () => rng.int(8) * 3);
    ids[5] = V;
    ids[40] = V + 100;
    const dOut = rng.floats(T * D, -3, 3);
    const d0 = rng.floats(V * D);
    const tdOut = rt.tensor([T, D], 'f32', 'activations', 'dOut', dOut);
    const bits: Uint32Array[] = [];
    for (let run = 0; run < 2; run++) {
      const tdT = rt.tensor([V, D], 'f32', 'gradients', 'dTable', d0);
      embeddingBackward(rt, ids, tdOut, tdT, T, D);
      const got = await rt.read(tdT);
      const want = ref.embeddingBackward(ids, dOut, V, T, D).map((v, i) => v + d0[i]!);
      expectClose('dTable', got, want, 1e-4);
      bits.push(new Uint32Array(got.buffer.slice(0)));
      tdT.destroy();
    }
    expect(bits[1]).toEqual(bits[0]);
    tdOut.destroy();
    expect(rt.liveTensors).toBe(0);
    expect(rt.memory.snapshot().current.workspace).toBe(0);
  });
});
