import { expect, test } from '@playwright/test';
import { openStudio, outside, watch } from './helpers.ts';

test('the demo model and data load and settings plan memory live', async ({ page, baseURL }) => {
  const seen = watch(page);
  await openStudio(page);
  await expect(page.getByRole('list', { name: 'Checkpoints' })).toBeAttached();
  await expect(page.getByRole('progressbar', { name: 'Training progress' })).toBeVisible();
  await expect(page.getByRole('figure', { name: 'Loss chart' })).toBeVisible();
  await expect(page.getByRole('figure', { name: 'Memory chart' })).toBeVisible();
  await page.screenshot({ path: 'e2e/screenshots/empty-1280.png', fullPage: true });

  await page.getByRole('button', { name: 'Use demo model' }).click();
  const model = page.getByLabel('Model summary');
  await expect(model).toContainText('LlamaForCausalLM');
  await expect(model).toContainText('stories260K (demo)');
  await expect(model).toContainText('512 tokens');
  await expect(model).toContainText('F32');
  const data = page.getByLabel('Data summary');
  await expect(data).toContainText('tinystories-197k.txt');
  await expect(data).toContainText('× 1,024 tokens');

  // Demo defaults: 2× the native context, a run short enough to watch on a software adapter.
  const ctx = page.getByRole('spinbutton', { name: 'Target context' });
  await expect(ctx).toHaveValue('1024');
  await expect(page.getByText('RoPE ×2 · group 256 tokens')).toBeVisible();
  await expect(page.getByRole('spinbutton', { name: 'Steps' })).toHaveValue('60');
  await expect(page.getByLabel('Planned GPU memory')).toContainText('weights');
  // No run yet: the exports are disabled, saying why, rather than failing when pressed.
  for (const name of ['Export adapter', 'Export GGUF']) {
    const button = page.getByRole('button', { name });
    await expect(button).toBeDisabled();
    await expect(button).toHaveAccessibleDescription(/Train or resume a run first/);
  }
  // The progress bar's maximum is the planned number of optimizer steps.
  await expect(page.getByRole('progressbar', { name: 'Training progress' })).toHaveAttribute(
    'aria-valuemax',
    '60',
  );

  // A context S²-Attn cannot split is flagged before Start, with what to change.
  await ctx.fill('1001');
  await expect(page.getByText(/Can’t start:.*divisible by 8/)).toBeVisible();
  await expect(page.getByRole('button', { name: 'Start training' })).toBeDisabled();
  await ctx.fill('2048');
  await expect(page.getByText('RoPE ×4 · group 512 tokens')).toBeVisible();
  await expect(page.getByRole('button', { name: 'Start training' })).toBeEnabled();
  await expect(data).toContainText('× 2,048 tokens');
  await page.screenshot({ path: 'e2e/screenshots/demo-1280.png', fullPage: true });

  await page.setViewportSize({ width: 420, height: 900 });
  await page.screenshot({ path: 'e2e/screenshots/demo-narrow.png', fullPage: true });

  expect(seen.errors, 'console errors').toEqual([]);
  expect(outside(seen.requests, baseURL!), 'requests leaving the origin').toEqual([]);
});

test('a file that is not a model is refused in place with what to do', async ({ page }) => {
  await openStudio(page);
  await page.getByLabel('Model files').setInputFiles({
    name: 'broken.gguf',
    mimeType: 'application/octet-stream',
    buffer: Buffer.from('this is not a gguf file at all'),
  });
  const alert = page.getByRole('alert').filter({ hasText: 'The file could not be read' });
  await expect(alert).toBeVisible();
  await expect(alert).toContainText('broken.gguf');
});

test('the GPU memory a person states is planned against, warned about, and remembered', async ({
  page,
}) => {
  const seen = watch(page);
  await openStudio(page);
  await page.getByRole('button', { name: 'Use demo model' }).click();
  const plan = page.getByLabel('Planned GPU memory');
  await expect(plan).toContainText('of an assumed');
  const memory = page.getByRole('combobox', { name: 'GPU memory' });
  await expect(memory).toHaveValue('assumed');

  // 32k tokens of the demo plan ~240 MB; a card stated at 128 MB gets a warning, not a refusal.
  await page.getByRole('spinbutton', { name: 'Target context' }).fill('32768');
  await memory.selectOption('custom');
  await page.getByRole('spinbutton', { name: 'Custom GPU memory (GiB)' }).fill('0.125');
  await expect(plan).toContainText('of your 128 MiB');
  const warning = page.getByRole('status').filter({ hasText: 'More than your GPU memory' });
  await expect(warning).toContainText('the budget is 128 MiB');
  await expect(page.getByText(/Can’t start/)).toHaveCount(0);
  await expect(page.getByRole('button', { name: 'Start training' })).toBeEnabled();

  // Remembered for this GPU across a reload.
  await page.reload();
  await page.getByRole('button', { name: 'Use demo model' }).click();
  await expect(memory).toHaveValue('custom');
  await expect(page.getByRole('spinbutton', { name: 'Custom GPU memory (GiB)' })).toHaveValue(
    '0.125',
  );
  await memory.selectOption('24');
  await expect(plan).toContainText('of your 24.0 GiB');
  await expect(warning).toHaveCount(0);
  expect(seen.errors, 'console errors').toEqual([]);
});
