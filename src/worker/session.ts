/**
 * The worker's state between calls: the opened model, its tokenizer and the training text, and the
 * functions that turn them into what the UI shows (summaries, the memory plan).
 */
import type { AdapterSummary } from '../engine/device.ts';
import { linearShape, trainedTensorShapes, type ModelConfig } from '../io/config.ts';
import { numel, storedWeightBytes } from '../io/dtype.ts';
import { createTokenizer, openModel, storedTypes, type OpenedModel } from '../io/model.ts';
import { baseName, readJson, readText, type ByteSource } from '../io/source.ts';
import type { Tokenizer } from '../io/tokenizer.ts';
import { defaultTargetContext, ropeProblem, type LoraSettings } from '../model/longlora.ts';
import {
  budgetProblem,
  frozenTypeOf,
  hostBudgetProblem,
  planWithOffload,
  runProblems,
} from '../model/plan.ts';
import { DEFAULT_MEMORY_BUDGET } from '../util/memory-budget.ts';
import { IGNORE_INDEX } from '../util/labels.ts';
import { buildDataset, type Dataset, type Separator } from '../train/data.ts';
import { groupOf, loraOf, ropeFactorOf, type RunSettings } from '../train/settings.ts';
import type { DataSummary, LoadProgress, MemoryPlan, ModelSummary } from './protocol.ts';
import { NotReadyError } from '../util/errors.ts';

/** An opened model with its tokenizer. */
export interface LoadedModel {
  opened: OpenedModel;
  tokenizer: Tokenizer | null;
  name: string;
  /** The base model's own config.json (carried into the exported config), when one was given. */
  configJson?: Record<string, unknown>;
}

/** Training data: its text (kept to re-cut at another context) and its current blocks. */
export interface LoadedData {
  name: string;
  text: string;
  dataset: Dataset;
  /** The separator the user picked for plain text (undefined: as detected). */
  separator?: Separator;
}

export interface Session {
  model: LoadedModel | null;
  data: LoadedData | null;
}

/** Opens a model and its tokenizer; throws FormatError for files that do not make a model. */
export async function openSession(
  sources: ByteSource[],
  onProgress: (p: LoadProgress) => void,
  displayName?: string,
): Promise<LoadedModel> {
  const total = sources.reduce((n, s) => n + s.size, 0);
  onProgress({
    phase: 'parsing',
    bytesDone: 0,
    bytesTotal: total,
    shardsDone: 0,
    shardsTotal: sources.length,
  });
  const opened = await openModel(sources);
  const tokenizer = createTokenizer(opened.tokenizer, opened.config);
  const shards = new Set(opened.tensors.map((x) => x.file)).size;
  onProgress({
    phase: 'done',
    bytesDone: total,
    bytesTotal: total,
    shardsDone: shards,
    shardsTotal: shards,
  });
  const name = displayName ?? guessName(sources);
  const cfgSource = sources.find((s) => baseName(s.name) === 'config.json');
  const configJson = cfgSource
    ? ((await readJson(cfgSource).catch(() => undefined)) as Record<string, unknown> | undefined)
    : undefined;
  return { opened, tokenizer, name, configJson };
}

/** What the UI shows about an opened model. */
export function modelSummary(m: LoadedModel): ModelSummary {
  const { opened: o } = m;
  const c = o.config;
  const dtypes: Record<string, number> = {};
  for (const t of o.tensors) dtypes[t.dtype] = (dtypes[t.dtype] ?? 0) + 1;
  const notes: string[] = [];
  if (!m.tokenizer) notes.push('No tokenizer was found: training data cannot be tokenized.');
  if (c.ropeScaling)
    notes.push(
      `The model already uses ${c.ropeScaling.type} RoPE scaling ×${c.ropeScaling.factor}.`,
    );
  const stored = storedTypes(o.tensors);
  const quantized = o.tensors.some((t) => t.stored);
  return {
    name: m.name,
    format: o.format,
    architecture: c.architecture,
    parameters: o.parameterCount,
    dtypes,
    storedTypes: stored,
    quantized,
    contextLength: c.maxPositions,
    defaultContext: defaultTargetContext(c),
    vocabSize: c.vocabSize,
    hiddenSize: c.hidden,
    layers: c.layers,
    heads: c.heads,
    kvHeads: c.kvHeads,
    intermediateSize: c.intermediate,
    tiedEmbeddings: c.tieWordEmbeddings,
    weightBytes: stored.reduce((n, s) => n + s.bytes, 0),
    files: [...new Set(o.tensors.map((t) => t.file))],
    missingFiles: o.missing,
    unexpectedFiles: o.unexpected,
    notes,
  };
}

