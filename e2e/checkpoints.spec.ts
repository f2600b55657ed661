/**
 * Time-based checkpoints and retention, in headless Chromium with the real IndexedDB: a reload never
 * loses more than "Checkpoint minutes" of training, and only the newest "Keep checkpoints" of a run
 * stay stored.
 */
import { expect, test, type Page } from '@playwright/test';
import { openStudio, stepNow } from './helpers.ts';

/** Steps of the stored checkpoints of the page's origin, read from IndexedDB itself. */
async function storedSteps(page: Page): Promise<number[]> {
  return page.evaluate(
    () =>
      new Promise<number[]>((resolve, reject) => {
        const open = indexedDB.open('longlora-studio');
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const tx = open.result.transaction('checkpoints', 'readonly');
          const req = tx.objectStore('checkpoints').getAllKeys();
          req.onsuccess = () => {
            const ids = req.result.map(String).filter((k) => k.startsWith('manifest:'));
            resolve(ids.map((k) => Number(/step(\d+)$/.exec(k)![1])).sort((a, b) => a - b));
          };
          req.onerror = () => reject(req.error);
        };
      }),
  );
}

test('Checkpoint minutes 0.5: a reload after ~45 s offers the run and it continues past its checkpoint', async ({
  page,
}) => {
  test.setTimeout(300_000);
  await openStudio(page);
  await page.getByRole('button', { name: 'Use demo model' }).click();
  await expect(page.getByLabel('Data summary')).toContainText('tinystories-197k.txt');
  // The demo's own 1024 tokens; no step-based checkpoint within the run.
  await page.getByRole('spinbutton', { name: 'Steps' }).fill('40');
  await page.getByRole('spinbutton', { name: 'Checkpoint every' }).fill('1000');
  await page.getByRole('spinbutton', { name: 'Checkpoint minutes' }).fill('0.5');
  await page.getByRole('button', { name: 'Start training' }).click();
  await expect.poll(() => stepNow(page), { timeout: 120_000 }).toBeGreaterThanOrEqual(1);
  const started = Date.now();
  // The first checkpoint comes from the clock (step-based ones would be at 1000).
  const list = page.getByRole('list', { name: 'Checkpoints' });
  await expect(list).toContainText(/step \d+/, { timeout: 60_000 });
  await page.waitForTimeout(Math.max(0, 45_000 - (Date.now() - started)));
  const before = await stepNow(page);
  expect(before, 'still training when the page reloads').toBeLessThan(40);
  const steps = await storedSteps(page);
  expect(steps.length).toBeGreaterThanOrEqual(1);
  const saved = Math.max(...steps);
  console.log(`reload at step ${before}; checkpoints at steps ${steps.join(', ')}`);
  // A reload loses at most what the last ~30 s trained.
  await page.reload();
  await expect(page.getByRole('status', { name: 'GPU status' })).toContainText(
    'GPU self-test passed',
  );
  await expect(page.getByText(/A run of stories260K \(demo\) stopped at step \d+/)).toContainText(
    `stopped at step ${saved} of `,
  );
  await page.getByRole('button', { name: 'Resume latest run' }).click();
  await expect.poll(() => stepNow(page), { timeout: 120_000 }).toBeGreaterThan(saved);
  await expect(page.getByRole('spinbutton', { name: 'Checkpoint minutes' })).toHaveValue('0.5');
  await page.getByRole('button', { name: 'Stop' }).click();
});

test('Keep checkpoints 2: only the newest two checkpoints of the run stay in IndexedDB', async ({
  page,
}) => {
  test.setTimeout(240_000);
  await openStudio(page);
  await page.getByRole('button', { name: 'Use demo model' }).click();
  await expect(page.getByLabel('Data summary')).toContainText('tinystories-197k.txt');
  await page.getByRole('spinbutton', { name: 'Target context' }).fill('64');
  await page.getByRole('spinbutton', { name: 'Steps' }).fill('9');
  await page.getByRole('spinbutton', { name: 'Warmup' }).fill('1');
  await page.getByRole('spinbutton', { name: 'Checkpoint every' }).fill('2');
  await page.getByRole('spinbutton', { name: 'Keep checkpoints' }).fill('2');
  await expect(page.getByLabel('Data summary')).toContainText('× 64 tokens');
  await page.getByRole('button', { name: 'Start training' }).click();
  await expect(page.getByRole('region', { name: 'Run' })).toContainText(
    /Finished all \d+ steps\. Export the adapter/,
    {
      timeout: 180_000,
    },
  );
  // Checkpoints were written at 2, 4, 6, 8 and 9 (done); the older three were deleted.
  expect(await storedSteps(page)).toEqual([8, 9]);
  const list = page.getByRole('list', { name: 'Checkpoints' });
  await page.reload();
  await expect(list.getByRole('listitem')).toHaveCount(2);
  await expect(list).toContainText('step 9');
  await expect(list).toContainText('step 8');
});

test('a run whose checkpoint cannot fit in browser storage is refused at Start, its size shown before', async ({
  page,
}) => {
  test.setTimeout(240_000);
  // The one stub: the browser's storage estimate leaves this page 400 KB (the demo's LoRA+
  // checkpoint is ~0.6 MB; without the embedding ~0.24 MB). IndexedDB itself is real.
  await page.addInitScript(() => {
    const storage = navigator.storage;
    const real = storage.estimate.bind(storage);
    storage.estimate = async () => {
      const e = await real();
      return { ...e, quota: (e.usage ?? 0) + 400_000 };
    };
  });
  await openStudio(page);
  await page.getByRole('button', { name: 'Use demo model' }).click();
  await expect(page.getByLabel('Data summary')).toContainText('tinystories-197k.txt');
  await page.getByRole('spinbutton', { name: 'Target context' }).fill('64');
  await page.getByRole('spinbutton', { name: 'Checkpoint every' }).fill('1');
  await expect(page.getByLabel('Data summary')).toContainText('× 64 tokens');
  const size = page.getByLabel('Checkpoint size');
  await expect(size).toContainText('Each checkpoint:');
  await expect(size).toContainText('not even one checkpoint fits');
  await page.getByRole('button', { name: 'Start training' }).click();
  const alert = page.getByRole('region', { name: 'Run' }).getByRole('alert');
  await expect(alert).toHaveAttribute('data-error-kind', 'storage-quota');
  await expect(alert).toContainText(/One checkpoint of this run needs 0\.\d MiB/);
  await expect(alert).toContainText('untick Embeddings');
  expect(await storedSteps(page)).toEqual([]);
  // Fewer trainables: the checkpoint fits, the run starts and writes it.
  await page.getByRole('checkbox', { name: 'Embeddings' }).uncheck();
  await expect(size).not.toContainText('not even one checkpoint fits');
  await page.getByRole('button', { name: 'Start training' }).click();
  await expect(alert).toHaveCount(0);
  await expect.poll(() => storedSteps(page), { timeout: 120_000 }).not.toEqual([]);
  await page.getByRole('button', { name: 'Stop' }).click();
});
