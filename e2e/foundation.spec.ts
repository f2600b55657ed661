import { expect, test, type Page } from '@playwright/test';

/** Records console errors, page errors and every request the page (and its worker) makes. */
function watch(page: Page) {
  const errors: string[] = [];
  const requests: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('request', (r) => requests.push(r.url()));
  return { errors, requests };
}

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
  const origin = new URL(baseURL!).origin;
  const outside = seen.requests.filter((u) => {
    const url = new URL(u);
    return !(url.origin === origin || url.protocol === 'blob:' || url.protocol === 'data:');
  });
  expect(outside, 'requests leaving the origin').toEqual([]);
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