/** Reads training text and tokenizes it into blocks of `context` tokens. */
export async function loadData(
  session: Session,
  source: ByteSource,
  context: number,
  onProgress: (p: LoadProgress) => void,
): Promise<LoadedData> {
  const tok = session.model?.tokenizer;
  if (!tok)
    throw new NotReadyError('Load a model with a tokenizer first: the data is tokenized with it.');
  const name = baseName(source.name);
  const text = await readText(source);
  const dataset = buildDataset(name, text, tok, {
    context,
    vocabSize: session.model?.opened.config.vocabSize,
    onProgress: (done, total) =>
      onProgress({
        phase: 'tokenizing',
        bytesDone: done,
        bytesTotal: total,
        shardsDone: 0,
        shardsTotal: 1,
        file: name,
      }),
  });
  return { name, text, dataset };
}

/**
 * The loaded data cut into blocks of `context` tokens, re-cut from its text when its blocks have
 * another length; kept in the session unless `keep` is false (an evaluation at another context).
 */
export function cutData(session: Session, context: number, { keep = true } = {}): Dataset {
  const d = session.data;
  const tok = session.model?.tokenizer;
  if (!d || !tok) throw new NotReadyError('Load training data first.');
  if (d.dataset.context === context) return d.dataset;
  const dataset = buildDataset(d.name, d.text, tok, {
    context,
    separator: d.separator,
    vocabSize: session.model?.opened.config.vocabSize,
  });
  if (keep) d.dataset = dataset;
  return dataset;
}

/** Re-cuts the loaded plain text into documents at `separator` and keeps it (blocks of `context`). */
export function recutData(session: Session, separator: Separator, context: number): Dataset {
  const d = session.data;
  const tok = session.model?.tokenizer;
  if (!d || !tok) throw new NotReadyError('Load training data first.');
  d.dataset = buildDataset(d.name, d.text, tok, {
    context,
    separator,
    vocabSize: session.model?.opened.config.vocabSize,
  });
  d.separator = separator;
  return d.dataset;
}

const SUMMARY_FORMAT: Record<Dataset['format'], DataSummary['format']> = {
  text: 'text',
  'alpaca-json': 'json',
  'alpaca-jsonl': 'jsonl',
  'text-json': 'text-json',
  'text-jsonl': 'text-jsonl',
  'token-ids': 'token-ids',
};

/** What the UI shows about the data. */
export function dataSummary(d: LoadedData): DataSummary {
  const ds = d.dataset;
  const blocks = [...ds.train, ...ds.heldOut];
  let masked = 0;
  for (const b of blocks)
    for (let t = 0; t < b.labels.length - 1; t++) if (b.labels[t] === IGNORE_INDEX) masked++;
  return {
    name: d.name,
    format: SUMMARY_FORMAT[ds.format],
    separator: ds.separator,
    detectedSeparator: ds.detectedSeparator,
    boundary: ds.boundary,
    documents: ds.documents,
    tokens: ds.tokens,
    maskedTokens: masked,
    blocks: blocks.length,
    context: ds.context,
    samples: ds.samples,
    example: ds.example,
  };
}

/**
 * Plans training memory for `s` against the adapter's limits and the GPU memory the user stated
 * (`budgetBytes`; null: an assumption). What cannot run is a problem; more memory than the budget
 * is a warning, since WebGPU cannot see the card's memory and the user may know better.
 */
