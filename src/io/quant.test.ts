import { describe, expect, it } from 'vitest';
import { firstDifference } from '../test/assets-node.ts';
import {
  dequantizedDemoGguf,
  quantBlocksFixture,
  quantizedDemoGguf,
  quantizedDemoManifest,
} from '../test/quant-fixtures.ts';
import { FormatError, UnsupportedModelError } from './errors.ts';
import { GGML_TYPES, readGguf, readGgufTensorBytes, readGgufTensorRange } from './gguf.ts';
import { writeGguf } from './gguf-writer.ts';
import { openModel, storedTypes } from './model.ts';
import { dequantize, QUANT_FORMATS, QUANT_TYPE_IDS, QUANT_TYPES, type QuantType } from './quant.ts';
import { bytesSource } from './source.ts';

const asF32 = (b: Uint8Array) => new Float32Array(b.slice().buffer);

describe('dequantizers (fixtures/quant/, gguf-py reference values)', () => {
  it('agree with the block sizes of the GGUF type table', () => {
    for (const t of QUANT_TYPES) {
      const g = GGML_TYPES[QUANT_TYPE_IDS[t]]!;
      expect([g.name, g.block, g.bytes]).toEqual([
        t,
        QUANT_FORMATS[t].block,
        QUANT_FORMATS[t].bytes,
      ]);
    }
    expect(QUANT_TYPES.map((t) => QUANT_FORMATS[t].bytes)).toEqual([
      18, 20, 22, 24, 34, 144, 176, 210,
    ]);
  });

  for (const type of QUANT_TYPES) {
    it(`${type}: every value equals gguf-py's dequantize bit for bit`, () => {
      const { blocks, values } = quantBlocksFixture(type);
      expect(blocks.length % QUANT_FORMATS[type].bytes).toBe(0);
      const got = dequantize(type, blocks);
      expect(got.badBlock).toBe(-1);
      expect(got.values.length).toBe(values.length);
      const i = firstDifference(got.values, values);
      expect(i, i < 0 ? '' : `value ${i}: ${got.values[i]} vs gguf-py ${values[i]}`).toBe(-1);
      // Not all zeros or all one value: the fixture exercises the layout.
      expect(new Set(values).size).toBeGreaterThan(values.length / 8);
    });
  }

  it('reports the first block whose scale is infinite or NaN', () => {
    for (const type of QUANT_TYPES) {
      const { blocks } = quantBlocksFixture(type);
      const f = QUANT_FORMATS[type];
      const bad = blocks.slice();
      const at = 3 * f.bytes + (type === 'Q6_K' ? 208 : 0);
      bad[at] = 0x00;
      bad[at + 1] = 0x7c; // +infinity
      expect(dequantize(type, bad).badBlock, type).toBe(3);
      bad[at] = 0x01; // NaN
      expect(dequantize(type, bad).badBlock, type).toBe(3);
      if (type === 'Q4_1' || type === 'Q5_1' || type.endsWith('_K')) {
        if (type === 'Q6_K') continue;
        const m = blocks.slice();
        m[f.bytes + 3] = 0xfc; // min / dmin = −infinity
        m[f.bytes + 2] = 0x00;
        expect(dequantize(type, m).badBlock, `${type} min`).toBe(1);
      }
    }
  });
});

/** A GGUF holding one tensor of each supported quantized type (the fixture blocks, rows of one block). */
function quantGguf(
  edit?: (t: { name: string; dims: number[]; type: number; data: Uint8Array }) => void,
): Uint8Array {
  const tensors = QUANT_TYPES.map((type) => {
    const { blocks } = quantBlocksFixture(type);
    const f = QUANT_FORMATS[type];
    const t = {
      name: `t.${type.toLowerCase()}`,
      dims: [f.block, blocks.length / f.bytes],
      type: QUANT_TYPE_IDS[type],
      data: blocks,
    };
    edit?.(t);
    return t;
  });
  return writeGguf([{ key: 'general.architecture', type: 'string', value: 'llama' }], tensors);
}

