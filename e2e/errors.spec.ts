/**
 * What a person sees when something fails: each kind of error shows its own title and what to do.
 * Storage, model, data and checkpoint errors are caused for real; the rest (a lost device, a shader
 * the driver rejects, …) are real error objects thrown in the worker through its test hook, so they
 * cross the same worker boundary and reach the same components.
 */
import { readFileSync } from 'node:fs';
import { expect, test, type Locator, type Page } from '@playwright/test';
import { HINTS } from '../src/store/errors.ts';
import type { ErrorKind } from '../src/util/errors.ts';
import { openStudio, stepNow } from './helpers.ts';

const ASSETS = 'public/demo';
const asset = (name: string, buffer = readFileSync(`${ASSETS}/${name}`)) => ({
  name,
  mimeType: 'application/octet-stream',
  buffer,
});

/** The alert for `kind`: its title, the action, and the error's own message. */
async function expectShown(alert: Locator, kind: ErrorKind, message?: string | RegExp) {
  await expect(alert).toBeVisible();
  await expect(alert).toHaveAttribute('data-error-kind', kind);
  await expect(alert.locator('strong')).toHaveText(HINTS[kind].title);
  await expect(alert.locator('.error-action')).toHaveText(HINTS[kind].action);
  if (message) await expect(alert).toContainText(message);
}

const panel = (page: Page, name: string) => page.getByRole('region', { name });

/** Uncaught exceptions on the page (an error shown in place is not one). */
function pageErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  return errors;
}

test('a full disk while training says storage is full and keeps the saved checkpoints', async ({
  page,
  baseURL,
}) => {
  test.setTimeout(120_000);
  const errors = pageErrors(page);
  // This origin may store 2 MB: room for a checkpoint or two of the demo run (~0.7 MB each).
  const origin = new URL(baseURL!).origin;
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Storage.overrideQuotaForOrigin', { origin, quotaSize: 2 << 20 });
  try {
    await openStudio(page);
    await page.getByRole('button', { name: 'Use demo model' }).click();
    await expect(page.getByLabel('Data summary')).toContainText('tinystories-197k.txt');
    await page.getByRole('spinbutton', { name: 'Target context' }).fill('64');
    await page.getByRole('spinbutton', { name: 'Steps' }).fill('60');
    await page.getByRole('spinbutton', { name: 'Warmup' }).fill('1');
    await page.getByRole('spinbutton', { name: 'Evaluate every' }).fill('50');
    await page.getByRole('spinbutton', { name: 'Checkpoint every' }).fill('2');
    await expect(page.getByLabel('Data summary')).toContainText('× 64 tokens');
    await page.getByRole('button', { name: 'Start training' }).click();

    // A checkpoint write is refused: the run stops and says storage is full, with what to do.
    const alert = panel(page, 'Run').getByRole('alert');
    await expectShown(alert, 'storage-quota', /Storage is full: the checkpoint was not written/);
    await expect(alert).not.toContainText(HINTS.checkpoint.title);
    await expect(alert).not.toContainText(HINTS.unknown.title);
    await expect(panel(page, 'Run')).toContainText('The run stopped with an error.');

    // What was saved before is intact: listed, offered after a reload, and it resumes.
    const list = page.getByRole('list', { name: 'Checkpoints' });
    await expect(list).toContainText(/step \d+/);
    const resumeButtons = list.getByRole('button', { name: /^Resume from step \d+$/ });
    const steps = (await resumeButtons.evaluateAll((bs) => bs.map((b) => b.ariaLabel ?? ''))).map(
      (label) => Number(/\d+$/.exec(label)![0]),
    );
    const saved = Math.max(...steps);
    expect(saved).toBeGreaterThanOrEqual(2);
    expect(await stepNow(page)).toBeGreaterThan(saved);
    await page.reload();
    const offer = page.getByText(/A run of stories260K \(demo\) stopped at step (\d+)/);
    await expect(offer).toContainText(`stopped at step ${saved} of `);
    await expect(list.getByRole('listitem')).toHaveCount(steps.length);
    await cdp.send('Storage.overrideQuotaForOrigin', { origin });
    await page.getByRole('button', { name: 'Resume latest run' }).click();
    await expect.poll(() => stepNow(page), { timeout: 60_000 }).toBeGreaterThan(saved);
    await expect(panel(page, 'Run').getByRole('alert')).toBeHidden();
    expect(errors, 'uncaught page errors').toEqual([]);
  } finally {
    await cdp.send('Storage.overrideQuotaForOrigin', { origin }).catch(() => {});
    await cdp.detach().catch(() => {});
  }
});

