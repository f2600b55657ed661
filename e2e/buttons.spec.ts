/**
 * Every button of the studio, in every state a person meets (issue #12, "controls that never lie"):
 * a fresh page, the demo loaded, a run going, paused, stopped, finished, and a second tab while the
 * first one trains. In each state every visible <button> and file picker is read from the DOM and is
 * either disabled with a reason (a non-empty accessible description) or pressed, and what it does is
 * seen (a download, a result, a state) with no "Something went wrong". A control missing from the
 * table below fails the test: a new button needs its behaviour written here.
 */
import { readFileSync } from 'node:fs';
import { expect, test, type Locator, type Page } from '@playwright/test';
import { unzipSync } from 'fflate';
import { openStudio, safetensorsHeader, stepNow } from './helpers.ts';

/** A control as the table knows it: its accessible name with numbers as N ("Resume from step #"). */
interface Control {
  key: string;
  name: string;
  file: boolean;
}

/** Presses an enabled control and checks that what it does happens (the state is left as it was). */
type Press = (page: Page, control: Locator) => Promise<void>;

/**
 * 'transition': pressed by the walk itself to reach the next state (its effect is that state,
 * checked there). Otherwise the press and its check.
 */
type Behaviour = Press | 'transition';

const runRegion = (page: Page) => page.getByRole('region', { name: 'Run' });
const ckptRegion = (page: Page) => page.getByRole('region', { name: 'Checkpoints' });
const evalRegion = (page: Page) => page.getByRole('region', { name: 'Evaluate' });

/** A download started by `press`, checked as the adapter .zip (PEFT config and safetensors parse). */
async function expectZip(page: Page, press: () => Promise<void>, name: RegExp): Promise<void> {
  const download = page.waitForEvent('download', { timeout: 180_000 });
  await press();
  const d = await download;
  expect(d.suggestedFilename()).toMatch(name);
  const files = unzipSync(new Uint8Array(readFileSync(await d.path())));
  const cfg = JSON.parse(new TextDecoder().decode(files['adapter_config.json'])) as {
    peft_type: string;
    r: number;
  };
  expect(cfg.peft_type).toBe('LORA');
  expect(Object.keys(safetensorsHeader(files['adapter_model.safetensors']!)).length).toBe(52);
}

const press =
  (check: (page: Page) => Promise<void>): Press =>
  async (page, control) => {
    await control.click();
    await check(page);
  };

/** What each control does when it is enabled. */
const BEHAVIOUR: Record<string, Behaviour> = {
  'Use demo model': press(async (page) => {
    await expect(page.getByLabel('Model summary')).toContainText('stories260K');
    await expect(page.getByLabel('Data summary')).toContainText('tinystories-197k.txt');
  }),
  'file:Model files': openChooser,
  'file:Training data': openChooser,
  'Start training': 'transition',
  Pause: 'transition',
  Resume: 'transition',
  Stop: 'transition',
  'Measure perplexity': press(async (page) => {
    await expect(evalRegion(page).getByRole('status')).toContainText(/Perplexity [\d.]+ over/, {
      timeout: 180_000,
    });
  }),
  'Run passkey test': async (page, control) => {
    // A short trial: the demo model's 512-token native context.
    await evalRegion(page).getByRole('spinbutton', { name: 'Passkey length' }).fill('256');
    await control.click();
    await expect(evalRegion(page).getByRole('status')).toContainText(/Passkey \d+: answered/, {
      timeout: 180_000,
    });
  },
  Generate: async (page, control) => {
    await control.click();
    await expect(evalRegion(page).getByLabel('Generated text')).not.toBeEmpty({
      timeout: 180_000,
    });
    await expect(control).toBeEnabled({ timeout: 180_000 });
  },
  'Export adapter': (page, control) =>
    expectZip(page, () => control.click(), /^stories260K-demo-longlora-64\.zip$/),
  'Export GGUF': async (page, control) => {
    // Headless Chromium cannot answer the File System Access picker: the Blob download path.
    await page.evaluate(() =>
      Object.defineProperty(window, 'showSaveFilePicker', { value: undefined }),
    );
    const download = page.waitForEvent('download', { timeout: 180_000 });
    await control.click();
    const d = await download;
    expect(d.suggestedFilename()).toBe('stories260K-demo-longlora-64-f16.gguf');
    expect(
      readFileSync(await d.path())
        .subarray(0, 4)
        .toString('latin1'),
    ).toBe('GGUF');
  },
  'Export checkpoint at step #': async (page, control) => {
    await expectZip(page, () => control.click(), /^stories260K-demo-longlora-64-step\d+\.zip$/);
    await expect(ckptRegion(page).getByText(/Saved .*-step\d+\.zip/)).toBeVisible();
  },
  'Resume from step #': pressThenStop,
  'Resume latest run': pressThenStop,
  // A finished run: opened (no step left, so it is done at once) or trained to a new total.
  'Open finished run': press(async (page) => {
    await expect(runRegion(page)).toContainText(/Finished all \d+ steps/, { timeout: 120_000 });
  }),
  'Train further': pressThenStop,
  'Delete checkpoint at step #': async (page, control) => {
    const name = (await control.getAttribute('aria-label'))!;
    // Two runs may each have a checkpoint at this step: one button of that name fewer.
    const same = ckptRegion(page).getByRole('button', { name, exact: true });
    const before = await same.count();
    await control.click();
    await expect(same).toHaveCount(before - 1);
  },
  'Persist storage': press(async (page) => {
    await expect(
      ckptRegion(page).getByText(
        /Persistent storage granted|The browser did not grant persistent storage/,
      ),
    ).toBeVisible();
  }),
  Dismiss: async (page, control) => {
    const alerts = await page.getByRole('alert').count();
    await control.click();
    await expect(page.getByRole('alert')).toHaveCount(alerts - 1);
  },
};

