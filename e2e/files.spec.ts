import { readFileSync } from 'node:fs';
import { expect, test } from '@playwright/test';
import { openStudio, outside, watch } from './helpers.ts';

const ASSETS = 'public/demo';
const file = (name: string, mimeType = 'application/octet-stream') => ({
  name,
  mimeType,
  buffer: readFileSync(`${ASSETS}/${name}`),
});

test('model files dropped through the input: an HF folder, a GGUF, and a truncated safetensors', async ({
  page,
  baseURL,
}) => {
  const seen = watch(page);
  await openStudio(page);
  const input = page.getByLabel('Model files');
  const summary = page.getByLabel('Model summary');

  // The Hugging Face files of stories260K.
  await input.setInputFiles([
    file('config.json', 'application/json'),
    file('tokenizer.json', 'application/json'),
    file('tokenizer_config.json', 'application/json'),
    file('model.safetensors'),
  ]);
  await expect(summary).toContainText('LlamaForCausalLM');
  await expect(summary).toContainText('safetensors');
  await expect(summary).toContainText('512 tokens');
  await expect(page.getByRole('spinbutton', { name: 'Target context' })).toHaveValue('1024');

  // A truncated safetensors file is refused in place, naming the file.
  const bytes = readFileSync(`${ASSETS}/model.safetensors`);
  await input.setInputFiles([
    file('config.json', 'application/json'),
    {
      name: 'model.safetensors',
      mimeType: 'application/octet-stream',
      buffer: bytes.subarray(0, 50_000),
    },
  ]);
  const alert = page.getByRole('alert').filter({ hasText: 'The file could not be read' });
  await expect(alert).toBeVisible();
  await expect(alert).toContainText('model.safetensors');

  // The page keeps working: the GGUF loads next, with its own tokenizer.
  await input.setInputFiles([file('stories260K.gguf')]);
  await expect(alert).toBeHidden();
  await expect(summary).toContainText('gguf');
  await expect(summary).toContainText('stories260K');
  await page.getByLabel('Training data').setInputFiles({
    name: 'story.txt',
    mimeType: 'text/plain',
    buffer: readFileSync(`${ASSETS}/tinystories-197k.txt`).subarray(0, 60_000),
  });
  await expect(page.getByLabel('Data summary')).toContainText('story.txt');
  await expect(page.getByRole('button', { name: 'Start training' })).toBeEnabled();

  expect(seen.errors, 'console errors').toEqual([]);
  expect(outside(seen.requests, baseURL!), 'requests leaving the origin').toEqual([]);
});
