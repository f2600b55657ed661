/** The studio's model summary of a quantized GGUF: its stored types and bytes, and the interim note. */
import { describe, expect, it } from 'vitest';
import { bytesSource } from '../io/source.ts';
import { assetSource } from '../test/assets-node.ts';
import { quantizedDemoGguf, quantizedDemoManifest } from '../test/quant-fixtures.ts';
import { modelSummary, openSession } from './session.ts';

describe('model summary of a quantized GGUF', () => {
  it('lists the stored types with their bytes and says they are dequantized', async () => {
    const bytes = await quantizedDemoGguf();
    const s = modelSummary(await openSession([bytesSource('stories260K-q.gguf', bytes)], () => {}));
    const manifest = quantizedDemoManifest().tensors;
    const f32 = 5 * (172 * 64 + 2 * 64) * 4 + 64 * 4; // ffn_down, the norms, output_norm
    const of = (type: string) =>
      manifest.filter((t) => t.type === type).reduce((n, t) => n + t.bytes, 0);
    expect(s.storedTypes).toEqual([
      { type: 'F32', bytes: f32 },
      { type: 'Q8_0', bytes: of('Q8_0') },
      { type: 'Q4_1', bytes: of('Q4_1') },
      { type: 'Q5_0', bytes: of('Q5_0') },
      { type: 'Q5_1', bytes: of('Q5_1') },
      { type: 'Q4_0', bytes: of('Q4_0') },
    ]);
    expect(s.weightBytes).toBe(f32 + manifest.reduce((n, t) => n + t.bytes, 0));
    expect(s.quantized).toBe(true);
    expect(s.dtypes).toEqual({ F32: 48 });
    // An unquantized file: its dtypes as stored.
    const demo = modelSummary(await openSession([assetSource('stories260K.gguf')], () => {}));
    expect(demo.storedTypes).toEqual([{ type: 'F32', bytes: demo.weightBytes }]);
    expect(demo.quantized).toBe(false);
  });
});
