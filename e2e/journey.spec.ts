import { readFileSync } from 'node:fs';
import { expect, test, type Page } from '@playwright/test';
import { unzipSync } from 'fflate';
import { openStudio, outside, safetensorsHeader, stepNow, watch } from './helpers.ts';

// stories260K (public/demo/config.json): 5 layers, hidden 64, 8 heads / 4 kv heads of 8.
const LAYERS = 5;
const HIDDEN = 64;
const KV_DIM = 4 * 8;
const VOCAB = 512;

/** Sets up a short demo run at a small context. */
async function setUpShortRun(page: Page, steps: number) {
  await page.getByRole('button', { name: 'Use demo model' }).click();
  await expect(page.getByLabel('Data summary')).toContainText('tinystories-197k.txt');
  await page.getByRole('spinbutton', { name: 'Target context' }).fill('64');
  await page.getByRole('spinbutton', { name: 'Steps' }).fill(String(steps));
  await page.getByRole('spinbutton', { name: 'Warmup' }).fill('1');
  await page.getByRole('spinbutton', { name: 'Evaluate every' }).fill('5');
  await page.getByRole('spinbutton', { name: 'Checkpoint every' }).fill('2');
  await expect(page.getByText('RoPE ×1 · group 16 tokens')).toBeVisible();
  await expect(page.getByLabel('Data summary')).toContainText('× 64 tokens');
}

async function chartPaths(page: Page, name: string): Promise<number> {
  return page
    .getByRole('figure', { name })
    .locator('path.recharts-curve, path.recharts-area-area')
    .evaluateAll((ps) => ps.filter((p) => (p.getAttribute('d') ?? '').length > 10).length);
}

