/**
 * The README's "Memory at real sizes" table is the plan `longlora info` prints for the real configs
 * (a config.json without weights, planned in its torch_dtype) under a 128 MiB binding / 256 MiB
 * buffer cap, for the base weights as stored and quantized on load (--base-quant q8_0, q4_k). When
 * the plan changes, this test fails with the table as it now is, to paste into the README.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseHfConfig } from '../io/config.ts';
import type { BaseQuant } from '../model/base-quant.ts';
import { defaultLora } from '../model/longlora.ts';
import { planTraining } from '../model/plan.ts';
import { REAL_MODEL_NAMES, realConfigJson, type RealModelName } from '../test/real-shapes.ts';
import { planInputFor } from './common.ts';

const MiB = 2 ** 20;
const CONTEXTS = [1024, 2048, 4096, 8192, 16384, 32768];
const NAMES: Record<RealModelName, string> = {
  'smollm2-135m': 'SmolLM2-135M',
  'tinyllama-1.1b': 'TinyLlama-1.1B',
  'llama-3.2-1b': 'Llama-3.2-1B',
  'llama-2-7b': 'Llama-2-7B',
};
const BASES: [BaseQuant, string][] = [
  ['none', 'as stored (bf16)'],
  ['q8_0', 'Q8_0'],
  ['q4_k', 'Q4_K'],
];

/** GiB planned for a model at a context, as `info --model DIR --context N` with the caps. */
function planned(name: RealModelName, context: number, baseQuant: BaseQuant): string {
  const json = realConfigJson(name);
  expect(json.torch_dtype).toBe('bfloat16');
  const m = {
    config: parseHfConfig(json, `${name}/config.json`),
    dtypes: ['BF16' as const],
    tensors: [],
  };
  const input = planInputFor(m, defaultLora(), context, {
    checkpointing: true,
    optimizerState: true,
    baseQuant,
  });
  const limits = { maxBufferSize: 256 * MiB, maxStorageBufferBindingSize: 128 * MiB };
  return (planTraining({ ...input, limits }).total / 2 ** 30).toFixed(2);
}

/** The table as the plan gives it today. */
function table(): string {
  const k = (n: number) => `${n / 1024}k`;
  const lines = [
    `| model | base weights | ${CONTEXTS.map(k).join(' | ')} |`,
    `| --- | --- |${' --- |'.repeat(CONTEXTS.length)}`,
  ];
  for (const name of REAL_MODEL_NAMES)
    for (const [q, label] of BASES)
      lines.push(
        `| ${q === 'none' ? NAMES[name] : ''} | ${label} | ${CONTEXTS.map((c) => planned(name, c, q)).join(' | ')} |`,
      );
  return lines.join('\n');
}

describe("the README's memory table", () => {
  it('is the plan of the real configs, stored and quantized on load', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const want = table();
    expect(readme.includes(want), `README.md's table should read:\n${want}`).toBe(true);
  });
});
