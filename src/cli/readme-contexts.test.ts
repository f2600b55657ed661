/**
 * The README's "largest context" table (issue 27): for each config of the memory table, and
 * Llama-3.1-8B with LoRA on q, k, v, o, the largest context whose plan with a Q4_K base and offloaded
 * checkpoints (`longlora info --base-quant q4_k --offload checkpoints` under a 128 MiB binding / 256
 * MiB buffer cap) fits 8, 12 and 16 GiB of GPU memory, beside Unsloth's published QLoRA maxima for
 * Llama-3.1-8B. A context counts when `train` would run it: S²-Attn's G = N/4 (a multiple of 8), the
 * model's RoPE rule, the device limits and the budget (runProblems, ropeProblem). When the plan
 * changes, this test fails with the table as it now is, to paste into the README.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseHfConfig, type ModelConfig } from '../io/config.ts';
import { defaultLora, groupSize, ropeProblem, S2_GROUPS } from '../model/longlora.ts';
import { planWithOffload, runProblems, type MemoryPlan } from '../model/plan.ts';
import type { LoraSettings } from '../model/types.ts';
import { llama31Config } from '../test/llama31-config.ts';
import { REAL_MODEL_NAMES, realConfigJson } from '../test/real-shapes.ts';
import { planInputFor } from './common.ts';

const MiB = 2 ** 20;
const GiB = 2 ** 30;
const limits = { maxBufferSize: 256 * MiB, maxStorageBufferBindingSize: 128 * MiB };
const BUDGETS_GIB = [8, 12, 16];
/** S²-Attn with G = N/4 needs an even group: contexts step by this. */
const STEP = 2 * S2_GROUPS;
/** Unsloth's published QLoRA maxima for Llama-3.1-8B on 8, 12 and 16 GB cards (not measured here). */
const UNSLOTH = [2972, 21848, 40724];

interface Config {
  label: string;
  config: ModelConfig;
  lora: LoraSettings;
}

const CONFIGS: Config[] = [
  ...REAL_MODEL_NAMES.map((name) => {
    const json = realConfigJson(name);
    const label = {
      'smollm2-135m': 'SmolLM2-135M',
      'tinyllama-1.1b': 'TinyLlama-1.1B',
      'llama-3.2-1b': 'Llama-3.2-1B',
      'llama-2-7b': 'Llama-2-7B',
    }[name];
    return {
      label: `${label}, LongLoRA (LoRA+)`,
      config: parseHfConfig(json, `${name}/config.json`),
      lora: defaultLora(),
    };
  }),
  {
    label: 'Llama-3.1-8B, LoRA (q, k, v, o)',
    config: llama31Config(),
    lora: { ...defaultLora(), trainEmbed: false, trainNorm: false },
  },
];

/** The plan `info --context N --base-quant q4_k --offload checkpoints` gives with the caps. */
function plan(c: Config, context: number, budget: number): MemoryPlan {
  const m = { config: c.config, dtypes: ['BF16' as const], tensors: [] };
  const input = planInputFor(m, c.lora, context, {
    checkpointing: true,
    optimizerState: true,
    baseQuant: 'q4_k',
  });
  return planWithOffload({ ...input, limits }, 'checkpoints', budget);
}

/** Why `train` would not run `c` at `context` within `budget` bytes of GPU memory, or null. */
function problem(c: Config, context: number, budget: number): string | null {
  const rope = ropeProblem(context, c.config, 'train');
  if (rope) return rope;
  const p = plan(c, context, budget);
  const run = { context, pattern: 's2' as const, group: groupSize(context, 's2'), lora: c.lora };
  return runProblems(p, run, limits, budget)[0]?.message ?? null;
}

/**
 * The largest context (a multiple of STEP) that runs within `budget`: doubling, then bisection; the
 * plan grows with the context, which the test checks around the answer.
 */
function largestContext(c: Config, budget: number): number {
  const fits = (k: number) => problem(c, k * STEP, budget) === null;
  if (!fits(1)) return 0;
  let lo = 1;
  let hi = 2;
  while (fits(hi)) [lo, hi] = [hi, hi * 2];
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (fits(mid)) lo = mid;
    else hi = mid;
  }
  return lo * STEP;
}

const fmt = (n: number) => n.toLocaleString('en-US');

/** A cell: the context, what stops the next one when it is not the GPU budget, the host memory. */
function cell(c: Config, gib: number): string {
  const budget = gib * GiB;
  const n = largestContext(c, budget);
  const host = (plan(c, n, budget).hostBytes / GiB).toFixed(1);
  const rope = ropeProblem(n + STEP, c.config, 'train') !== null;
  return `${fmt(n)} (host ${host}${rope ? '; its max_position_embeddings' : ''})`;
}

/** The table as the plan gives it today. */
function table(): string {
  const cols = BUDGETS_GIB.map((g) => `${g} GiB`);
  return [
    `| model, training | ${cols.join(' | ')} |`,
    `| --- |${' --- |'.repeat(cols.length)}`,
    ...CONFIGS.map((c) => `| ${c.label} | ${BUDGETS_GIB.map((g) => cell(c, g)).join(' | ')} |`),
    `| Llama-3.1-8B, Unsloth's QLoRA (their published figures; 8/12/16 GB cards) | ${UNSLOTH.map(fmt).join(' | ')} |`,
  ].join('\n');
}

describe("the README's largest contexts with offloaded checkpoints", () => {
  it('each is the largest valid context whose plan fits, and the next ones do not', () => {
    for (const c of CONFIGS) {
      for (const gib of BUDGETS_GIB) {
        const n = largestContext(c, gib * GiB);
        expect(problem(c, n, gib * GiB), `${c.label} at ${n}`).toBeNull();
        expect(plan(c, n, gib * GiB).offloaded).toBe(true);
        // Bisection assumes the plan grows with the context: none of the next 64 contexts fits.
        for (let k = 1; k <= 64; k++)
          expect(
            problem(c, n + k * STEP, gib * GiB),
            `${c.label} at ${n + k * STEP}`,
          ).not.toBeNull();
      }
    }
  });

  it('Llama-3.1-8B LoRA goes past Unsloth at 8, 12 and 16 GiB', () => {
    const c = CONFIGS.at(-1)!;
    BUDGETS_GIB.forEach((gib, i) =>
      expect(largestContext(c, gib * GiB)).toBeGreaterThan(UNSLOTH[i]!),
    );
  });

  it('is in the README', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const want = table();
    expect(readme.includes(want), `README.md's table should read:\n${want}`).toBe(true);
  });
});
