/**
 * Writes the quantized end-to-end fixture: a model of SmolLM2-135M's shape (src/test/real-shapes.ts:
 * hidden 576, FFN 1536, 9 heads / 3 kv heads of 64, 49,152-token byte-level vocabulary, tied
 * embeddings) with seeded random weights, as a Q4_K_M GGUF made as llama-quantize makes it — through
 * this project's own `longlora export-gguf --dtype q4_k_m` on the random Hugging Face folder (no
 * adapter: the base alone), which is byte-identical to llama-quantize (src/io/gguf-export-q8.test.ts).
 * e2e/quantized.spec.ts runs it; the file is cached under fixtures/generated/e2e/, never committed.
 *
 *   npx tsx scripts/make-quant-e2e-fixture.ts [--layers N]   writes it (unless there), prints its path
 *
 * Width 576 is not a multiple of 256, so llama.cpp's Q4_K_M falls back for most matrices: Q5_0 for
 * q/k/o, gate and up, Q8_0 for attn_v and the embedding (the tied output), and only ffn_down
 * (1,536 wide) gets K-quants, Q4_K or Q6_K by llama.cpp's use_more_bits.
 */
import { existsSync } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { exportGguf } from '../src/cli/commands-export.ts';
import { writeRealModel } from './make-fixtures.ts';

const dir = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'generated', 'e2e');

/** The file's name says what it is: the shape it borrows, how many of the 30 layers, the type. */
export function quantFixturePath(layers: number): string {
  return join(dir, `SmolLM2-135M-shape-${layers}of30-Q4_K_M.gguf`);
}

/**
 * The Q4_K_M GGUF of a random SmolLM2-135M-shaped model with its first `layers` layers; written
 * once (to a temporary name, then renamed, so an interrupted run leaves no half file) and reused.
 */
export async function makeQuantFixture(layers: number): Promise<string> {
  const out = quantFixturePath(layers);
  if (existsSync(out)) return out;
  // The folder's name becomes the GGUF's general.name.
  const hf = join(dir, `SmolLM2-135M-shape-${layers}of30`);
  await rm(hf, { recursive: true, force: true });
  await writeRealModel(hf, 'smollm2-135m', { width: 'full', layers, seed: 0 });
  const part = out.replace(/\.gguf$/, '.part.gguf');
  await mkdir(dir, { recursive: true });
  await exportGguf(['--model', hf, '--dtype', 'q4_k_m', '--out', part]);
  await rename(part, out);
  await rm(hf, { recursive: true, force: true });
  return out;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({
    options: { layers: { type: 'string', default: '30' } },
  });
  const layers = Number(values.layers);
  if (!(Number.isInteger(layers) && layers >= 1 && layers <= 30))
    throw new Error(`--layers must be a whole number from 1 to 30 (got "${values.layers}")`);
  const t0 = performance.now();
  const path = await makeQuantFixture(layers);
  const s = (performance.now() - t0) / 1000;
  process.stderr.write(`${path}: ${(await stat(path)).size} bytes, ${s.toFixed(1)} s\n`);
  process.stdout.write(`${path}\n`);
}