/**
 * Resume: the checkpoint's run continues (the page says Training, or Finished when that checkpoint was
 * one step short of the end); it is stopped again so the state is as it was.
 */
async function pressThenStop(page: Page, control: Locator): Promise<void> {
  await control.click();
  await expect(runRegion(page)).toContainText(/Training\.|Finished all/, { timeout: 120_000 });
  await runRegion(page)
    .getByRole('button', { name: 'Stop' })
    .click({ timeout: 5_000 })
    .catch(() => undefined); // it may have finished by itself
  await expect(runRegion(page)).toContainText(/Stopped at step|Finished all/, {
    timeout: 120_000,
  });
}

/** A file picker "works" when pressing it opens the browser's file chooser. */
async function openChooser(page: Page, control: Locator): Promise<void> {
  const chooser = page.waitForEvent('filechooser');
  // The input is visually hidden behind its "Choose files…" label: press the label.
  await page.locator(`label[for="${await control.getAttribute('id')}"]`).click();
  expect((await chooser).isMultiple()).toBe((await control.getAttribute('multiple')) !== null);
}

/** The page's buttons and file pickers as they are now. */
async function controls(page: Page): Promise<Control[]> {
  const found = await page
    .locator(
      'button, [role="button"], input[type="button"], input[type="submit"], input[type="file"]',
    )
    .evaluateAll((els) =>
      els
        .filter((el) =>
          el instanceof HTMLInputElement && el.type === 'file'
            ? (el.labels?.[0]?.checkVisibility() ?? false)
            : el.checkVisibility(),
        )
        .map((el) => ({
          name: (el.getAttribute('aria-label') ?? el.textContent ?? '').trim(),
          file: el instanceof HTMLInputElement && el.type === 'file',
        })),
    );
  return found.map((c) => ({
    ...c,
    key: `${c.file ? 'file:' : ''}${c.name.replace(/\d+/g, '#')}`,
  }));
}

/** The control now (a numbered one: the first of its kind, as the list may have changed). */
function locate(page: Page, c: Control): Locator {
  if (c.file) return page.getByLabel(c.name, { exact: true });
  const name = c.key.includes('#')
    ? new RegExp(`^${c.key.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/#/g, '\\d+')}$`)
    : c.name;
  return page.getByRole('button', { name, exact: true }).first();
}

/**
 * Pressed after the others, in this order: they change what the page shows ("Resume latest run" is
 * offered only until a run is resumed in this tab, so it goes before "Resume from step #").
 */
const LAST = [
  'Open finished run',
  'Train further',
  'Resume latest run',
  'Delete checkpoint at step #',
  'Resume from step #',
  'Use demo model',
];

/**
 * Checks every control of the page in `state`: disabled ones have a reason, enabled ones do what
 * BEHAVIOUR says (those in LAST after the others: they change what the page shows). Returns
 * the transitions seen enabled.
 */
