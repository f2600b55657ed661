/**
 * The worker's state between calls: the opened model, its tokenizer and the training text, and the
 * functions that turn them into what the UI shows (summaries, the memory plan).
 */
import type { AdapterSummary } from '../engine/device.ts';
import { totalBytes } from '../engine/memory.ts';
import { dtypeBytes } from '../io/dtype.ts';
import { openModel, type OpenedModel } from '../io/model.ts';
import { baseName, fileSource, readJson, readText, type ByteSource } from '../io/source.ts';
import { spmTokenizer } from '../io/spm.ts';
import { hfTokenizer, type Tokenizer } from '../io/tokenizer.ts';
import { planProblem, planTraining } from '../model/plan.ts';
import { buildDataset, type Dataset } from '../train/data.ts';
import type {
  DataSummary,
  LoadProgress,
  MemoryPlan,
  ModelSummary,
  PlanProblem,
  TrainingSettings,
} from './protocol.ts';

export interface Session {
  model: {
    opened: OpenedModel;
    tokenizer: Tokenizer | null;
    name: string;
    /** The base model's own config.json (carried into the exported config), when one was given. */
    configJson?: Record<string, unknown>;
  } | null;
  data: { name: string; text: string; dataset: Dataset } | null;
}

/** Sources from the user's files, reporting bytes and files as they are opened. */
export function userSources(files: File[]): ByteSource[] {
  return files.map((f) => fileSource(f));
}

