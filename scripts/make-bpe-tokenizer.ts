/**
 * Trains a small byte-level BPE tokenizer on text (default: the demo's TinyStories) and writes a
 * Qwen2-, Llama 3- or SmolLM2-style tokenizer.json + tokenizer_config.json (src/test/bpe-train.ts).
 *
 *   npx tsx scripts/make-bpe-tokenizer.ts --out DIR [--style qwen2|llama3|smollm2] [--merges 300]
 *                                         [--text FILE] [--chat-template]
 *
 * --chat-template puts the Qwen2.5-style ChatML template into tokenizer_config.json (qwen2 style).
 */
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  QWEN25_STYLE_CHAT_TEMPLATE,
  trainedTokenizerFiles,
  type ByteLevelStyle,
} from '../src/test/bpe-train.ts';

const STYLES: readonly ByteLevelStyle[] = ['qwen2', 'llama3', 'smollm2'];
const { values } = parseArgs({
  options: {
    out: { type: 'string' },
    style: { type: 'string', default: 'qwen2' },
    merges: { type: 'string', default: '300' },
    text: { type: 'string' },
    'chat-template': { type: 'boolean', default: false },
  },
});
if (!values.out) throw new Error('--out DIR is required');
const style = values.style as ByteLevelStyle;
if (!STYLES.includes(style)) throw new Error(`--style must be one of ${STYLES.join(', ')}`);
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const text = readFileSync(values.text ?? join(root, 'public/demo/tinystories-197k.txt'), 'utf8');
const t0 = performance.now();
const { tokenizer, tokenizerConfig } = trainedTokenizerFiles(style, text, Number(values.merges));
if (values['chat-template']) tokenizerConfig.chat_template = QWEN25_STYLE_CHAT_TEMPLATE;
await mkdir(values.out, { recursive: true });
await writeFile(join(values.out, 'tokenizer.json'), `${JSON.stringify(tokenizer, null, 2)}\n`);
await writeFile(
  join(values.out, 'tokenizer_config.json'),
  `${JSON.stringify(tokenizerConfig, null, 2)}\n`,
);
const model = tokenizer.model as { vocab: object; merges: unknown[] };
console.log(
  `${style}: ${model.merges.length} merges, ${Object.keys(model.vocab).length} tokens in the BPE vocabulary, ` +
    `written to ${values.out} in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
);