async function checkAll(page: Page, state: string): Promise<Set<string>> {
  const found = await controls(page);
  const seen = new Set<string>();
  const ordered = [
    ...found.filter((c) => !LAST.includes(c.key)),
    ...LAST.flatMap((k) => found.filter((c) => c.key === k)),
  ];
  const transitions = new Set<string>();
  const report: string[] = [];
  for (const c of ordered) {
    if (seen.has(c.key)) continue; // one of each kind (e.g. the first checkpoint's Resume)
    seen.add(c.key);
    const behaviour = BEHAVIOUR[c.key];
    expect(
      behaviour,
      `${state}: the control "${c.name}" has no behaviour in the table`,
    ).toBeDefined();
    const loc = locate(page, c);
    if (await loc.isDisabled()) {
      await expect(
        loc,
        `${state}: "${c.name}" is disabled with a reason`,
      ).toHaveAccessibleDescription(/\S/);
      report.push(`${c.key}: disabled (${await describe(loc)})`);
      continue;
    }
    if (behaviour === 'transition') {
      transitions.add(c.key);
      report.push(`${c.key}: transition`);
      continue;
    }
    const t0 = Date.now();
    await behaviour!(page, loc);
    await expect(page.getByText('Something went wrong'), `${state}: after "${c.name}"`).toHaveCount(
      0,
    );
    report.push(`${c.key}: works (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  }
  console.log(`${state}:\n  ${report.join('\n  ')}`);
  return transitions;
}

async function describe(loc: Locator): Promise<string> {
  return loc.evaluate((el) => {
    const by = el.getAttribute('aria-describedby');
    return (
      (by && document.getElementById(by)?.textContent) ||
      el.getAttribute('aria-description') ||
      el.getAttribute('title') ||
      ''
    );
  });
}

/** Presses a transition the state offered, by name. */
async function go(page: Page, offered: Set<string>, name: string): Promise<void> {
  expect(offered, `the state offers "${name}"`).toContain(name);
  const button = runRegion(page).getByRole('button', { name, exact: true });
  await expect(button, `"${name}" is enabled`)
    .toBeEnabled({ timeout: 30_000 })
    .catch(async (e) => {
      throw new Error(`${String(e)}\n"${name}" is disabled: ${await describe(button)}`);
    });
  await button.click();
}

test('every button is disabled with a reason or works, in every state of the studio', async ({
  context,
}) => {
  test.setTimeout(12 * 60_000);
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await openStudio(page);

  // A fresh page: nothing loaded. "Use demo model" (pressed last) loads the demo.
  await checkAll(page, 'fresh page');

  // The demo loaded: a short context so that every action is quick.
  const setUp = async (steps: number, every: number) => {
    await expect(page.getByLabel('Data summary')).toContainText('tinystories-197k.txt');
    await page.getByRole('spinbutton', { name: 'Target context' }).fill('64');
    await page.getByRole('spinbutton', { name: 'Steps' }).fill(String(steps));
    await page.getByRole('spinbutton', { name: 'Warmup' }).fill('1');
    await page.getByRole('spinbutton', { name: 'Checkpoint every' }).fill(String(every));
    // All kept: a checkpoint listed when a check starts is still there when it is pressed.
    await page.getByRole('spinbutton', { name: 'Keep checkpoints' }).fill('0');
    await expect(page.getByLabel('Data summary')).toContainText('× 64 tokens');
  };
  await setUp(1000, 2);
  let offered = await checkAll(page, 'demo loaded');
  await setUp(1000, 2); // "Use demo model" loaded it again, with its default settings
  await go(page, offered, 'Start training');

  // A run going, with checkpoints listed.
  await expect(runRegion(page).getByRole('button', { name: 'Pause' })).toBeVisible({
    timeout: 120_000,
  });
  await expect(page.getByRole('list', { name: 'Checkpoints' })).toContainText(/step \d+/, {
    timeout: 120_000,
  });
  offered = await checkAll(page, 'running');
  expect([...offered].sort()).toEqual(['Pause', 'Stop']);
  // The actions above paused the run for the GPU and let it go on: it is still training.
  const before = await stepNow(page);
  await expect.poll(() => stepNow(page), { timeout: 120_000 }).toBeGreaterThan(before);

  // A second tab while this one trains: read-only views, and export of a committed checkpoint.
  const second = await context.newPage();
  second.on('pageerror', (e) => errors.push(`second tab: ${e.message}`));
  await openStudio(second);
  await expect(second.getByRole('status', { name: 'Run busy elsewhere' })).toBeVisible();
  await checkAll(second, 'second tab');
  await second.close();

  // Paused.
  await go(page, offered, 'Pause');
  await expect(runRegion(page)).toContainText('Paused. A checkpoint was kept.', {
    timeout: 120_000,
  });
  offered = await checkAll(page, 'paused');
  expect([...offered].sort()).toEqual(['Resume', 'Stop']);
  const pausedAt = await stepNow(page);
  await go(page, offered, 'Resume');
  await expect.poll(() => stepNow(page), { timeout: 120_000 }).toBeGreaterThan(pausedAt);
  // Stop pressed while running.
  await runRegion(page).getByRole('button', { name: 'Stop' }).click();
  await expect(runRegion(page)).toContainText(/Stopped at step \d+ of \d+\./, { timeout: 120_000 });

  // Stopped: its checkpoints may be resumed or deleted.
  offered = await checkAll(page, 'stopped');
  await setUp(3, 1);
  await go(page, offered, 'Start training');

  // Finished.
  await expect(runRegion(page)).toContainText(/Finished all \d+ steps\. Export the adapter/, {
    timeout: 180_000,
  });
  expect(await stepNow(page)).toBe(3);
  offered = await checkAll(page, 'finished');
  await setUp(1000, 2);
  await go(page, offered, 'Start training');
  await expect(runRegion(page).getByRole('button', { name: 'Pause' })).toBeVisible({
    timeout: 120_000,
  });
  await runRegion(page).getByRole('button', { name: 'Stop' }).click();
  await expect(runRegion(page)).toContainText(/Stopped at step \d+ of \d+\./, { timeout: 120_000 });

  // After a reload: the latest run is offered.
  await page.reload();
  await expect(page.getByRole('status', { name: 'GPU status' })).toContainText(
    'GPU self-test passed',
  );
  await expect(ckptRegion(page).getByRole('button', { name: 'Resume latest run' })).toBeEnabled();
  await checkAll(page, 'reloaded');

  expect(errors).toEqual([]);
});