/** Opens a model and its tokenizer; throws FormatError for files that do not make a model. */
export async function openSession(
  sources: ByteSource[],
  onProgress: (p: LoadProgress) => void,
  displayName?: string,
): Promise<Session['model'] & object> {
  const total = sources.reduce((n, s) => n + s.size, 0);
  onProgress({
    phase: 'parsing',
    bytesDone: 0,
    bytesTotal: total,
    shardsDone: 0,
    shardsTotal: sources.length,
  });
  const opened = await openModel(sources);
  let tokenizer: Tokenizer | null = null;
  const t = opened.tokenizer;
  if (t?.kind === 'hf') {
    tokenizer = hfTokenizer(t.json, t.config, {
      bosId: opened.config.bosId,
      eosId: opened.config.eosId,
    });
  } else if (t?.kind === 'gguf') {
    tokenizer = spmTokenizer(t.vocab);
  }
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
export function modelSummary(m: NonNullable<Session['model']>): ModelSummary {
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
  return {
    name: m.name,
    format: o.format,
    architecture: c.architecture,
    parameters: o.parameterCount,
    dtypes,
    contextLength: c.maxPositions,
    vocabSize: c.vocabSize,
    hiddenSize: c.hidden,
    layers: c.layers,
    heads: c.heads,
    kvHeads: c.kvHeads,
    intermediateSize: c.intermediate,
    tiedEmbeddings: c.tieWordEmbeddings,
    weightBytes: o.tensors.reduce((n, t) => n + t.byteLength, 0),
    files: [...new Set(o.tensors.map((t) => t.file))],
    missingFiles: o.missing,
    unexpectedFiles: o.unexpected,
    notes,
  };
}

/** Tokenizes training text into blocks of `context` tokens. */
export async function buildData(
  session: Session,
  name: string,
  source: ByteSource,
  context: number,
  onProgress: (p: LoadProgress) => void,
): Promise<NonNullable<Session['data']>> {
  const tok = session.model?.tokenizer;
  if (!tok) throw new Error('Load a model with a tokenizer first: the data is tokenized with it.');
  const text = await readText(source);
  const dataset = buildDataset(name, text, tok, {
    context,
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

/** What the UI shows about the data. */
export function dataSummary(d: NonNullable<Session['data']>): DataSummary {
  const ds = d.dataset;
  const blocks = [...ds.train, ...ds.heldOut];
  let masked = 0;
  for (const b of blocks)
    for (let t = 0; t < b.labels.length - 1; t++) if (b.labels[t] === -100) masked++;
  return {
    name: d.name,
    format: ds.format === 'text' ? 'text' : ds.format === 'alpaca-json' ? 'json' : 'jsonl',
    documents: ds.documents,
    tokens: ds.tokens,
    maskedTokens: masked,
    blocks: blocks.length,
    context: ds.context,
    samples: ds.samples,
  };
}

/** WebGPU does not report VRAM: the budget is an assumption, smaller for software adapters. */
export function memoryBudget(a: AdapterSummary): number {
  return a.isSoftware ? 2 * 2 ** 30 : 4 * 2 ** 30;
}

/** Plans training memory for `s` and lists what would stop it, each with what to change. */
export function planFor(session: Session, a: AdapterSummary, s: TrainingSettings): MemoryPlan {
  const m = session.model;
  if (!m) throw new Error('Load a model first.');
  const c = m.opened.config;
  const weightBytes = Math.max(...m.opened.dtypes.map(dtypeBytes));
  const lora = {
    rank: s.loraRank,
    alpha: s.loraAlpha,
    targets: s.loraTargets,
    trainEmbed: s.trainEmbed,
    trainNorm: s.trainNorm,
  };
  const plan = planTraining({
    shape: c,
    weightBytes,
    lora,
    context: s.targetContext,
    checkpointing: true,
  });
  const budget = memoryBudget(a);
  const limits = {
    maxBufferSize: a.limits.maxBufferSize,
    maxStorageBufferBindingSize: a.limits.maxStorageBufferBindingSize,
    budget,
  };
  const problems: PlanProblem[] = [];
  const over = planProblem(plan, limits, budget);
  if (over) problems.push({ message: over, fix: 'Lower the target context or the LoRA rank.' });
  const groupSize = s.attention === 'full' ? s.targetContext : s.targetContext / 4;
  if (s.attention !== 'full' && (s.targetContext % 4 !== 0 || groupSize % 2 !== 0)) {
    problems.push({
      message: `Shifted sparse attention needs a context divisible by 8 (group size ${groupSize} must be even).`,
      fix: `Use ${Math.max(8, Math.round(s.targetContext / 8) * 8)} tokens.`,
    });
  }
  if (s.attention !== 'full' && c.heads % 2 !== 0) {
    problems.push({
      message: `S²-Attn shifts half the heads; this model has ${c.heads}.`,
      fix: 'Choose full attention.',
    });
  }
  if (s.loraTargets.length === 0 && !s.trainEmbed && !s.trainNorm) {
    problems.push({ message: 'Nothing is trainable.', fix: 'Pick at least one LoRA target.' });
  }
  if (
    session.data &&
    session.data.dataset.context === s.targetContext &&
    session.data.dataset.train.length === 0
  ) {
    problems.push({
      message: `The data yields no full block of ${s.targetContext} tokens.`,
      fix: 'Add more text or lower the target context.',
    });
  }
  const original = c.maxPositions * (c.ropeScaling?.type === 'linear' ? c.ropeScaling.factor : 1);
  return {
    bytes: plan.bytes,
    total: totalBytes(plan.bytes),
    largestBuffer: plan.largestBuffer.bytes,
    limits,
    ropeFactor: s.targetContext > original ? Math.ceil(s.targetContext / original) : 1,
    groupSize,
    fits: problems.length === 0,
    problems,
  };
}

/** A folder's name when one was dropped, else the weights file's base name. */
function guessName(sources: ByteSource[]): string {
  const inFolder = sources.find((s) => s.name.includes('/'));
  if (inFolder) return inFolder.name.slice(0, inFolder.name.indexOf('/'));
  const weights = sources.find((s) => /\.(gguf|safetensors)$/i.test(s.name)) ?? sources[0];
  return (weights?.name ?? 'model').replace(/\.[^.]+$/, '');
}
