/**
 * Controls that never lie: a GPU action pressed while the run still holds the GPU waits for it and
 * then runs (issue #12, "a finished run refuses to export").
 */
import { readFileSync } from 'node:fs';
import { expect, test, type Page } from '@playwright/test';
import { unzipSync } from 'fflate';
import { openStudio, safetensorsHeader, stepNow } from './helpers.ts';

const ZIP_FILES = [
  'README.md',
  'adapter_config.json',
  'adapter_model.safetensors',
  'config.json',
  'trainable_params.bin',
  'trainable_params.safetensors',
];

/** The demo at `context` tokens, `steps` steps, a checkpoint every 2. */
async function setUp(page: Page, context: number, steps: number) {
  await page.getByRole('button', { name: 'Use demo model' }).click();
  await expect(page.getByLabel('Data summary')).toContainText('tinystories-197k.txt');
  await page.getByRole('spinbutton', { name: 'Target context' }).fill(String(context));
  await page.getByRole('spinbutton', { name: 'Steps' }).fill(String(steps));
  await page.getByRole('spinbutton', { name: 'Warmup' }).fill('1');
  await page.getByRole('spinbutton', { name: 'Checkpoint every' }).fill('2');
  await expect(page.getByLabel('Data summary')).toContainText(`× ${context} tokens`);
}

/** Presses Export adapter and checks the download is a PEFT zip of the run's context. */
async function exportZip(page: Page, context: number) {
  const download = page.waitForEvent('download');
  await page.getByRole('button', { name: 'Export adapter' }).click();
  const d = await download;
  expect(d.suggestedFilename()).toBe(`stories260K-demo-longlora-${context}.zip`);
  const files = unzipSync(new Uint8Array(readFileSync(await d.path())));
  for (const f of ZIP_FILES) expect(Object.keys(files), f).toContain(f);
  const cfg = JSON.parse(new TextDecoder().decode(files['adapter_config.json'])) as {
    peft_type: string;
  };
  expect(cfg.peft_type).toBe('LORA');
  expect(Object.keys(safetensorsHeader(files['adapter_model.safetensors']!)).length).toBe(52);
}

test('a resumed run exports when Export adapter is pressed as the counter reaches the last step', async ({
  page,
}) => {
  test.setTimeout(300_000);
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  const steps = 8;
  const context = 256;
  await openStudio(page);
  await setUp(page, context, steps);
  await page.getByRole('button', { name: 'Start training' }).click();
  // Reload once a checkpoint is listed, and resume the latest run.
  await expect(page.getByRole('list', { name: 'Checkpoints' })).toContainText(/step [246]/, {
    timeout: 120_000,
  });
  await page.reload();
  await expect(page.getByRole('status', { name: 'GPU status' })).toContainText(
    'GPU self-test passed',
  );
  await page.getByRole('button', { name: 'Resume latest run' }).click();
  // The moment the counter shows the last step, press Export adapter: the run still holds the GPU
  // for its final evaluation and checkpoint; the export waits for them and then runs.
  await expect.poll(() => stepNow(page), { timeout: 180_000, intervals: [25] }).toBe(steps);
  const doneAtPress = await page
    .getByRole('region', { name: 'Run' })
    .getByText(/Finished all \d+ steps\. Export the adapter/)
    .count();
  console.log(`run already done when Export was pressed: ${doneAtPress > 0}`);
  await exportZip(page, context);
  await expect(page.getByRole('region', { name: 'Run' })).toContainText(
    /Finished all \d+ steps\. Export the adapter/,
  );
  await expect(page.getByRole('region', { name: 'Export' }).getByRole('alert')).toHaveCount(0);
  await expect(page.getByText('Something went wrong')).toHaveCount(0);
  expect(errors).toEqual([]);
});

test('Export adapter pressed mid-run waits for the current step, exports, and the run goes on', async ({
  page,
}) => {
  test.setTimeout(300_000);
  const steps = 12;
  const context = 64;
  await openStudio(page);
  await setUp(page, context, steps);
  await page.getByRole('button', { name: 'Start training' }).click();
  await expect.poll(() => stepNow(page), { timeout: 120_000 }).toBeGreaterThanOrEqual(2);
  const at = await stepNow(page);
  expect(at).toBeLessThan(steps);
  await exportZip(page, context);
  await expect(page.getByRole('region', { name: 'Export' }).getByRole('alert')).toHaveCount(0);
  // The run was not left paused: it goes on to its last step by itself.
  await expect(page.getByRole('region', { name: 'Run' })).toContainText(
    /Finished all \d+ steps\. Export the adapter/,
    {
      timeout: 180_000,
    },
  );
  expect(await stepNow(page)).toBe(steps);
});
