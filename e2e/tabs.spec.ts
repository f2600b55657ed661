/**
 * Two tabs of the studio (one browser profile: the same IndexedDB and Web Locks): the tab training a
 * run owns it; the second one lists its checkpoints read-only and says the run is busy elsewhere,
 * until the first tab closes.
 */
import { readFileSync } from 'node:fs';
import { expect, test } from '@playwright/test';
import { unzipSync } from 'fflate';
import { openStudio, safetensorsHeader, stepNow } from './helpers.ts';

test('a second tab does not continue a run the first one trains, and can once that tab closes', async ({
  context,
}) => {
  test.setTimeout(600_000);
  const a = await context.newPage();
  await openStudio(a);
  await a.getByRole('button', { name: 'Use demo model' }).click();
  await expect(a.getByLabel('Data summary')).toContainText('tinystories-197k.txt');
  await a.getByRole('spinbutton', { name: 'Target context' }).fill('64');
  await a.getByRole('spinbutton', { name: 'Steps' }).fill('400');
  await a.getByRole('spinbutton', { name: 'Checkpoint every' }).fill('2');
  // All kept, so the checkpoint the second tab exports is not deleted by retention meanwhile.
  await a.getByRole('spinbutton', { name: 'Keep checkpoints' }).fill('0');
  await expect(a.getByLabel('Data summary')).toContainText('× 64 tokens');
  await a.getByRole('button', { name: 'Start training' }).click();
  // The first checkpoint (step 2) comes after the upload, the kernels' compilation and two steps.
  await expect(a.getByRole('list', { name: 'Checkpoints' })).toContainText(/step \d+/, {
    timeout: 300_000,
  });

  const b = await context.newPage();
  await openStudio(b);
  const busy = b.getByRole('status', { name: 'Run busy elsewhere' });
  await expect(busy).toContainText('is open in another tab of the studio');
  const resumeLatest = busy.getByRole('button', { name: 'Resume latest run' });
  await expect(resumeLatest).toBeDisabled();
  await expect(resumeLatest).toHaveAccessibleDescription(/open in another tab/);
  // Read-only: the checkpoints are listed, their Resume buttons disabled with the reason.
  const list = b.getByRole('list', { name: 'Checkpoints' });
  await expect(list).toContainText(/step \d+/);
  const resumeOne = list.getByRole('button', { name: /^Resume from step \d+$/ }).first();
  await expect(resumeOne).toBeDisabled();
  await expect(resumeOne).toHaveAccessibleDescription(/open in another tab/);
  const deleteOne = list.getByRole('button', { name: /^Delete checkpoint at step \d+$/ }).first();
  await expect(deleteOne).toBeDisabled();
  await expect(deleteOne).toHaveAccessibleDescription(/open in another tab/);

  // Export of a committed checkpoint works here, read from IndexedDB without the run's lock (the
  // demo model loads by itself), while the first tab goes on training.
  const exportOne = list.getByRole('button', { name: /^Export checkpoint at step \d+$/ }).first();
  const step = Number(/\d+$/.exec((await exportOne.getAttribute('aria-label'))!)![0]);
  const download = b.waitForEvent('download', { timeout: 180_000 });
  await exportOne.click();
  const d = await download;
  expect(d.suggestedFilename()).toBe(`stories260K-demo-longlora-64-step${step}.zip`);
  const files = unzipSync(new Uint8Array(readFileSync(await d.path())));
  const cfg = JSON.parse(new TextDecoder().decode(files['adapter_config.json'])) as {
    peft_type: string;
    base_model_name_or_path: string;
  };
  expect(cfg.peft_type).toBe('LORA');
  const tensors = safetensorsHeader(files['adapter_model.safetensors']!);
  expect(Object.keys(tensors).length).toBe(52);
  await expect(b.getByText(`Saved stories260K-demo-longlora-64-step${step}.zip`)).toBeVisible();
  await expect(busy).toBeVisible(); // still the first tab's run
  const at = await stepNow(a);
  await expect.poll(() => stepNow(a), { timeout: 120_000 }).toBeGreaterThan(at);

  // The first tab closes: its lock goes with it, and the second tab may continue the run.
  await a.close();
  await expect(busy).toHaveCount(0, { timeout: 30_000 });
  const offer = b.getByRole('button', { name: 'Resume latest run' });
  await expect(offer).toBeEnabled();
  const saved = Number(
    /step (\d+)/.exec((await b.getByText(/stopped at step \d+/).textContent()) ?? '')![1],
  );
  await offer.click();
  await expect.poll(() => stepNow(b), { timeout: 120_000 }).toBeGreaterThan(saved);
  await b.getByRole('button', { name: 'Stop' }).click();
});
