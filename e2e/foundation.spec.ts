import { expect, test } from '@playwright/test';
import { outside, watch } from './helpers.ts';

test('shows the adapter and a GPU self-test run in the worker through comlink', async ({
  page,
  baseURL,
}) => {
  const seen = watch(page);
  await page.goto('/');
  await expect(page.getByRole('heading', { name: 'LongLoRA Studio' })).toBeVisible();
  const status = page.getByRole('status', { name: 'GPU status' });
  await expect(status).toContainText(/swiftshader/i);
  await expect(status).toContainText('GPU self-test passed');
  // The badge carries the measured result: matmul shape and a max error within tolerance.
  const detail = await status.getByText(/max error/).textContent();
  const m = /matmul (\d+)×(\d+)×(\d+), max error ([\d.e+-]+)/.exec(detail ?? '');
  expect(m, `self-test detail "${detail}"`).not.toBeNull();
  expect(Number(m![4])).toBeLessThanOrEqual(1e-4);
  // The worker was a real module worker created by the page.
  expect(page.workers().length).toBeGreaterThan(0);

  for (const name of ['Model', 'Data', 'Training', 'Charts', 'Export']) {
    await expect(page.getByRole('region', { name, exact: true })).toBeVisible();
  }
  expect(seen.errors, 'console errors').toEqual([]);
  expect(outside(seen.requests, baseURL!), 'requests leaving the origin').toEqual([]);
  expect(seen.requests.length).toBeGreaterThan(0);
});

test('without WebGPU the page explains which browsers work', async ({ page }) => {
  const seen = watch(page);
  await page.addInitScript(() => {
    delete (Navigator.prototype as any).gpu;
    delete (navigator as any).gpu;
  });
  await page.goto('/');
  await expect(
    page.getByRole('heading', { name: 'This browser cannot run LongLoRA Studio' }),
  ).toBeVisible();
  await expect(page.getByText(/Chrome or Microsoft Edge, version 113 or newer/)).toBeVisible();
  expect(await page.evaluate(() => 'gpu' in navigator)).toBe(false);
  expect(seen.errors).toEqual([]);
});
