/**
 * A quantized GGUF as a person brings one: a Q4_K_M file dropped on the page loads with its stored
 * types named, plans its base weights on the GPU in those types, trains a step on the demo text, and
 * exports a PEFT adapter and a merged Q4_K_M GGUF.
 *
 * The model is not SmolLM2-135M: it has SmolLM2-135M's widths (hidden 576, FFN 1,536), heads (9, 3
 * kv, of 64), 49,152-token vocabulary and tied embeddings, 4 of its 30 layers (llama.cpp's Q4_K_M
 * rule still gives layers 0-1 Q4_K and 2-3 Q6_K for ffn_down), and seeded random weights
 * (QUANT_E2E_LAYERS=30 runs all 30 layers: about 2 minutes on a 2-core machine). scripts/make-quant-e2e-fixture.ts makes it at test time — `longlora export-gguf --dtype
 * q4_k_m` on a random Hugging Face folder, byte for byte what llama-quantize makes — and caches it
 * under fixtures/generated/e2e/. Width 576 is not a multiple of 256, so llama.cpp's Q4_K_M stores
 * most matrices as Q5_0 and Q8_0; only ffn_down (1,536 wide) gets K-quants, Q4_K or Q6_K by layer.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { expect, test } from '@playwright/test';
import { unzipSync } from 'fflate';
import { readGguf } from '../src/io/gguf.ts';
import { bytesSource } from '../src/io/source.ts';
import { openStudio, outside, safetensorsHeader, stepNow, watch } from './helpers.ts';

const LAYERS = Number(process.env.QUANT_E2E_LAYERS ?? 4);
const NAME = `SmolLM2-135M-shape-${LAYERS}of30`;
const HIDDEN = 576;
const KV_DIM = 3 * 64;
const CONTEXT = 64;
const QUANT_TYPES = ['Q8_0', 'Q5_0', 'Q4_K', 'Q6_K'];

/** Tensors of a GGUF by ggml type: { Q5_0: 42, … }. */
async function typeCounts(bytes: Uint8Array): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const t of (await readGguf(bytesSource('x.gguf', bytes))).tensors)
    counts[t.typeName] = (counts[t.typeName] ?? 0) + 1;
  return counts;
}

let gguf = '';