function findBytes(hay: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

async function tensorError(bytes: Uint8Array, name: string, range?: [number, number]) {
  const src = bytesSource('q.gguf', bytes);
  const g = await readGguf(src);
  const info = g.tensors.find((t) => t.name === name)!;
  return (range ? readGgufTensorRange(src, info, ...range) : readGgufTensorBytes(src, info)).catch(
    (e: unknown) => e,
  );
}

describe('GGUF reader: quantized tensors', () => {
  it('reads every supported type dequantized to f32, whole and by ranges', async () => {
    const src = bytesSource('q.gguf', quantGguf());
    const g = await readGguf(src);
    for (const type of QUANT_TYPES) {
      const info = g.tensors.find((t) => t.name === `t.${type.toLowerCase()}`)!;
      const { blocks, values } = quantBlocksFixture(type);
      expect(info.byteLength).toBe(blocks.length);
      const whole = asF32(await readGgufTensorBytes(src, info));
      expect(firstDifference(whole, values), type).toBe(-1);
      // Ranges that start and end inside blocks.
      for (const [first, count] of [
        [0, 1],
        [5, 70],
        [values.length - 3, 3],
        [31, 258],
      ] as const) {
        const part = asF32(await readGgufTensorRange(src, info, first * 4, count * 4));
        expect(firstDifference(part, values.subarray(first, first + count)), type).toBe(-1);
      }
    }
  });

  it('refuses other ggml types naming the tensor, its type and the supported list', async () => {
    for (const [id, name] of [
      [10, 'Q2_K'],
      [11, 'Q3_K'],
      [16, 'IQ2_XXS'],
      [23, 'IQ4_XS'],
      [35, 'TQ2_0'],
      [39, 'type 39'],
    ] as const) {
      const err = await tensorError(
        quantGguf((t) => {
          if (t.name !== 't.q6_k') return;
          t.type = id;
          const g = GGML_TYPES[id];
          if (g) t.data = new Uint8Array(((t.dims[0]! * t.dims[1]!) / g.block) * g.bytes);
        }),
        't.q6_k',
      );
      expect(err, name).toBeInstanceOf(UnsupportedModelError);
      expect((err as UnsupportedModelError).kind).toBe('unsupported-model');
      expect(String(err)).toContain(
        `tensor "t.q6_k" has ggml type ${name}, which this reader does not support (supported: F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q5_K, Q6_K)`,
      );
    }
  });

  it('refuses rows that are not whole blocks, truncated blocks and non-finite scales', async () => {
    const rows = quantGguf((t) => {
      if (t.name === 't.q4_k') {
        t.dims = [128, 2 * t.dims[1]!]; // the same bytes as rows of half a block
      }
    });
    await expect(readGguf(bytesSource('q.gguf', rows))).rejects.toThrow(
      /tensor "t\.q4_k" \(Q4_K\) has rows of 128 values, not a whole number of 256-value blocks/,
    );
    // The last tensor's blocks cut short: the file ends inside them.
    const whole = quantGguf();
    await expect(
      readGguf(bytesSource('q.gguf', whole.slice(0, whole.length - 40))),
    ).rejects.toThrow(/file is truncated: tensor "t\.q6_k" ends at/);
    // A shape claiming more blocks than the data holds (the header's dims[1] of t.q8_0 := 40).
    const more = quantGguf();
    const at = findBytes(more, new TextEncoder().encode('t.q8_0')) + 6 + 4 + 8;
    new DataView(more.buffer).setBigUint64(at, 40n, true);
    await expect(readGguf(bytesSource('q.gguf', more))).rejects.toThrow(
      /tensor "t\.q4_k" \(at \d+\) overlaps tensor "t\.q8_0"/,
    );
    for (const type of ['Q8_0', 'Q5_1', 'Q4_K', 'Q6_K'] as QuantType[]) {
      const name = `t.${type.toLowerCase()}`;
      const bytes = quantGguf((t) => {
        if (t.name !== name) return;
        t.data = t.data.slice();
        const at = 2 * QUANT_FORMATS[type].bytes + (type === 'Q6_K' ? 208 : 0);
        t.data[at] = 0x00;
        t.data[at + 1] = 0xfc; // −infinity
      });
      const err = await tensorError(bytes, name);
      expect(err, type).toBeInstanceOf(FormatError);
      expect(String(err)).toContain(
        `tensor "${name}" (${type}) has a non-finite scale (infinity or NaN) in block 2`,
      );
      // A range that does not touch block 2 reads; one that does is refused.
      const f = QUANT_FORMATS[type];
      expect((await tensorError(bytes, name, [0, 4 * f.block])) instanceof Uint8Array).toBe(true);
      expect(String(await tensorError(bytes, name, [8 * f.block, 4]))).toContain('non-finite');
    }
  });
});

describe('openModel: the demo model quantized by gguf-py (legacy types)', () => {
  it('opens, reports the stored types and bytes, and reads the gguf-py values in HF order', async () => {
    const bytes = await quantizedDemoGguf();
    const quant = await openModel([bytesSource('stories260K-q.gguf', bytes)]);
    const manifest = quantizedDemoManifest();
    expect(manifest.tensors.length).toBe(32);
    expect(new Set(manifest.tensors.map((t) => t.type))).toEqual(
      new Set(['Q8_0', 'Q4_0', 'Q4_1', 'Q5_0', 'Q5_1']),
    );
    // The same model as an F32 GGUF of the dequantized values opens to the same tensors.
    const plain = await openModel([
      bytesSource('stories260K-f32.gguf', await dequantizedDemoGguf()),
    ]);
    expect(quant.dtypes).toEqual(['F32']);
    expect(quant.tensors.map((t) => [t.name, t.shape, t.dtype, t.byteLength])).toEqual(
      plain.tensors.map((t) => [t.name, t.shape, t.dtype, t.byteLength]),
    );
    for (let i = 0; i < quant.tensors.length; i++) {
      const [q, p] = [quant.tensors[i]!, plain.tensors[i]!];
      expect(firstDifference(asF32(await q.read()), asF32(await p.read())), q.name).toBe(-1);
      const rowBytes = (q.shape[1] ?? 1) * 4;
      if (q.shape[0]! > 3)
        expect(await q.readRange(rowBytes, 2 * rowBytes), q.name).toEqual(
          await p.readRange(rowBytes, 2 * rowBytes),
        );
    }
    // What the file stores: the quantized types' bytes, and ffn_down and the norms as F32.
    const stored = storedTypes(quant.tensors);
    const total = (type: string) =>
      manifest.tensors.filter((t) => t.type === type).reduce((n, t) => n + t.bytes, 0);
    for (const type of ['Q8_0', 'Q4_0', 'Q4_1', 'Q5_0', 'Q5_1'])
      expect(stored.find((s) => s.type === type)?.bytes, type).toBe(total(type));
    expect(stored.find((s) => s.type === 'F32')?.bytes).toBe(5 * (172 * 64 + 2 * 64) * 4 + 64 * 4);
    expect(storedTypes(plain.tensors)).toEqual([
      { type: 'F32', bytes: plain.tensors.reduce((n, t) => n + t.byteLength, 0) },
    ]);
  });
});