test('train the demo, reload mid-run, resume, survive a device loss, and export a PEFT adapter', async ({
  page,
  baseURL,
}) => {
  test.setTimeout(300_000);
  const seen = watch(page);
  // Long enough that the run is still going when the page reloads and when the device is lost.
  const steps = 120;
  await openStudio(page);
  await setUpShortRun(page, steps);
  await page.getByRole('button', { name: 'Start training' }).click();
  // The weights' upload shows its bytes until the first step lands.
  const upload = page.getByRole('progressbar', { name: 'Weights upload' });
  await expect(upload).toHaveAttribute('aria-valuenow', '100');
  await expect(page.getByRole('region', { name: 'Run' })).toContainText(/Done .*\d KiB \/ \d+ KiB/);

  // Steps arrive: the progress bar advances and the charts fill.
  await expect.poll(() => stepNow(page), { timeout: 120_000 }).toBeGreaterThanOrEqual(3);
  await expect(upload).toHaveCount(0);
  expect(await chartPaths(page, 'Loss chart')).toBeGreaterThanOrEqual(2);
  expect(await chartPaths(page, 'Memory chart')).toBeGreaterThanOrEqual(1);
  await expect(page.getByRole('figure', { name: 'Loss chart' })).toContainText('eval PPL');
  await page.screenshot({ path: 'e2e/screenshots/training-1280.png' });
  await page.getByRole('region', { name: 'Charts' }).screenshot({
    path: 'e2e/screenshots/charts-1280.png',
  });
  const chartCost = await page.evaluate(() =>
    performance
      .getEntriesByName('chart-update')
      .map((e) => ({ ms: e.duration, points: (e as PerformanceMeasure).detail.points as number })),
  );
  expect(chartCost.length).toBeGreaterThan(0);
  console.log(`chart updates: ${JSON.stringify(chartCost)}`);

  // A checkpoint is in IndexedDB; reload while the run goes on.
  const list = page.getByRole('list', { name: 'Checkpoints' });
  await expect(list).toContainText(/step [2468]/);
  await page.reload();
  await expect(page.getByRole('status', { name: 'GPU status' })).toContainText(
    'GPU self-test passed',
  );
  const offer = page.getByText(/A run of stories260K \(demo\) stopped at step (\d+)/);
  await expect(offer).toBeVisible();
  const saved = Number(/step (\d+)/.exec((await offer.textContent()) ?? '')![1]);
  expect(saved).toBeGreaterThanOrEqual(2);
  await page.getByRole('button', { name: 'Resume latest run' }).click();
  // The history comes back first, then the step count continues past the checkpoint.
  await expect.poll(() => stepNow(page), { timeout: 60_000 }).toBeGreaterThanOrEqual(saved);
  await expect.poll(() => stepNow(page), { timeout: 120_000 }).toBeGreaterThan(saved);
  await expect(page.getByRole('spinbutton', { name: 'Target context' })).toHaveValue('64');

  // The device is lost mid-run: the page says so, and the run resumes from the last checkpoint.
  const worker = page.workers()[0]!;
  await worker.evaluate(() =>
    (self as unknown as { __loseDevice: () => Promise<void> }).__loseDevice(),
  );
  const lost = page.getByRole('alert').filter({ hasText: 'The GPU device was lost' });
  await expect(lost).toBeVisible({ timeout: 60_000 });
  await page.getByRole('button', { name: 'Resume latest run' }).click();
  await expect(lost).toBeHidden();
  await expect(page.getByRole('region', { name: 'Run' })).toContainText('Finished all', {
    timeout: 180_000,
  });
  expect(await stepNow(page)).toBe(steps);
  await expect(list).toContainText(`step ${steps}`);

  // Export: a zip in the PEFT layout.
  const downloadP = page.waitForEvent('download');
  await page.getByRole('button', { name: 'Export adapter' }).click();
  const download = await downloadP;
  expect(download.suggestedFilename()).toBe('stories260K-demo-longlora-64.zip');
  const files = unzipSync(new Uint8Array(readFileSync(await download.path())));
  // cluster/ (the run's data and run.sh for the official scripts) is checked in gguf-export.spec.ts.
  expect(
    Object.keys(files)
      .filter((k) => !k.startsWith('cluster/'))
      .sort(),
  ).toEqual([
    'README.md',
    'adapter_config.json',
    'adapter_model.safetensors',
    'config.json',
    'trainable_params.bin',
    'trainable_params.safetensors',
  ]);
  const cfg = JSON.parse(new TextDecoder().decode(files['adapter_config.json']));
  expect(cfg).toMatchObject({
    peft_type: 'LORA',
    task_type: 'CAUSAL_LM',
    r: 8,
    lora_alpha: 16,
    lora_dropout: 0,
    bias: 'none',
    fan_in_fan_out: false,
    inference_mode: true,
    base_model_name_or_path: 'stories260K (demo)',
  });
  expect([...cfg.target_modules].sort()).toEqual(['k_proj', 'o_proj', 'q_proj', 'v_proj']);
  expect([...cfg.modules_to_save].sort()).toEqual(['embed_tokens', 'norm']);
  const adapter = safetensorsHeader(files['adapter_model.safetensors']!);
  const P = 'base_model.model.model.';
  expect(Object.keys(adapter).length).toBe(LAYERS * 4 * 2 + 1 + LAYERS * 2 + 1);
  for (let i = 0; i < LAYERS; i++) {
    const at = `${P}layers.${i}.self_attn`;
    expect(adapter[`${at}.q_proj.lora_A.weight`]).toEqual({ dtype: 'F32', shape: [8, HIDDEN] });
    expect(adapter[`${at}.q_proj.lora_B.weight`]).toEqual({ dtype: 'F32', shape: [HIDDEN, 8] });
    expect(adapter[`${at}.k_proj.lora_B.weight`]).toEqual({ dtype: 'F32', shape: [KV_DIM, 8] });
    expect(adapter[`${P}layers.${i}.input_layernorm.weight`]?.shape).toEqual([HIDDEN]);
    expect(adapter[`${P}layers.${i}.post_attention_layernorm.weight`]?.shape).toEqual([HIDDEN]);
  }
  expect(adapter[`${P}embed_tokens.weight`]?.shape).toEqual([VOCAB, HIDDEN]);
  expect(adapter[`${P}norm.weight`]?.shape).toEqual([HIDDEN]);
  const trainable = safetensorsHeader(files['trainable_params.safetensors']!);
  expect(trainable['model.embed_tokens.weight']?.shape).toEqual([VOCAB, HIDDEN]);
  expect(trainable['model.layers.0.input_layernorm.weight']?.shape).toEqual([HIDDEN]);
  expect(Object.keys(trainable).some((k) => k.includes('lora'))).toBe(false);
  const config = JSON.parse(new TextDecoder().decode(files['config.json']));
  // Trained at 64 < 512 tokens: no interpolation needed, factor 1.
  expect(config.rope_scaling?.factor ?? 1).toBe(1);
  expect(new TextDecoder().decode(files['README.md'])).toContain('PeftModel');

  expect(seen.errors, 'console errors').toEqual([]);
  expect(outside(seen.requests, baseURL!), 'requests leaving the origin').toEqual([]);
});
