import { readFileSync } from 'node:fs';
import { expect, test } from '@playwright/test';
import { unzipSync } from 'fflate';
import { getLlama, LlamaLogLevel } from 'node-llama-cpp';
import { openStudio, outside, stepNow, watch } from './helpers.ts';

test('Export GGUF streams the trained demo as a GGUF llama.cpp loads; a LoRA+ run refuses the adapter GGUF', async ({
  page,
  baseURL,
}) => {
  test.setTimeout(300_000);
  const seen = watch(page);
  await openStudio(page);
  await page.getByRole('button', { name: 'Use demo model' }).click();
  await expect(page.getByLabel('Data summary')).toContainText('tinystories-197k.txt');
  await page.getByRole('spinbutton', { name: 'Target context' }).fill('64');
  await page.getByRole('spinbutton', { name: 'Steps' }).fill('2');
  await page.getByRole('spinbutton', { name: 'Warmup' }).fill('1');
  await page.getByRole('button', { name: 'Start training' }).click();
  await expect(page.getByText(/Finished all \d+ steps\. Export the adapter/)).toBeVisible({
    timeout: 120_000,
  });
  expect(await stepNow(page)).toBe(2);

  // Without the File System Access API (headless Chromium cannot answer its picker) the file is
  // collected as Blob parts and downloaded.
  await page.evaluate(() => {
    // The method lives on Window.prototype; an own property shadows it.
    Object.defineProperty(window, 'showSaveFilePicker', { value: undefined });
  });
  const panel = page.getByRole('region', { name: 'Export' });
  await panel.getByRole('combobox', { name: 'Weights' }).selectOption('f32');
  const downloadP = page.waitForEvent('download');
  await panel.getByRole('button', { name: 'Export GGUF' }).click();
  const download = await downloadP;
  expect(download.suggestedFilename()).toBe('stories260K-demo-longlora-64-f32.gguf');
  await expect(panel.getByRole('progressbar', { name: 'GGUF export' })).toHaveAttribute(
    'aria-valuenow',
    '100',
  );
  await expect(panel).toContainText('Saved stories260K-demo-longlora-64-f32.gguf');
  const path = await download.path();
  expect(readFileSync(path).subarray(0, 4).toString('latin1')).toBe('GGUF');

  // llama.cpp's own loader reads it: llama metadata, the demo's shapes, its tokenizer.
  const llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error });
  try {
    const model = await llama.loadModel({ modelPath: path });
    const md = model.fileInfo.metadata as unknown as Record<string, Record<string, unknown>>;
    expect(md.general!.architecture).toBe('llama');
    expect(md.llama!.context_length).toBe(512); // trained at 64, below the native 512
    expect(md.llama!.block_count).toBe(5);
    expect(model.tokenize('Once upon a time', false).length).toBe(4);
    const ctx = await model.createContext({ contextSize: 64, threads: 1 });
    const seq = ctx.getSequence();
    const out: number[] = [];
    for await (const t of seq.evaluate(
      [model.tokens.bos!, ...model.tokenize('Once upon a time', false)],
      { temperature: 0 },
    )) {
      out.push(t);
      if (out.length >= 4) break;
    }
    expect(out.length).toBe(4);
    await model.dispose();
  } finally {
    await llama.dispose();
  }

  // The run trained embeddings and norms: the adapter GGUF is refused with the reason and the way out.
  await panel.getByRole('combobox', { name: 'File' }).selectOption('lora');
  await panel.getByRole('button', { name: 'Export GGUF' }).click();
  await expect(panel.getByRole('alert')).toContainText(
    /a llama\.cpp LoRA adapter can only carry LoRA pairs.*Export the merged GGUF instead/,
  );

  // The adapter zip carries cluster/: the run's token ids and run.sh with its settings.
  const zipP = page.waitForEvent('download');
  await panel.getByRole('button', { name: 'Export adapter' }).click();
  const files = unzipSync(new Uint8Array(readFileSync(await (await zipP).path())));
  expect(
    Object.keys(files)
      .filter((k) => k.startsWith('cluster/'))
      .sort(),
  ).toEqual([
    'cluster/README.md',
    'cluster/run.sh',
    'cluster/train_tokens.bin',
    'cluster/use_local_tokens.py',
  ]);
  const runSh = new TextDecoder().decode(files['cluster/run.sh']);
  expect(runSh).toMatch(/torchrun --nproc_per_node="\$NPROC" fine-tune-local\.py/);
  expect(runSh).toMatch(/--model_max_length 64 /);
  expect(runSh).toMatch(/--max_steps 2 /);
  expect(runSh).toMatch(/--trainable_params embed,norm /);
  const tokens = files['cluster/train_tokens.bin']!;
  expect(tokens.byteLength % (64 * 4)).toBe(0);
  expect(tokens.byteLength).toBeGreaterThan(0);

  expect(seen.errors, 'console errors').toEqual([]);
  expect(outside(seen.requests, baseURL!), 'requests leaving the origin').toEqual([]);
});