test.beforeAll(() => {
  test.setTimeout(120_000);
  const t0 = Date.now();
  gguf = execFileSync(
    process.execPath,
    ['--import', 'tsx', 'scripts/make-quant-e2e-fixture.ts', '--layers', String(LAYERS)],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
  ).trim();
  console.log(`fixture: ${gguf} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
});

test(`a Q4_K_M GGUF of SmolLM2-135M's shape (${LAYERS} of 30 layers) loads, plans, trains a step and exports`, async ({
  page,
  baseURL,
}) => {
  test.setTimeout(240_000);
  const seen = watch(page);
  const t0 = Date.now();
  const lap = (what: string) => console.log(`${((Date.now() - t0) / 1000).toFixed(1)} s: ${what}`);
  await openStudio(page);

  // Given as a path: the browser reads the file from disk, as it does a person's drop.
  await page.getByLabel('Model files').setInputFiles(gguf);
  const summary = page.getByLabel('Model summary');
  await expect(summary).toContainText(NAME);
  await expect(summary).toContainText(
    `${LAYERS} layers · hidden ${HIDDEN} · 9 heads (3 kv) · FFN 1536 · tied embeddings`,
  );
  await expect(summary).toContainText('49,152');
  const stored = page.getByLabel('Stored types');
  for (const type of [...QUANT_TYPES, 'F32'])
    await expect(stored).toContainText(new RegExp(`\\b${type} [\\d.]+ (KiB|MiB)`));
  await expect(stored).toContainText('(kept in these blocks on the GPU)');
  lap(`loaded; stored as ${await stored.textContent()}`);

  const field = (name: string) => page.getByRole('spinbutton', { name, exact: true });
  await field('Target context').fill(String(CONTEXT));
  await field('Steps').fill('1');
  await field('Warmup').fill('0');
  await field('Gradient accumulation').fill('1');
  await field('Evaluate every').fill('0');
  await field('Checkpoint every').fill('0');
  // The tied embedding stays frozen, so the vocabulary matrix trains through its Q8_0 blocks too
  // (a trained embedding goes to the GPU as f32).
  await page.getByRole('checkbox', { name: 'Embeddings' }).uncheck();
  // The text is cut into blocks of the context: set the context first.
  await page.getByLabel('Training data').setInputFiles({
    name: 'story.txt',
    mimeType: 'text/plain',
    buffer: readFileSync('public/demo/tinystories-197k.txt').subarray(0, 20_000),
  });
  await expect(page.getByLabel('Data summary')).toContainText('story.txt');
  await expect(page.getByLabel('Data summary')).toContainText(`× ${CONTEXT} tokens`);

  // The plan counts the frozen matrices in the blocks the file stores them in, and nothing as f32.
  const byType = page.getByLabel('Base weights by type');
  for (const type of QUANT_TYPES) await expect(byType).toContainText(new RegExp(`\\b${type} `));
  await expect(byType).not.toContainText(/\b(F32|F16|BF16)\b/);
  lap(`planned; ${await byType.textContent()}`);

  const run = page.getByRole('region', { name: 'Run' });
  await run.getByRole('button', { name: 'Start training' }).click();
  await expect(page.getByRole('progressbar', { name: 'Weights upload' })).toHaveAttribute(
    'aria-valuenow',
    '100',
  );
  lap('uploaded');
  await expect(run).toContainText('Finished all 1 steps.', { timeout: 180_000 });
  expect(await stepNow(page)).toBe(1);
  const stat = (name: string) => run.locator('.stat').filter({ hasText: name }).locator('.v');
  const loss = Number(await stat('Loss (smoothed)').textContent());
  // Random weights predict about uniformly: near ln(49152) ≈ 10.8.
  expect(loss, 'a finite loss').toBeGreaterThan(5);
  expect(loss).toBeLessThan(20);
  lap(`trained a step (the step ${await stat('Elapsed').textContent()}), loss ${loss}`);

  // The adapter: a PEFT zip with the LoRA pairs at the model's shape.
  const panel = page.getByRole('region', { name: 'Export' });
  const zipP = page.waitForEvent('download');
  await panel.getByRole('button', { name: 'Export adapter' }).click();
  const zip = await zipP;
  expect(zip.suggestedFilename()).toBe(`${NAME}-Q4_K_M-longlora-${CONTEXT}.zip`);
  const files = unzipSync(new Uint8Array(readFileSync(await zip.path())));
  expect(Object.keys(files)).toEqual(
    expect.arrayContaining(['adapter_config.json', 'adapter_model.safetensors']),
  );
  const cfg = JSON.parse(new TextDecoder().decode(files['adapter_config.json']));
  expect(cfg).toMatchObject({ peft_type: 'LORA', task_type: 'CAUSAL_LM', r: 8 });
  expect([...cfg.modules_to_save].sort()).toEqual(['norm']);
  const adapter = safetensorsHeader(files['adapter_model.safetensors']!);
  const at = `base_model.model.model.layers.${LAYERS - 1}.self_attn`;
  expect(adapter[`${at}.q_proj.lora_A.weight`]).toEqual({ dtype: 'F32', shape: [8, HIDDEN] });
  expect(adapter[`${at}.k_proj.lora_B.weight`]).toEqual({ dtype: 'F32', shape: [KV_DIM, 8] });
  lap('exported the adapter');

  // The merged model as Q4_K_M again (the quantized base dequantized, merged, requantized): the same
  // tensors in the same types as the file dropped.
  await page.evaluate(() => {
    Object.defineProperty(window, 'showSaveFilePicker', { value: undefined });
  });
  await panel.getByRole('combobox', { name: 'Weights' }).selectOption('q4_k_m');
  const ggufP = page.waitForEvent('download');
  await panel.getByRole('button', { name: 'Export GGUF' }).click();
  const merged = new Uint8Array(readFileSync(await (await ggufP).path()));
  expect(new TextDecoder().decode(merged.subarray(0, 4))).toBe('GGUF');
  expect(await typeCounts(merged)).toEqual(await typeCounts(new Uint8Array(readFileSync(gguf))));
  lap(`exported the merged GGUF, ${merged.byteLength} bytes`);

  expect(seen.errors, 'console errors').toEqual([]);
  expect(outside(seen.requests, baseURL!), 'requests leaving the origin').toEqual([]);
});
