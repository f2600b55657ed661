/**
 * One row of the training-step benchmark (npm run bench:step): its fixture and context, and the
 * measurement itself, shared by the Node child (bench/bench-step.ts) and the Chromium page
 * (bench/bench-step-page.ts) so both hosts run the same code on their adapter.
 */
import { fmaPeakGflops } from './fma.ts';
import type { Runtime } from '../src/engine/runtime.ts';
import { linearShape, LINEAR_NAMES } from '../src/io/config.ts';
import { createTokenizer, type OpenedModel } from '../src/io/model.ts';
import { LlamaModel } from '../src/model/llama.ts';
import { loadParams } from '../src/model/session.ts';
import { tuneModelKernels, tuneModelOf } from '../src/model/tune.ts';
import { buildDataset } from '../src/train/data.ts';
import { Trainer } from '../src/train/trainer.ts';
import { cliDefaults, loraOf } from '../src/train/settings.ts';

export interface Row {
  id: string;
  label: string;
  /** public/demo, or a real model name for make-fixtures. */
  model: string;
  layers?: number;
  context: number;
}

export const ROWS: Row[] = [
  { id: 'stories260k', label: 'stories260K', model: 'public/demo', context: 1024 },
  {
    id: 'smollm2-4l',
    label: 'SmolLM2-135M, 4 layers',
    model: 'smollm2-135m',
    layers: 4,
    context: 256,
  },
  { id: 'smollm2', label: 'SmolLM2-135M (30 layers)', model: 'smollm2-135m', context: 256 },
  {
    id: 'tinyllama-1l-2k',
    label: 'TinyLlama-1.1B, 1 layer',
    model: 'tinyllama-1.1b',
    layers: 1,
    context: 2048,
  },
  {
    id: 'tinyllama-1l-4k',
    label: 'TinyLlama-1.1B, 1 layer',
    model: 'tinyllama-1.1b',
    layers: 1,
    context: 4096,
  },
  {
    id: 'tinyllama-1l-8k',
    label: 'TinyLlama-1.1B, 1 layer',
    model: 'tinyllama-1.1b',
    layers: 1,
    context: 8192,
  },
];

/** The text every row trains on (public/demo's, served at /demo/ in the browser). */
export const DATA_FILE = 'tinystories-197k.txt';

/** The fixture's folder under the repository (public/demo or fixtures/generated/step/…). */
export function fixturePath(r: Row): string {
  if (r.model === 'public/demo') return r.model;
  return `fixtures/generated/step/${r.model}${r.layers ? `-${r.layers}l` : ''}`;
}

/**
 * Tunes the model's kernels (the store set with setTuneStore), then trains `steps` steps of `m` on
 * `text` at the row's context on `rt` and returns the row's figures.
 */
export async function measureStep(
  rt: Runtime,
  m: OpenedModel,
  text: string,
  r: Row,
  steps: number,
): Promise<Record<string, unknown>> {
  const c = m.config;
  const tok = createTokenizer(m.tokenizer, m.config)!;
  const data = buildDataset('data', text, tok, { context: r.context, heldOutBlocks: 0 });
  const settings = {
    ...cliDefaults(r.context),
    steps,
    evalEvery: 0,
    checkpointEvery: 0,
  };
  const peakBefore = await fmaPeakGflops(rt);
  const params = await loadParams(rt, m, loraOf(settings), settings.seed);
  const t0 = performance.now();
  await tuneModelKernels(rt, tuneModelOf(params), r.context, { budgetMs: 60_000 });
  const tuneMs = performance.now() - t0;
  const model = new LlamaModel(rt, params, { checkpointing: settings.checkpointing });
  const stepMs: number[] = [];
  const losses: number[] = [];
  let last = performance.now();
  const trainer = new Trainer(rt, model, data, settings, {
    modelFingerprint: 'bench-step',
    modelName: r.id,
    onEvent: (e) => {
      if (e.type !== 'step') return;
      const now = performance.now();
      stepMs.push(now - last);
      losses.push(e.record.loss);
      last = now;
    },
  });
  await trainer.run();
  const peakAfter = await fmaPeakGflops(rt);
  let matmulParams = c.vocabSize * c.hidden;
  for (const n of LINEAR_NAMES) {
    const [o, i] = linearShape(c, n);
    matmulParams += c.layers * o * i;
  }
  // The median of the steps after the first (which also compiles every pipeline); with two steps,
  // the second.
  const later = stepMs.slice(1).sort((x, y) => x - y);
  const ms = later.length ? later[Math.floor((later.length - 1) / 2)]! : stepMs[0]!;
  const gflops = (6 * matmulParams * r.context) / (ms * 1e6);
  const peak = (peakBefore + peakAfter) / 2;
  return {
    adapter: `${rt.info.name}${rt.info.description ? ` (${rt.info.description})` : ''}`,
    steps: stepMs.length,
    firstStepMs: Math.round(stepMs[0]!),
    stepMs: Math.round(ms * 10) / 10,
    tokensPerSec: r.context / (ms / 1000),
    matmulParams,
    modelGflops: gflops,
    fmaPeakGflops: peak,
    fmaPeakBefore: peakBefore,
    fmaPeakAfter: peakAfter,
    fractionOfPeak: gflops / peak,
    peakGpuBytes: rt.memory.snapshot().peakTotal,
    tuneMs: Math.round(tuneMs),
    losses,
  };
}
