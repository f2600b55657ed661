/**
 * GGUFs as users have them: made by llama.cpp's own llama-quantize (scripts/make-llama-quantize-inputs.sh)
 * in Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K_M, Q5_K_M and Q6_K. Each opens as a model, and every
 * quantized tensor reads as exactly the values gguf-py's reference dequantizer gives (SHA-256 of
 * the f32 values, fixtures/quant/llama-quantize/values.json).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ggufTensorType, readGguf, readGgufDequantized } from './gguf.ts';
import { openModel, storedTypes } from './model.ts';
import { QUANT_TYPES, type QuantType } from './quant.ts';
import { bytesSource } from './source.ts';

const dir = new URL('../../fixtures/quant/llama-quantize/', import.meta.url);
const VALUES = JSON.parse(readFileSync(new URL('values.json', dir), 'utf8')) as Record<
  string,
  Record<string, [string, string]>
>;

describe('GGUFs made by llama-quantize', () => {
  it('cover every type the reader takes', () => {
    const seen = new Set(Object.values(VALUES).flatMap((f) => Object.values(f).map(([t]) => t)));
    for (const t of QUANT_TYPES) expect(seen, t).toContain(t);
  });

  it.each(Object.keys(VALUES))(
    '%s: opens, and every quantized tensor is gguf-py’s values',
    async (file) => {
      const bytes = new Uint8Array(readFileSync(new URL(file, dir)));
      const src = bytesSource(file, bytes);
      const g = await readGguf(src);
      const want = VALUES[file]!;
      expect(g.tensors.map((t) => [t.name, t.typeName])).toEqual(
        Object.entries(want)
          .map(([name, [type]]) => [name, type])
          .sort(
            (a, b) =>
              g.tensors.findIndex((t) => t.name === a[0]) -
              g.tensors.findIndex((t) => t.name === b[0]),
          ),
      );
      for (const t of g.tensors) {
        const type = ggufTensorType(file, t);
        if (!(QUANT_TYPES as readonly string[]).includes(type)) continue;
        const n = t.dims.reduce((a, b) => a * b, 1);
        const values = await readGgufDequantized(src, t, type as QuantType, 0, n);
        const sha = createHash('sha256').update(new Uint8Array(values.buffer)).digest('hex');
        expect(sha, `${file} ${t.name}`).toBe(want[t.name]![1]);
      }
      const m = await openModel([bytesSource(file, bytes)]);
      expect(m.tensors.length).toBe(g.tensors.length);
      expect(
        storedTypes(m.tensors)
          .map((s) => s.type)
          .sort(),
      ).toEqual([...new Set(g.tensors.map((t) => t.typeName))].sort());
    },
  );
});
