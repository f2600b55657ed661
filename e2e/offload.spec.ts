/**
 * Offloaded checkpoints in the studio (issue 27): a person keeps the checkpoints in system memory,
 * sees the plan's system memory, trains the demo to its last step, sees the Memory chart's system
 * memory beside the GPU's, and exports the adapter.
 */
import { readFileSync } from 'node:fs';
import { expect, test } from '@playwright/test';
import { unzipSync } from 'fflate';
import { openDemo, outside, stepNow } from './helpers.ts';

const STEPS = 4;
const BYTES = /[\d.]+ (B|KiB|MiB)/.source;

test('train the demo with checkpoints in system memory and export the adapter', async ({
  page,
  baseURL,
}) => {
  test.setTimeout(90_000);
  const seen = await openDemo(page, {
    'Target context': 64,
    Steps: STEPS,
    Warmup: 1,
    'Evaluate every': 0,
    'Checkpoint every': 0,
  });
  await page.getByLabel('Keep checkpoints in').selectOption({ label: 'system memory' });

  // The plan says what the system memory holds, against its (assumed) budget.
  const plan = page.getByRole('group', { name: 'Planned GPU memory' });
  await expect(plan).toContainText(
    new RegExp(`System memory \\(offloaded checkpoints\\)\\s*${BYTES} of an assumed`),
  );

  await page.getByRole('button', { name: 'Start training' }).click();
  const run = page.getByRole('region', { name: 'Run' });
  await expect(run).toContainText('Finished all', { timeout: 60_000 });
  expect(await stepNow(page)).toBe(STEPS);
  const loss = run.locator('.stat').filter({ hasText: 'Loss (smoothed)' }).locator('.v');
  expect(Number(await loss.textContent())).toBeGreaterThan(0);
  expect(Number.isFinite(Number(await loss.textContent()))).toBe(true);

  // The Memory chart: GPU memory by category, and the system memory the run held, as its own line.
  const chart = page.getByRole('figure', { name: 'Memory chart' });
  await expect(chart.locator('figcaption')).toContainText(
    new RegExp(`system memory ${BYTES} \\(offloaded checkpoints ${BYTES}\\)`),
  );
  await expect(chart.locator('.recharts-legend-wrapper')).toContainText('system memory');
  const hostLine = chart
    .locator('path.recharts-line-curve')
    .evaluateAll((ps) => ps.filter((p) => (p.getAttribute('d') ?? '').length > 10).length);
  expect(await hostLine).toBe(1);
  // Its tooltip: the GPU's categories and their total, then the system memory, not in that total.
  const plot = (await chart.locator('.recharts-cartesian-grid').boundingBox())!;
  await page.mouse.move(plot.x + plot.width / 2, plot.y + plot.height / 2);
  await expect(chart.locator('.chart-tooltip')).toBeVisible();
  const tip = (await chart.locator('.chart-tooltip > div').allTextContents()).map((t) => t.trim());
  const total = tip.findIndex((l) => new RegExp(`^GPU total: ${BYTES}$`).test(l));
  expect(total, tip.join(' | ')).toBeGreaterThan(0);
  expect(tip.at(-1), tip.join(' | ')).toMatch(new RegExp(`^system memory: ${BYTES}$`));
  await chart.screenshot({ path: 'e2e/screenshots/memory-offload.png' });

  const downloadP = page.waitForEvent('download');
  await page.getByRole('button', { name: 'Export adapter' }).click();
  const download = await downloadP;
  expect(download.suggestedFilename()).toBe('stories260K-demo-longlora-64.zip');
  const files = unzipSync(new Uint8Array(readFileSync(await download.path())));
  expect(Object.keys(files)).toContain('adapter_model.safetensors');
  expect(Object.keys(files)).toContain('adapter_config.json');

  expect(seen.errors, 'console errors').toEqual([]);
  expect(outside(seen.requests, baseURL!), 'requests leaving the origin').toEqual([]);
});
