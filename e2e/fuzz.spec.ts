/**
 * A sample of the unit-tier fuzzer's mutants (src/test/fuzz.ts, the same seed and indices) dropped on
 * the studio's own file inputs: each is loaded or shows the same error in place — the kind and message
 * the studio's load path gives for it in Node — and the page keeps working afterwards.
 * FUZZ_SEED=N picks the seed (printed).
 */
import { readFileSync } from 'node:fs';
import { expect, test, type Page } from '@playwright/test';
import {
  baseFiles,
  DATA_FORMATS,
  fuzzSeed,
  makeMutant,
  type FuzzBase,
  type Mutant,
} from '../src/test/fuzz.ts';
import { StudioError } from '../src/util/errors.ts';
import { loadData, openSession, type LoadedModel } from '../src/worker/session.ts';
import { bytesSource } from '../src/io/source.ts';
import { quantizedDemoGguf } from '../src/test/quant-fixtures.ts';
import { openStudio } from './helpers.ts';

const read = (f: string) => new Uint8Array(readFileSync(`public/demo/${f}`));
const BASE: FuzzBase = {
  safetensors: read('model.safetensors'),
  config: read('config.json'),
  tokenizer: read('tokenizer.json'),
  tokenizerConfig: read('tokenizer_config.json'),
  gguf: read('stories260K.gguf'),
  ggufQuant: new Uint8Array(0), // the quantized demo GGUF, built at the start of the test
  text: readFileSync('public/demo/tinystories-197k.txt', 'utf8').slice(0, 1500),
};
const SEED = fuzzSeed(process.env.FUZZ_SEED);
const CONTEXT = 64;

/** What the studio's load path does with a mutant in Node: loads, or the error's kind and message. */
async function expected(
  m: Mutant,
  demo: LoadedModel,
): Promise<{ kind: string; message: string } | null> {
  const sources = Object.entries(m.files).map(([n, b]) => bytesSource(n, b));
  try {
    if (m.target === 'model') await openSession(sources, () => {});
    else await loadData({ model: demo, data: null }, sources[0]!, CONTEXT, () => {});
    return null;
  } catch (e) {
    if (!(e instanceof StudioError))
      throw new Error(`mutant ${m.index} is not refused properly: ${String(e)}`, { cause: e });
    return { kind: e.kind, message: e.message };
  }
}

const files = (m: Mutant) =>
  Object.entries(m.files).map(([name, bytes]) => ({
    name,
    mimeType: 'application/octet-stream',
    buffer: Buffer.from(bytes),
  }));

/**
 * The start of an expected message (at most 70 characters), as the page must contain it. The
 * expectation is computed in Node, whose V8 words JSON.parse errors differently from Chromium's
 * ("Unexpected token 'm', …" against "Expected ':' after property name … (line 1 column 9)"), so a
 * JSON error is compared up to the studio's own words ("…: header is not valid JSON",
 * "config.json: invalid JSON"), and the error kind is compared as well.
 */
const start = (message: string) =>
  (/^.*?valid JSON/i.exec(message)?.[0] ?? message).slice(0, 70).replace(/\s+/g, ' ').trim();

async function pageErrorsOf(page: Page): Promise<string[]> {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  return errors;
}

test(`mutated files on the file inputs show their error in place (seed ${SEED})`, async ({
  page,
}) => {
  test.setTimeout(300_000);
  console.log(`fuzz seed ${SEED} (FUZZ_SEED=${SEED} reproduces it)`);
  BASE.ggufQuant = await quantizedDemoGguf();
  const errors = await pageErrorsOf(page);
  const demo = await openSession(
    Object.entries(baseFiles(BASE, 'safetensors')).map(([n, b]) => bytesSource(n, b)),
    () => {},
  );
  // 16 model mutants and 8 data mutants of this seed, in index order.
  const model: Mutant[] = [];
  const data: Mutant[] = [];
  for (let i = 0; model.length < 16 || data.length < 8; i++) {
    const m = makeMutant(BASE, SEED, i);
    const into = DATA_FORMATS.includes(m.format) ? data : model;
    if (into.length < (into === model ? 16 : 8)) into.push(m);
  }

  await openStudio(page);
  const modelPanel = page.getByRole('region', { name: 'Model' });
  const dataPanel = page.getByRole('region', { name: 'Data' });
  const modelInput = page.getByLabel('Model files');
  const summary = page.getByLabel('Model summary');
  let outcomes = { loaded: 0, refused: 0 };
  for (const m of model) {
    const want = await expected(m, demo);
    const what = `mutant ${m.index} (${m.op.slice(0, 120)})`;
    // A known error first, so what follows is this mutant's own outcome.
    await modelInput.setInputFiles({
      name: 'reset.gguf',
      mimeType: 'application/octet-stream',
      buffer: Buffer.from('not a gguf'),
    });
    await expect(modelPanel.getByRole('alert'), what).toContainText('reset.gguf: bad magic');
    await modelInput.setInputFiles(files(m));
    if (want) {
      const alert = modelPanel.getByRole('alert');
      await expect(alert, what).toContainText(start(want.message));
      await expect(alert, what).toHaveAttribute('data-error-kind', want.kind);
      outcomes.refused++;
    } else {
      await expect(summary, what).toBeVisible();
      await expect(modelPanel.getByRole('alert'), what).toBeHidden();
      outcomes.loaded++;
    }
  }
  console.log(`model mutants: ${outcomes.loaded} loaded, ${outcomes.refused} refused in place`);

  // The page keeps working: the demo model and its data load, then the data mutants.
  await page.getByRole('button', { name: 'Use demo model' }).click();
  await expect(page.getByLabel('Data summary')).toContainText('tinystories-197k.txt');
  await page.getByRole('spinbutton', { name: 'Target context' }).fill(String(CONTEXT));
  await expect(page.getByLabel('Data summary')).toContainText(`× ${CONTEXT} tokens`);
  const dataInput = page.getByLabel('Training data');
  outcomes = { loaded: 0, refused: 0 };
  for (const m of data) {
    const want = await expected(m, demo);
    const what = `mutant ${m.index} (${m.op.slice(0, 120)})`;
    await dataInput.setInputFiles({
      name: 'reset.txt',
      mimeType: 'text/plain',
      buffer: Buffer.from('\n\n'),
    });
    await expect(dataPanel.getByRole('alert'), what).toContainText('reset.txt is empty');
    await dataInput.setInputFiles(files(m)[0]!);
    if (want) {
      const alert = dataPanel.getByRole('alert');
      await expect(alert, what).toContainText(start(want.message));
      await expect(alert, what).toHaveAttribute('data-error-kind', want.kind);
      outcomes.refused++;
    } else {
      await expect(page.getByLabel('Data summary'), what).toContainText(Object.keys(m.files)[0]!);
      await expect(dataPanel.getByRole('alert'), what).toBeHidden();
      outcomes.loaded++;
    }
  }
  console.log(`data mutants: ${outcomes.loaded} loaded, ${outcomes.refused} refused in place`);

  // Still working: the demo data loads again and the memory plan is shown.
  await page.getByRole('button', { name: 'Use demo model' }).click();
  await expect(page.getByLabel('Data summary')).toContainText('tinystories-197k.txt');
  await expect(page.getByRole('button', { name: 'Start training' })).toBeEnabled();
  expect(errors, 'uncaught page errors').toEqual([]);
});
