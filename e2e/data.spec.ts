/**
 * The Data panel cuts text the way the user means it: a .txt is one document unless it carries
 * separator lines (<|endoftext|>) or the user picks a separator; the document count and the first
 * boundary show what the choice does. {text} JSONL records are documents. Instruction records are
 * shown as the model will read them, the prompt marked as not in the loss.
 */
import { readFileSync } from 'node:fs';
import { expect, test, type Page } from '@playwright/test';
import { hfTokenizer } from '../src/io/tokenizer.ts';
import { qwenStyleTokenizerFiles } from '../src/test/bpe-train.ts';
import { tinyHfFolder, TINY_MODELS } from '../src/test/fixtures.ts';
import { openStudio, watch } from './helpers.ts';

const TEXT = readFileSync('public/demo/tinystories-197k.txt', 'utf8');
const paragraphs = (t: string) =>
  t
    .split(/\r?\n[ \t\r]*\n/)
    .map((d) => d.trim())
    .filter(Boolean);
const lines = (t: string) =>
  t
    .split(/\r?\n/)
    .map((d) => d.trim())
    .filter(Boolean);

const count = (n: number) => n.toLocaleString('en-US');

/** The "Documents" / "Records" value in the data summary. */
const documents = (page: Page, term = 'Documents') =>
  page.getByLabel('Data summary').locator(`dt:text-is("${term}") + dd`);

test('the Data panel: one document by default, a separator the user picks, separator lines detected, text records, token ids and a bad id', async ({
  page,
}) => {
  const seen = watch(page);
  await openStudio(page);
  await page.getByRole('button', { name: 'Use demo model' }).click();
  const summary = page.getByLabel('Data summary');
  await expect(summary).toContainText('tinystories-197k.txt');
  await expect(summary).toContainText('Plain text');

  // TinyStories has blank lines between paragraphs but no separator lines: one document.
  const separator = page.getByLabel('Document separator');
  const boundary = page.getByLabel('First document boundary');
  await expect(documents(page)).toHaveText('1');
  await expect(separator.locator('option:checked')).toHaveText(
    'None: the file is one document (detected)',
  );
  await expect(boundary).toHaveText('One document: no boundary inside the file.');

  // Blank lines as separators: a document per paragraph, and the boundary between the first two.
  await separator.selectOption({ label: 'Blank line' });
  const paras = paragraphs(TEXT);
  await expect(documents(page)).toHaveText(count(paras.length));
  await expect(boundary).toContainText(`${paras[0]!.slice(-40)} ⟨EOS⟩ ${paras[1]!.slice(0, 40)}`);

  // Every line: more documents (some paragraphs span several lines).
  await separator.selectOption({ label: 'Every line' });
  await expect(documents(page)).toHaveText(count(lines(TEXT).length));
  expect(lines(TEXT).length).toBeGreaterThan(paras.length);

  // Back to none: one document again.
  await separator.selectOption({ label: 'None: the file is one document (detected)' });
  await expect(documents(page)).toHaveText('1');
  await expect(boundary).toHaveText('One document: no boundary inside the file.');

  // A file with <|endoftext|> lines is cut there, detected without asking.
  const stories = paragraphs(TEXT.slice(0, 60_000));
  const parts = [stories.slice(0, 100), stories.slice(100, 200), stories.slice(200)].map((p) =>
    p.join('\n\n'),
  );
  await page.getByLabel('Training data').setInputFiles({
    name: 'stories.txt',
    mimeType: 'text/plain',
    buffer: Buffer.from(parts.join('\n<|endoftext|>\n')),
  });
  await expect(summary).toContainText('stories.txt');
  await expect(documents(page)).toHaveText('3');
  await expect(separator.locator('option:checked')).toHaveText(
    'Lines of only <|endoftext|> or EOS (detected)',
  );
  await expect(boundary).toContainText(
    `${stories[99]!.slice(-40)} ⟨EOS⟩ ${stories[100]!.slice(0, 40)}`,
  );

  // JSONL records with a text field: one document each, no separator to pick.
  const records = parts.map((text, i) => JSON.stringify({ text, meta: { id: i } })).join('\n');
  await page.getByLabel('Training data').setInputFiles({
    name: 'pg19.jsonl',
    mimeType: 'application/json',
    buffer: Buffer.from(records),
  });
  await expect(summary).toContainText('pg19.jsonl');
  await expect(summary).toContainText('JSONL text records');
  await expect(documents(page, 'Records')).toHaveText('3');
  await expect(separator).toHaveCount(0);
  await expect(page.getByRole('button', { name: 'Start training' })).toBeEnabled();

  // Token ids: the stream as it is; an id outside the vocabulary is refused, naming it.
  const ids = Array.from({ length: 1100 }, (_, i) => (i * 37 + 5) % 512);
  const dropIds = (list: number[]) =>
    page.getByLabel('Training data').setInputFiles({
      name: 'ids.json',
      mimeType: 'application/json',
      buffer: Buffer.from(JSON.stringify(list)),
    });
  await dropIds(ids);
  await expect(summary).toContainText('Token ids (JSON)');
  await expect(summary).toContainText('1 × 1,024 tokens');
  await dropIds([...ids.slice(0, 10), 600, ...ids.slice(10)]);
  const alert = page.getByRole('region', { name: 'Data' }).getByRole('alert');
  await expect(alert).toContainText('The training data cannot be used');
  await expect(alert).toContainText(
    'Token id 600 (element 11) is outside the vocabulary of 512 ids (0 to 511).',
  );
  expect(seen.errors, 'console errors').toEqual([]);
});