test('a model, data or checkpoint that cannot be used is refused with what to do', async ({
  page,
}) => {
  const errors = pageErrors(page);
  // A checkpoint written by a newer studio (format version 99) sits in this browser's IndexedDB.
  await page.goto('/');
  await page.evaluate(
    () =>
      new Promise<void>((resolve, reject) => {
        const open = indexedDB.open('longlora-studio');
        open.onupgradeneeded = () => open.result.createObjectStore('checkpoints');
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const tx = open.result.transaction('checkpoints', 'readwrite');
          const manifest = {
            version: 99,
            id: 'from-the-future',
            runId: 'run-future',
            step: 7,
            createdAt: new Date().toISOString(),
            modelName: 'stories260K (demo)',
            modelFingerprint: '0',
            bytes: 1234,
          };
          tx.objectStore('checkpoints').put(JSON.stringify(manifest), 'manifest:from-the-future');
          tx.oncomplete = () => resolve();
          tx.onerror = () => reject(tx.error);
        };
      }),
  );
  await openStudio(page);
  const model = panel(page, 'Model');
  const input = page.getByLabel('Model files');

  // format: a file that is not a GGUF at all.
  await input.setInputFiles(asset('broken.gguf', Buffer.from('this is not a gguf file at all')));
  await expectShown(model.getByRole('alert'), 'format', 'broken.gguf');

  // unsupported-model: a well-formed Llama config with a feature the trainer does not have.
  const config = JSON.parse(readFileSync(`${ASSETS}/config.json`, 'utf8'));
  await input.setInputFiles([
    asset('config.json', Buffer.from(JSON.stringify({ ...config, mlp_bias: true }))),
    asset('tokenizer.json'),
    asset('model.safetensors'),
  ]);
  await expectShown(model.getByRole('alert'), 'unsupported-model', 'MLP bias');

  // checkpoint: resuming the newer checkpoint (the demo model loads by itself first).
  await page.getByRole('button', { name: 'Resume latest run' }).click();
  await expectShown(panel(page, 'Run').getByRole('alert'), 'checkpoint', 'version 99');
  await expect(model.getByRole('alert')).toBeHidden();
  await expect(page.getByLabel('Model summary')).toContainText('stories260K (demo)');

  // data: an empty text file.
  await page
    .getByLabel('Training data')
    .setInputFiles({ name: 'empty.txt', mimeType: 'text/plain', buffer: Buffer.from('\n\n') });
  await expectShown(panel(page, 'Data').getByRole('alert'), 'data', 'empty.txt is empty');
  expect(errors, 'uncaught page errors').toEqual([]);
});

/** Real error objects of each kind, built in the worker from its own classes. */
const THROWN: [ErrorKind, string, unknown[], string][] = [
  [
    'webgpu-unavailable',
    'WebGPUUnavailableError',
    ['No WebGPU adapter was found.'],
    'No WebGPU adapter',
  ],
  [
    'device-lost',
    'DeviceLostError',
    ['The GPU device was lost: destroyed', 'destroyed'],
    'destroyed',
  ],
  ['out-of-memory', 'OutOfMemoryError', ['GPU out of memory: 4 GiB buffer', 4 << 30], '4 GiB'],
  [
    'shader-compilation',
    'ShaderCompilationError',
    ['matmul', [{ type: 'error', lineNum: 12, linePos: 5, message: 'unresolved identifier' }]],
    'matmul.wgsl:12:5',
  ],
  ['gpu-validation', 'GPUValidationError', ['GPU error: invalid bind group'], 'invalid bind group'],
  [
    'gpu-results',
    'KernelCheckError',
    ['autotune: every candidate failed its check (tiled)'],
    'every candidate failed',
  ],
  [
    'adapter',
    'AdapterError',
    ['adapter_model.safetensors', 'it trains lm_head, which this studio does not train'],
    'trains lm_head',
  ],
  [
    'gguf-export',
    'GgufExportError',
    ['config.json', 'dynamic RoPE scaling has no GGUF equivalent'],
    'no GGUF equivalent',
  ],
  [
    'lora-gguf-trained',
    'LoraGgufTrainedError',
    ['adapter_model.safetensors', 'this adapter also trained 12 embedding/norm tensors'],
    '12 embedding/norm tensors',
  ],
  ['network', 'NetworkError', ['The demo model could not be fetched (HTTP 404).'], 'HTTP 404'],
  ['internal', 'InternalError', ['matmul: K must be a multiple of 4'], 'multiple of 4'],
  ['format', 'FormatError', ['model.safetensors', 'truncated header'], 'truncated header'],
  [
    'unsupported-model',
    'UnsupportedModelError',
    ['config.json', 'model_type "gpt2" is not supported'],
    'gpt2',
  ],
  ['data', 'DataError', ['story.json has no records.'], 'no records'],
  ['checkpoint', 'CheckpointError', ['No checkpoint abc.'], 'No checkpoint abc'],
  ['storage-quota', 'StorageQuotaError', ['Storage is full.'], 'Storage is full'],
  ['busy', 'BusyError', ['Stop the run before loading another model.'], 'Stop the run'],
  ['not-ready', 'NotReadyError', ['Load training data first.'], 'Load training data first.'],
  ['settings', 'SettingsError', ['Steps must be at least 1.'], 'Steps must be at least 1.'],
  ['unknown', 'Error', ['something unexpected'], 'something unexpected'],
];

test('every kind of error from the worker shows its own title and action', async ({ page }) => {
  const errors = pageErrors(page);
  await openStudio(page);
  const worker = page.workers()[0]!;
  const alert = panel(page, 'Model').getByRole('alert');
  // Each kind once (usage is the command line's own; the page never runs it).
  expect(new Set(THROWN.map(([k]) => k))).toEqual(
    new Set((Object.keys(HINTS) as ErrorKind[]).filter((k) => k !== 'usage')),
  );
  for (const [kind, cls, args, message] of THROWN) {
    await worker.evaluate(
      ([cls, args]) => {
        const w = self as unknown as {
          __errorClasses: Record<string, new (...a: unknown[]) => Error>;
          __failNextModelLoad(e: unknown): void;
        };
        w.__failNextModelLoad(new w.__errorClasses[cls]!(...args));
      },
      [cls, args] as const,
    );
    await page.getByLabel('Model files').setInputFiles(asset('config.json'));
    await expectShown(alert, kind, message);
  }
  expect(errors, 'uncaught page errors').toEqual([]);
});
