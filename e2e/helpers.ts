/**
 * Shared e2e helpers: console/request watching, the GPU-ready wait, the demo's set-up, and the PEFT
 * zip checks.
 */
import { expect, type Locator, type Page } from '@playwright/test';

/** Records console errors, page errors and every request the page (and its worker) makes. */
export function watch(page: Page) {
  const errors: string[] = [];
  const requests: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('request', (r) => requests.push(r.url()));
  return { errors, requests };
}

/** Requests that left the page's origin (blob: and data: URLs stay on the machine). */
export function outside(requests: string[], baseURL: string): string[] {
  const origin = new URL(baseURL).origin;
  return requests.filter((u) => {
    const url = new URL(u);
    return !(url.origin === origin || url.protocol === 'blob:' || url.protocol === 'data:');
  });
}

/** Opens the studio and waits for the worker's GPU self-test. */
export async function openStudio(page: Page): Promise<void> {
  await page.goto('/');
  await expect(page.getByRole('status', { name: 'GPU status' })).toContainText(
    'GPU self-test passed',
  );
}

/** A number field of the training form, by its label. */
export function field(page: Page, name: string): Locator {
  return page.getByRole('spinbutton', { name, exact: true });
}

/**
 * Watches the page (watch), opens the studio, loads the demo model and its data, and fills the
 * training fields given (label → value); the others keep the demo's defaults. Returns the watch.
 */
export async function openDemo(page: Page, settings: Record<string, number>) {
  const seen = watch(page);
  await openStudio(page);
  await page.getByRole('button', { name: 'Use demo model' }).click();
  await expect(page.getByLabel('Data summary')).toContainText('tinystories-197k.txt');
  for (const [name, value] of Object.entries(settings)) await field(page, name).fill(String(value));
  return seen;
}

/** A safetensors file's header: tensor name → dtype and shape. */
export function safetensorsHeader(
  bytes: Uint8Array,
): Record<string, { dtype: string; shape: number[] }> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = Number(view.getBigUint64(0, true));
  const json = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))) as Record<
    string,
    { dtype: string; shape: number[]; data_offsets: [number, number] }
  >;
  delete json.__metadata__;
  const out: Record<string, { dtype: string; shape: number[] }> = {};
  for (const [name, t] of Object.entries(json)) {
    const size = t.shape.reduce((a, b) => a * b, 1) * (t.dtype === 'F32' ? 4 : 2);
    expect(t.data_offsets[1] - t.data_offsets[0], `${name} byte size`).toBe(size);
    expect(8 + n + t.data_offsets[1], `${name} in range`).toBeLessThanOrEqual(bytes.byteLength);
    out[name] = { dtype: t.dtype, shape: t.shape };
  }
  return out;
}

/** The aria-valuenow of the training progress bar. */
export async function stepNow(page: Page): Promise<number> {
  return Number(
    await page
      .getByRole('progressbar', { name: 'Training progress' })
      .getAttribute('aria-valuenow'),
  );
}
