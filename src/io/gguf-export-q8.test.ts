/**
 * `longlora export-gguf --dtype q8_0|q4_k_m|q6_k` writes the file llama.cpp's own `llama-quantize` makes
 * from this project's f32 export, byte for byte (fixtures made with the real tool by
 * scripts/make-quantize-export-fixtures.sh): the tensor types (Q4_K_M's Q6_K output and use_more_bits
 * layers, the Q5_0 / Q8_0 / F16 fallbacks where rows are not whole blocks, F32 norms), the blocks
 * (llama.cpp's reference quantizers, io/quantize.ts) and the order of tensors and metadata.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { main } from '../cli/main.ts';
import { DEMO_DIR } from '../test/assets-node.ts';
import { wideHfFolder } from '../test/wide-model.ts';
import { readGguf } from './gguf.ts';
import { bytesSource } from './source.ts';

const fixture = (name: string) => new URL(`../../fixtures/quant/${name}`, import.meta.url);
const SHA256 = JSON.parse(readFileSync(fixture('llama-quantize-sha256.json'), 'utf8')) as Record<
  string,
  string
>;
const dir = mkdtempSync(join(tmpdir(), 'quant-export-'));

/** Runs export-gguf and returns the file's bytes. */
async function exported(model: string, dtype: string): Promise<Uint8Array> {
  const out = join(dir, `${dtype}-${Math.random().toString(36).slice(2)}.gguf`);
  vi.spyOn(console, 'log').mockImplementation(() => undefined);
  vi.spyOn(console, 'error').mockImplementation(() => undefined);
  vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    expect(await main(['export-gguf', '--model', model, '--out', out, '--dtype', dtype])).toBe(0);
  } finally {
    vi.restoreAllMocks();
  }
  return new Uint8Array(readFileSync(out));
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const types = async (bytes: Uint8Array) =>
  (await readGguf(bytesSource('x.gguf', bytes))).tensors.map((t) => `${t.name} ${t.typeName}`);

describe('export-gguf in llama-quantize’s types', () => {
  it('q8_0 of the demo: the bytes llama-quantize writes from the f32 export', async () => {
    const ours = await exported(DEMO_DIR, 'q8_0');
    const theirs = new Uint8Array(readFileSync(fixture('stories260K-llama-quantize-q8_0.gguf')));
    // The types first (a readable failure), then every byte.
    expect(await types(ours)).toEqual(await types(theirs));
    expect(ours.length).toBe(theirs.length);
    const first = ours.findIndex((b, i) => b !== theirs[i]);
    expect(first, `first differing byte at ${first}`).toBe(-1);
  });

  it('q4_k_m of the demo (its 64-wide rows fall back to Q5_0 and Q8_0, its 172-wide to F16)', async () => {
    const ours = await exported(DEMO_DIR, 'q4_k_m');
    const t = await types(ours);
    expect(t).toContain('blk.0.attn_q.weight Q5_0');
    expect(t).toContain('token_embd.weight Q8_0');
    expect(t).toContain('blk.0.ffn_down.weight F16');
    expect(sha256(ours)).toBe(SHA256['stories260K Q4_K_M']);
    expect(sha256(await exported(DEMO_DIR, 'q6_k'))).toBe(SHA256['stories260K Q6_K']);
  });

  it('q8_0 and q4_k_m of a model with whole 256-value rows: Q4_K, and Q6_K where llama.cpp puts it', async () => {
    const wide = join(dir, 'wide');
    mkdirSync(wide);
    for (const [name, bytes] of Object.entries(wideHfFolder()))
      writeFileSync(join(wide, name), bytes);
    const q4 = await exported(wide, 'q4_k_m');
    const t = await types(q4);
    expect(t).toContain('output.weight Q6_K');
    expect(t).toContain('blk.0.attn_q.weight Q4_K');
    // use_more_bits over 4 layers: layers 2 and 3 get Q6_K for attn_v and ffn_down.
    expect(t.filter((x) => x.endsWith('Q6_K')).sort()).toEqual(
      [
        'output.weight Q6_K',
        'blk.2.attn_v.weight Q6_K',
        'blk.3.attn_v.weight Q6_K',
        'blk.2.ffn_down.weight Q6_K',
        'blk.3.ffn_down.weight Q6_K',
      ].sort(),
    );
    expect(sha256(q4)).toBe(SHA256['wide Q4_K_M']);
    expect(sha256(await exported(wide, 'q8_0'))).toBe(SHA256['wide Q8_0']);
    expect(sha256(await exported(wide, 'q6_k'))).toBe(SHA256['wide Q6_K']);
  });
});
