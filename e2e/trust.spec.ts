/**
 * The README's journey as a new user takes it — demo → train → pause/resume → stop → reload → resume
 * → export → GGUF — checking what the page says at every point: each chart's tooltip at three cursor
 * positions, the restored memory history, one notation per axis, binary units, a field out of range,
 * a finished run described as finished, and a failed Start that keeps the charts.
 */
import { readFileSync } from 'node:fs';
import { expect, test, type Locator, type Page } from '@playwright/test';
import { field, openDemo, outside, stepNow } from './helpers.ts';

const STEPS = 24;
const CHARTS = ['Loss chart', 'Memory chart', 'Learning rate chart', 'Throughput chart'] as const;

/** The plot area of a chart (its grid), where the cursor brings up the tooltip. */
async function plotBox(page: Page, chart: string) {
  const grid = page.getByRole('figure', { name: chart }).locator('.recharts-cartesian-grid');
  const box = await grid.boundingBox();
  if (!box) throw new Error(`${chart} has no plot area`);
  return box;
}

/** The tooltip's lines with the cursor at `fraction` of the plot's width. */
async function tooltipAt(page: Page, chart: string, fraction: number): Promise<string[]> {
  const box = await plotBox(page, chart);
  await page.mouse.move(box.x + fraction * box.width, box.y + box.height / 2);
  const tip = page.getByRole('figure', { name: chart }).locator('.chart-tooltip');
  await expect(tip).toBeVisible();
  return (await tip.locator(':scope > div').allTextContents()).map((t) => t.trim());
}

/** The step the tooltip names ("step 12"). */
function stepOf(lines: string[]): number {
  const m = /^step (\d+)$/.exec(lines[0] ?? '');
  if (!m) throw new Error(`the tooltip does not start with its step: ${JSON.stringify(lines)}`);
  return Number(m[1]);
}

/**
 * Each chart's tooltip at three cursor positions: it names the step under the cursor (ascending with
 * the cursor, near where the axis puts it), lists only the chart's own series with a value, and
 * never a `step` series.
 */
async function checkTooltips(page: Page, last: number) {
  for (const chart of CHARTS) {
    const seen: number[] = [];
    for (const f of [0.1, 0.5, 0.9]) {
      const lines = await tooltipAt(page, chart, f);
      const step = stepOf(lines);
      seen.push(step);
      expect(lines.slice(1).join('|'), `${chart} at ${f}`).not.toMatch(/(^|\|)step:/);
      // The axis runs from step 1 to the last step across the plot's width.
      const want = 1 + f * (last - 1);
      expect(Math.abs(step - want), `${chart} at ${f}: step ${step}, near ${want}`).toBeLessThan(
        Math.max(2, 0.1 * last),
      );
      if (chart === 'Loss chart') {
        expect(lines.some((l) => /^loss: \d+\.\d{4}$/.test(l))).toBe(true);
        expect(lines.some((l) => /^smoothed: \d+\.\d{4}$/.test(l))).toBe(true);
      }
      if (chart === 'Memory chart') {
        expect(lines.some((l) => /^activations: [\d.]+ (KiB|MiB)$/.test(l))).toBe(true);
        expect(lines.at(-1)).toMatch(/^total: [\d.]+ (KiB|MiB)$/);
      }
    }
    expect(seen[0], `${chart}: the tooltip follows the cursor`).toBeLessThan(seen[1]!);
    expect(seen[1], `${chart}: the tooltip follows the cursor`).toBeLessThan(seen[2]!);
  }
  await page.mouse.move(0, 0);
}

/** The Memory chart's tooltip lines by step, hovering across the whole plot. */
async function memoryByStep(page: Page): Promise<Map<number, string[]>> {
  const out = new Map<number, string[]>();
  for (let i = 0; i <= 20; i++) {
    const lines = await tooltipAt(page, 'Memory chart', 0.02 + (0.96 * i) / 20);
    out.set(stepOf(lines), lines);
  }
  await page.mouse.move(0, 0);
  return out;
}

function runRegion(page: Page): Locator {
  return page.getByRole('region', { name: 'Run' });
}

async function stat(page: Page, name: string): Promise<string> {
  const s = runRegion(page).locator('.stat').filter({ hasText: name });
  return (await s.locator('.v').textContent()) ?? '';
}

