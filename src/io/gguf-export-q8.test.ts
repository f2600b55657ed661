/**
 * `longlora export-gguf --dtype q8_0` writes the file llama.cpp's own `llama-quantize … Q8_0` makes
 * from this project's f32 export: the same bytes (fixture made by scripts/make-q8-export-fixture.sh
 * with the real tool), so the tensor types (Q8_0 where rows are whole blocks, F16 for the demo's
 * 172-wide ffn_down, F32 norms), the blocks and the metadata's order all match.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { main } from '../cli/main.ts';
import { DEMO_DIR } from '../test/assets-node.ts';
import { readGguf } from './gguf.ts';
import { bytesSource } from './source.ts';

const FIXTURE = new URL(
  '../../fixtures/quant/stories260K-llama-quantize-q8_0.gguf',
  import.meta.url,
);

describe('export-gguf --dtype q8_0', () => {
  it('writes the bytes llama-quantize writes from the f32 export', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'q8-export-')), 'demo-q8_0.gguf');
    vi.spyOn(console, 'log').mockImplementation(() => undefined);
    vi.spyOn(console, 'error').mockImplementation(() => undefined);
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      expect(
        await main(['export-gguf', '--model', DEMO_DIR, '--out', out, '--dtype', 'q8_0']),
      ).toBe(0);
    } finally {
      vi.restoreAllMocks();
    }
    const ours = new Uint8Array(readFileSync(out));
    const theirs = new Uint8Array(readFileSync(FIXTURE));
    // The types first (a readable failure), then every byte.
    const types = async (bytes: Uint8Array) =>
      (await readGguf(bytesSource('x.gguf', bytes))).tensors.map((t) => [t.name, t.typeName]);
    expect(await types(ours)).toEqual(await types(theirs));
    expect(ours.length).toBe(theirs.length);
    const first = ours.findIndex((b, i) => b !== theirs[i]);
    expect(first, `first differing byte at ${first}`).toBe(-1);
  });
});