export function planFor(
  session: Session,
  a: AdapterSummary,
  s: RunSettings,
  budgetBytes: number | null,
): MemoryPlan {
  const m = session.model;
  if (!m) throw new NotReadyError('Load a model first.');
  const c = m.opened.config;
  // A RoPE scaling that cannot be trained at this context stops the run; plan the rest as unscaled.
  const rope = ropeProblem(s.context, c);
  const lora = loraOf(s);
  const group = groupOf(s);
  const factor = ropeFactorOf(s, rope ? { ...c, ropeScaling: null } : c);
  const limits = {
    maxBufferSize: a.limits.maxBufferSize,
    maxStorageBufferBindingSize: a.limits.maxStorageBufferBindingSize,
  };
  const budget = budgetBytes ?? DEFAULT_MEMORY_BUDGET;
  const input = {
    shape: m.opened.config,
    weightBytes: storedWeightBytes(m.opened.dtypes),
    frozenType: frozenTypeOf({ tensors: m.opened.tensors, dtype: m.opened.dtypes[0] }, s.baseQuant),
    lora,
    context: s.context,
    checkpointing: s.checkpointing,
    limits,
  };
  const plan = planWithOffload(input, s.offload, budget);
  const hostBudget = browserHostBudget();
  const problems = runProblems(plan, { ...s, pattern: s.attention, group, lora }, limits, Infinity);
  if (rope) {
    const fix =
      c.ropeScaling?.type === 'llama3'
        ? `Use at most ${c.maxPositions} tokens.`
        : 'Train a model without dynamic RoPE scaling.';
    problems.push({ message: rope, fix });
  }
  const d = session.data?.dataset;
  if (d && d.context === s.context && d.train.length === 0) {
    problems.push({
      message: `The data yields no full block of ${s.context} tokens.`,
      fix: 'Add more text or lower the target context.',
    });
  }
  const over = budgetProblem(plan, budget, budgetBytes !== null);
  const warnings = over
    ? [{ message: over, fix: 'Start anyway if your GPU has more free memory than stated.' }]
    : [];
  // The browser reports its memory only roughly (navigator.deviceMemory, at most 8 GiB): an
  // assumption, so over it is a warning, as the GPU budget's is.
  const hostOver = hostBudgetProblem(plan, hostBudget, '');
  if (hostOver) {
    warnings.push({
      message: hostOver.trim(),
      fix: 'Keep checkpoints in GPU memory or lower the target context; start anyway if this computer has more free memory.',
    });
  }
  return {
    checkpointBytes: checkpointBytes(c, lora),
    bytes: plan.bytes,
    baseTypes: plan.baseTypes,
    total: plan.total,
    largestBuffer: plan.largestBuffer.bytes,
    hostBytes: plan.hostBytes,
    host: plan.host,
    offloaded: plan.offloaded,
    hostBudget,
    limits: { ...limits, budget },
    budgetStated: budgetBytes !== null,
    ropeFactor: factor,
    groupSize: group,
    fits: problems.length === 0,
    problems,
    warnings,
  };
}

/**
 * The host memory a studio plan is checked against: half the memory the browser reports
 * (navigator.deviceMemory, in GiB, rounded and capped at 8 by browsers), or 4 GiB where it reports
 * none; always an assumption, since a page cannot see what is free.
 */
export function browserHostBudget(
  deviceMemory = (globalThis.navigator as { deviceMemory?: number } | undefined)?.deviceMemory,
): { bytes: number; stated: false; assumed: string } {
  const GiB = 2 ** 30;
  if (typeof deviceMemory === 'number' && deviceMemory > 0)
    return {
      bytes: (deviceMemory / 2) * GiB,
      stated: false,
      assumed: `half the ${deviceMemory} GiB the browser reports`,
    };
  return { bytes: 4 * GiB, stated: false, assumed: 'the browser reports no memory size' };
}

/** A folder's name when one was dropped, else the weights file's base name. */
function guessName(sources: ByteSource[]): string {
  const inFolder = sources.find((s) => s.name.includes('/'));
  if (inFolder) return inFolder.name.slice(0, inFolder.name.indexOf('/'));
  const weights = sources.find((s) => /\.(gguf|safetensors)$/i.test(s.name)) ?? sources[0];
  return (weights?.name ?? 'model').replace(/\.[^.]+$/, '');
}

/**
 * Bytes of one checkpoint: every trained tensor (LoRA A and B of each target, the embedding and the
 * norms when trained, Qwen3's q/k norms included) with its two AdamW moments, as f32, plus ~16 KiB
 * for the manifest.
 */
export function checkpointBytes(
  c: Pick<
    ModelConfig,
    'vocabSize' | 'hidden' | 'layers' | 'heads' | 'kvHeads' | 'headDim' | 'intermediate' | 'qkNorm'
  >,
  lora: Pick<LoraSettings, 'rank' | 'targets' | 'trainEmbed' | 'trainNorm'>,
): number {
  let n = 0;
  for (const t of lora.targets) {
    const [out, inp] = linearShape(c, t);
    n += lora.rank * (out + inp) * c.layers;
  }
  for (const shape of trainedTensorShapes(c, lora).values()) n += numel(shape);
  return 3 * 4 * n + 16 * 1024;
}