test('the README journey with charts, messages and states a person can trust', async ({
  page,
  baseURL,
}) => {
  test.setTimeout(420_000);
  const seen = await openDemo(page, {
    'Target context': 64,
    Steps: STEPS,
    Warmup: 4,
    'Evaluate every': 4,
    'Checkpoint every': 2,
  });
  await expect(page.getByText('RoPE ×1 · group 16 tokens')).toBeVisible();

  // Sizes in binary units, labelled so; the GPU-memory presets in the same unit.
  const plan = page.getByRole('group', { name: 'Planned GPU memory' });
  await expect(plan).toContainText(/Planned GPU memory: [\d.]+ MiB/);
  await expect(page.getByRole('region', { name: 'Training' })).not.toContainText(/\d (KB|MB|GB)\b/);
  await expect(page.getByRole('combobox', { name: 'GPU memory' })).toContainText('12 GiB');

  // LoRA rank 0: the field says what it takes, Start is disabled with the reason, nothing is planned.
  const start = runRegion(page).getByRole('button', { name: 'Start training' });
  await field(page, 'LoRA rank').fill('0');
  await expect(page.getByRole('alert').filter({ hasText: 'LoRA rank must be' })).toHaveText(
    'LoRA rank must be a whole number from 1 to 1,024 (got 0).',
  );
  await expect(field(page, 'LoRA rank')).toHaveAttribute('aria-invalid', 'true');
  await expect(start).toBeDisabled();
  await expect(start).toHaveAttribute('aria-description', /LoRA rank must be a whole number/);
  await field(page, 'LoRA rank').fill('8');
  await expect(field(page, 'LoRA rank')).not.toHaveAttribute('aria-invalid', 'true');
  await expect(start).toBeEnabled();

  // Train; pause: the fields are locked and say why, and no time is left to count down.
  await start.click();
  await expect.poll(() => stepNow(page), { timeout: 120_000 }).toBeGreaterThanOrEqual(5);
  await runRegion(page).getByRole('button', { name: 'Pause' }).click();
  await expect(runRegion(page)).toContainText('Paused. A checkpoint was kept.', {
    timeout: 60_000,
  });
  await expect(field(page, 'Steps')).toBeDisabled();
  await expect(
    page.getByRole('note').filter({ hasText: 'The run is paused: its settings stay' }),
  ).toBeVisible();
  expect(await stat(page, 'ETA')).toBe('—');
  await runRegion(page).getByRole('button', { name: 'Resume' }).click();
  await expect.poll(() => stepNow(page), { timeout: 120_000 }).toBeGreaterThanOrEqual(13);

  // Eval points exist (steps 4, 8, 12): every tooltip follows the cursor.
  await expect(page.getByRole('figure', { name: 'Loss chart' })).toContainText('eval PPL');
  await runRegion(page).getByRole('button', { name: 'Stop' }).click();
  await expect(runRegion(page)).toContainText(/Stopped at step \d+ of 24\./, { timeout: 60_000 });
  const stoppedAt = await stepNow(page);
  expect(await stat(page, 'ETA')).toBe('—');
  await checkTooltips(page, stoppedAt);
  // An eval step's tooltip lists its eval loss; the learning-rate axis has one notation.
  const evalTip = await tooltipAt(page, 'Loss chart', (8 - 1) / (stoppedAt - 1));
  expect(stepOf(evalTip)).toBe(8);
  expect(evalTip.some((l) => /^eval loss: \d+\.\d{4}$/.test(l))).toBe(true);
  const lrTicks = await page
    .getByRole('figure', { name: 'Learning rate chart' })
    .locator('.recharts-yAxis-tick-labels .recharts-cartesian-axis-tick-value')
    .allTextContents();
  expect(lrTicks.length).toBeGreaterThan(2);
  for (const t of lrTicks) expect(t).toMatch(/^(\d\.\de-\d+|0)$/);
  const memoryTicks = await page
    .getByRole('figure', { name: 'Memory chart' })
    .locator('.recharts-yAxis-tick-labels .recharts-cartesian-axis-tick-value')
    .allTextContents();
  expect(memoryTicks.length).toBeGreaterThan(2);
  expect(new Set(memoryTicks.map((t) => t.split(' ')[1])).size, memoryTicks.join(', ')).toBe(1);
  const before = await memoryByStep(page);

  // Reload: the run is offered where it stopped; resuming shows the Run panel and the memory
  // measured before the reload.
  await page.reload();
  await expect(page.getByRole('status', { name: 'GPU status' })).toContainText(
    'GPU self-test passed',
  );
  const offer = page.getByRole('group', { name: 'Latest run' });
  await expect(offer).toContainText(/stopped at step \d+ of 24/);
  await offer.getByRole('button', { name: 'Resume latest run' }).click();
  await expect(runRegion(page)).toBeInViewport();
  await expect(runRegion(page)).toContainText(/Finished all 24 steps\./, { timeout: 180_000 });
  expect(await stepNow(page)).toBe(STEPS);
  expect(await stat(page, 'ETA')).toBe('—');
  const after = await memoryByStep(page);
  const common = [...before.keys()].filter((s) => s <= stoppedAt - 2 && after.has(s));
  expect(common.length, 'restored steps hovered').toBeGreaterThanOrEqual(3);
  for (const s of common) expect(after.get(s), `memory at step ${s}`).toEqual(before.get(s));
  await checkTooltips(page, STEPS);

  // A Start that fails (storage refuses a checkpoint) says why and keeps the finished run's charts.
  await page.evaluate(() => {
    navigator.storage.estimate = async () => ({ quota: 1000, usage: 1000 });
  });
  await start.click();
  await expect(runRegion(page).getByRole('alert')).toHaveAttribute(
    'data-error-kind',
    'storage-quota',
  );
  const lossPaths = page
    .getByRole('figure', { name: 'Loss chart' })
    .locator('path.recharts-curve')
    .evaluateAll((ps) => ps.filter((p) => (p.getAttribute('d') ?? '').length > 10).length);
  expect(await lossPaths).toBeGreaterThanOrEqual(2);
  await expect(runRegion(page)).toContainText(/Finished all 24 steps\./);
  expect(stepOf(await tooltipAt(page, 'Loss chart', 0.9))).toBeGreaterThan(20);

  // Generate shows the prompt and what continues it.
  const evaluate = page.getByRole('region', { name: 'Evaluate' });
  await evaluate.getByRole('textbox', { name: 'Prompt' }).fill('Once upon a time');
  await evaluate.getByRole('button', { name: 'Generate' }).click();
  const generated = evaluate.getByLabel('Generated text');
  await expect(generated).toContainText(/^Once upon a time.+/, { timeout: 60_000 });

  // Export the adapter, the merged GGUF, and the LoRA GGUF that a LoRA+ run cannot be.
  await page.evaluate(() => {
    Object.defineProperty(window, 'showSaveFilePicker', { value: undefined });
  });
  const panel = page.getByRole('region', { name: 'Export' });
  const zipP = page.waitForEvent('download');
  await panel.getByRole('button', { name: 'Export adapter' }).click();
  expect((await zipP).suggestedFilename()).toBe('stories260K-demo-longlora-64.zip');
  const ggufP = page.waitForEvent('download');
  await panel.getByRole('button', { name: 'Export GGUF' }).click();
  const gguf = await (await ggufP).path();
  expect(readFileSync(gguf).subarray(0, 4).toString('latin1')).toBe('GGUF');
  await panel.getByRole('combobox', { name: 'File' }).selectOption('lora');
  await panel.getByRole('button', { name: 'Export GGUF' }).click();
  const refusal = panel.getByRole('alert');
  await expect(refusal).toContainText('Export the merged GGUF instead');
  await expect(refusal).not.toContainText('This model is not supported');
  await expect(refusal).not.toContainText('Pick a LLaMA or Mistral model');

  // Reload: a finished run is offered as finished — open, export or train further — not resumed.
  await page.reload();
  await expect(page.getByRole('status', { name: 'GPU status' })).toContainText(
    'GPU self-test passed',
  );
  await expect(offer).toContainText('finished all 24 steps');
  await expect(offer.getByRole('button', { name: 'Resume latest run' })).toHaveCount(0);
  await expect(offer.getByRole('button', { name: 'Open finished run' })).toBeEnabled();
  await expect(offer.getByRole('button', { name: 'Export checkpoint at step 24' })).toHaveText(
    'Export adapter',
  );
  const further = offer.getByRole('spinbutton', { name: 'Train further to' });
  await further.fill('20');
  await expect(offer.getByRole('alert')).toHaveText(
    'The new total must be more than the 24 steps already trained.',
  );
  await expect(offer.getByRole('button', { name: 'Train further' })).toBeDisabled();
  await further.fill('28');
  await offer.getByRole('button', { name: 'Train further' }).click();
  await expect(runRegion(page)).toContainText(/Finished all 28 steps\./, { timeout: 120_000 });
  expect(await stepNow(page)).toBe(28);

  expect(seen.errors, 'console errors').toEqual([]);
  expect(outside(seen.requests, baseURL!), 'requests leaving the origin').toEqual([]);
});