test("instruction records: the Data panel shows the first one in the model's chat template, its prompt marked as not in the loss", async ({
  page,
}) => {
  const seen = watch(page);
  await openStudio(page);
  // A tiny Qwen2 with Qwen's kind of tokenizer: byte-level BPE, no BOS, a ChatML chat template.
  const qwen = qwenStyleTokenizerFiles(TEXT.slice(0, 40_000));
  const folder = tinyHfFolder({ ...TINY_MODELS['tiny-qwen2-f32']!, tokenizer: qwen });
  await page.getByLabel('Model files').setInputFiles(
    Object.entries(folder).map(([name, bytes]) => ({
      name,
      mimeType: 'application/octet-stream',
      buffer: Buffer.from(bytes),
    })),
  );
  await expect(page.getByLabel('Model summary')).toContainText('Qwen2ForCausalLM');

  const records = Array.from({ length: 30 }, (_, i) =>
    JSON.stringify({
      instruction: `Name the color of the sky, story ${i}.`,
      input: 'One word.',
      output: `Blue. Once upon a time, there was a girl named Lily ${i}.`,
    }),
  ).join('\n');
  const dropRecords = () =>
    page.getByLabel('Training data').setInputFiles({
      name: 'alpaca.jsonl',
      mimeType: 'application/json',
      buffer: Buffer.from(records),
    });
  await dropRecords();
  const example = page.getByRole('figure', { name: 'Rendered example' });
  const prompt = example.getByLabel('Prompt, not in the loss');
  const answer = example.getByLabel('Answer, in the loss');
  const user = 'Name the color of the sky, story 0.\n\nOne word.';
  const chatPrompt =
    '<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n' +
    `<|im_start|>user\n${user}<|im_end|>\n<|im_start|>assistant\n`;
  await expect(prompt).toHaveText(chatPrompt, { useInnerText: true });
  await expect(answer).toHaveText(/^Blue\. Once upon a time, there was a girl named Lily 0\./);
  // The counts are the tokenizer's own: the prompt's tokens are the masked ones.
  const tok = hfTokenizer(qwen.tokenizer, qwen.tokenizerConfig);
  const n = tok.encode(chatPrompt).length;
  await expect(example).toContainText(
    `First record in the model's chat template. Greyed: the prompt, not in the loss (${n} tokens)`,
  );
  // Greyed as the caption says: the prompt is drawn fainter than the answer.
  const look = (l: typeof prompt) =>
    l.evaluate((el) => {
      const s = getComputedStyle(el);
      return `${s.color} ${s.opacity}`;
    });
  expect(await look(prompt)).not.toBe(await look(answer));

  // The demo model has no chat template: the same records in LongAlpaca's [INST] format.
  await page.getByRole('button', { name: 'Use demo model' }).click();
  await expect(page.getByLabel('Model summary')).toContainText('stories260K');
  await dropRecords();
  await expect(example).toContainText('as [INST]…[/INST] (the model has no chat template)');
  await expect(prompt).toHaveText(`[INST]${user}[/INST]`, { useInnerText: true });
  await expect(answer).toHaveText(/^Blue\. Once upon a time/);
  expect(seen.errors, 'console errors').toEqual([]);
});
