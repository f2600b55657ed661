/**
 * The GPU memory plan for training at a context: bytes per category, computed from the same tensor
 * list the model allocates (params.ts; the activations and workspaces from activations.ts's
 * actsLayout and stepScratch, the descriptions allocateActs allocates), so the UI and `longlora
 * info` can refuse settings that cannot fit before anything is allocated.
 */
import { emptyMemoryBytes, totalBytes, type MemoryBytes } from '../engine/memory.ts';
import { formatBytes } from '../util/bytes.ts';
import { SettingsError } from '../util/errors.ts';
import { budgetWords } from '../util/memory-budget.ts';
import { attentionBlockRows } from '../engine/kernels/attention.ts';
import { crossEntropyChunkFor } from '../engine/kernels/cross_entropy.ts';
import { quantBlockByteSizes } from '../engine/quant-rows.ts';
import { blockByteSizes, blockBytesLimit } from '../engine/row-blocks.ts';
import { partRows } from '../engine/runtime.ts';
import {
  actsLayout,
  checkpoint16Default,
  layoutBuffers,
  layoutHostBuffers,
  MLP_BLOCK_TOKENS,
  mlpBlockTokens,
  rowBlockTokens,
  stepScratch,
} from './activations.ts';
import { archOf } from '../io/arch.ts';
import type { Offload } from './offload-setting.ts';
import { globalName, linearSource, moduleName, trainedTensorShapes } from '../io/block.ts';
import { numel } from '../io/dtype.ts';
import {
  frozenBytes,
  frozenType,
  frozenTypes,
  isQuantType,
  type BaseQuant,
  type FrozenType,
  type StoredTensor,
} from './base-quant.ts';
import {
  attentionProblem,
  defaultEmbedOptimizer,
  nearestS2Context,
  type EmbedOptimizer,
} from './longlora.ts';
import {
  LINEAR_NAMES,
  linearShape,
  type AttentionPattern,
  type LlamaShape,
  type LoraSettings,
} from './types.ts';

export interface PlanInput {
  shape: LlamaShape;
  /**
   * Bytes per element of the frozen weights as stored (4 for F32, 2 for F16/BF16): every frozen
   * matrix's, unless `frozenType` says otherwise.
   */
  weightBytes: number;
  /**
   * The GPU type of each frozen matrix by Hugging Face name (a fused tensor's name for its linears:
   * io/block.ts's linearSource) and row length, as LlamaParams uploads it (model/base-quant.ts:
   * `frozenTypes(tensors, baseQuant)`); without it, every frozen matrix is `weightBytes` wide.
   */
  frozenType?: (name: string, cols: number) => FrozenType;
  lora: LoraSettings;
  context: number;
  checkpointing: boolean;
  /**
   * With checkpointing, layer inputs kept in 16 bits (LlamaModel's checkpoint16); default
   * checkpoint16Default(shape), as the model's.
   */
  checkpoint16?: boolean;
  /**
   * With checkpointing, the layer-input checkpoints in host memory (LlamaModel's `offload`): planned
   * in `hostBytes`, with the GPU's staging buffers in workspace.
   */
  offload?: boolean;
  /** Tokens per chunk of the fused output layer + cross-entropy. */
  ceChunk?: number;
  /**
   * AdamW moments for every trainable (default true: training). A forward and backward alone
   * (`longlora grad`, evaluation) loads without them (LlamaParams.load's `optimizerState`).
   */
  optimizerState?: boolean;
  /**
   * Where the trainable embedding's AdamW moments live (LlamaParams.load's `embedOptimizer`; default
   * `defaultEmbedOptimizer(shape)`): 'cpu' plans them in host memory (`hostBytes`), not the GPU's.
   */
  embedOptimizer?: EmbedOptimizer;
  /**
   * The adapter's buffer limits (Runtime info.limits). With them the vocabulary-sized matrices
   * (embedding, untied output layer, and the embedding's gradient and moments) are planned as the row
   * blocks LlamaParams allocates, so largestBuffer is one block; without them, as whole buffers.
   */
  limits?: { maxBufferSize: number; maxStorageBufferBindingSize: number };
}

export interface MemoryPlan {
  bytes: MemoryBytes;
  total: number;
  /**
   * The largest single binding (must fit maxStorageBufferBindingSize): a buffer bound whole, or the
   * largest row block or row view of one that is split or bound in token blocks.
   */
  largestBuffer: { name: string; bytes: number };
  /**
   * The largest single buffer allocated (must fit maxBufferSize): per-token [T, width] buffers are
   * allocated whole even when they are bound in token blocks.
   */
  largestAllocation: { name: string; bytes: number };
  trainableParams: number;
  frozenParams: number;
  /** The layer-input checkpoints live in host memory (PlanInput.offload with checkpointing). */
  offloaded: boolean;
  /**
   * Host (CPU) memory the run keeps: the embedding's AdamW moments when they live there, and the
   * offloaded layer-input checkpoints (`host` says which is which).
   */
  hostBytes: number;
  host: { optimizer: number; checkpoints: number };
  /**
   * The `weights` category by GPU type, largest first (its bytes sum to `bytes.weights`): the frozen
   * matrices in their types (Q4_K, Q6_K, bf16 …), the frozen norms and biases as f32.
   */
  baseTypes: { type: FrozenType; bytes: number }[];
}

/** Plans the bytes of a training run. */
export function planTraining(p: PlanInput): MemoryPlan {
  const s = p.shape;
  const b = emptyMemoryBytes();
  const D = s.hidden;
  const V = s.vocabSize;
  const T = p.context;
  const r = p.lora.rank;
  let largest = { name: '', bytes: 0 };
  let largestAlloc = { name: '', bytes: 0 };
  const allocated = (name: string, bytes: number) => {
    if (bytes > largestAlloc.bytes) largestAlloc = { name, bytes };
    return bytes;
  };
  const note = (name: string, bytes: number) => {
    if (bytes > largest.bytes) largest = { name, bytes };
    return allocated(name, bytes);
  };
  let trainable = 0;
  let frozen = 0;
  const trained = (n: number) => {
    trainable += n;
  };
  // What each frozen matrix is on the GPU, and the weights category's bytes by type.
  const typeOf = p.frozenType ?? ((): FrozenType => (p.weightBytes === 4 ? 'f32' : 'bf16'));
  const byType = new Map<FrozenType, number>();
  const frozenWeight = (type: FrozenType, bytes: number) => {
    byType.set(type, (byType.get(type) ?? 0) + bytes);
    b.weights += bytes;
  };
  // Embedding / output layer: [V, D] each, row-blocked under the limits (src/engine/row-blocks.ts).
  const rowsMatrix = (name: string, type: FrozenType) => {
    if (!p.limits) return note(name, frozenBytes(type, V, D));
    const sizes = frozenBlockByteSizes(type, V, D, blockBytesLimit(p.limits));
    note(sizes.length > 1 ? `${name} (one of ${sizes.length} blocks)` : name, Math.max(...sizes));
    return sizes.reduce((a, x) => a + x, 0);
  };
  // Named by their modules in the architecture's layout (src/io/arch.ts).
  const arch = archOf(s);
  // The trainable embedding is f32 (as its gradient and moments, row-blocked alike).
  const embedBytes = p.lora.trainEmbed ? rowsMatrix(moduleName(arch.layout.embed.hf), 'f32') : 0;
  if (p.lora.trainEmbed) {
    b.lora += embedBytes;
    trained(V * D);
  } else {
    const type = typeOf(globalName(arch, 'embed'), D);
    frozenWeight(type, rowsMatrix(moduleName(arch.layout.embed.hf), type));
    frozen += V * D;
  }
  if (!s.tieWordEmbeddings) {
    const type = typeOf(globalName(arch, 'lmHead'), D);
    frozenWeight(type, rowsMatrix(moduleName(arch.layout.lmHead.hf), type));
    frozen += V * D;
  }
  // Norms: f32, trainable or not; every norm of the block (Qwen3's q/k norms included) and the final.
  const normCount = [
    ...trainedTensorShapes(s, { trainEmbed: false, trainNorm: true }, arch).values(),
  ].reduce((n, shape) => n + numel(shape), 0);
  if (p.lora.trainNorm) {
    b.lora += 4 * normCount;
    trained(normCount);
  } else {
    frozenWeight('f32', 4 * normCount);
    frozen += normCount;
  }
  for (const n of LINEAR_NAMES) {
    const [out, inF] = linearShape(s, n);
    if (s.biases.includes(n)) {
      // The architecture's frozen bias (Qwen2's q/k/v), f32.
      frozenWeight('f32', s.layers * 4 * out);
      frozen += s.layers * out;
    }
    // Each layer's own type: a quantized GGUF may store some layers' v/down in a wider type.
    for (let i = 0; i < s.layers; i++) {
      const type = typeOf(linearSource(arch, s, i, n).name, inF);
      frozenWeight(type, note(n, frozenBytes(type, out, inF)));
    }
    frozen += s.layers * out * inF;
    if (p.lora.targets.includes(n)) {
      const count = r * (inF + out);
      b.lora += s.layers * 4 * count;
      trained(s.layers * count);
    }
  }
  b.gradients = 4 * trainable;
  // AdamW moments: m and v (f32) for every trainable; the embedding's in host memory when so chosen.
  const adam = p.optimizerState !== false;
  const embedOnHost =
    adam && p.lora.trainEmbed && (p.embedOptimizer ?? defaultEmbedOptimizer(s)) === 'cpu';
  b.optimizer = adam ? 8 * trainable - (embedOnHost ? 2 * embedBytes : 0) : 0;
  const hostOptimizer = embedOnHost ? 8 * V * D : 0;
  // Activations and workspace: exactly the buffers allocateActs allocates for a training step
  // (actsLayout: layer inputs or their 16-bit checkpoints, one or L layer sets, backward's buffers,
  // the MLP's in token blocks of Tb tokens), and the scratch its kernels allocate (stepScratch).
  const Tb = mlpPlanTokens(T, s.intermediate, p.limits);
  const acts = actsLayout(s, p.lora, T, {
    withGrad: true,
    checkpointing: p.checkpointing,
    checkpoint16: p.checkpointing && (p.checkpoint16 ?? checkpoint16Default(s)),
    mlpTokens: Tb,
    offload: p.offload === true,
  });
  const hostCheckpoints = layoutHostBuffers(acts).reduce((n, x) => n + x.bytes, 0);
  const attn = attentionPlanRows(s, T, p.limits);
  // The logits chunk the launcher picks under the limits (crossEntropyChunk), else 256 tokens.
  const chunk = Math.min(
    T,
    p.ceChunk ??
      (p.limits ? crossEntropyChunkFor(p.limits.maxStorageBufferBindingSize, T, V) : 256),
  );
  const scratch = stepScratch(s, T, { logitsRows: chunk, attention: attn });
  for (const buf of layoutBuffers({ acts, scratch })) b[buf.category] += buf.bytes;
  // Per-token buffers: bound in row blocks of Tr tokens by the row-local ops, and by attention in
  // query blocks (q/o, dq, dO) and key blocks (k/v, dk/dv); allocated whole, or past maxBufferSize
  // in parts of 64·2^k tokens (Runtime.rowsTensor). The widest is a layer input or q.
  const layer = acts.layers[0]!;
  const input = acts.h[0]!;
  const widest = input.rowBytes >= layer.q.rowBytes ? input : layer.q;
  const perToken = widest === input ? 'layer input' : 'q';
  const row = widest.rowBytes;
  const part = p.limits ? partRows(row, p.limits.maxBufferSize) * row : 0;
  if (widest.bytes <= (p.limits?.maxBufferSize ?? Infinity)) allocated(perToken, widest.bytes);
  else if (part === 0) allocated(`${perToken} (64 tokens)`, 64 * row);
  else allocated(`${perToken} (one of ${Math.ceil(widest.bytes / part)} buffers)`, part);
  const Tr = rowPlanTokens(s, T, p.limits);
  const rowBlocks = Math.ceil(T / Tr);
  if (rowBlocks > 1) note(`per-token activations (one of ${rowBlocks} token blocks)`, Tr * row);
  else note('layer input', input.bytes);
  const qBlocks = Math.ceil(T / attn.query);
  const kBlocks = Math.ceil(T / attn.key);
  const blocksOf = (name: string, n: number, what: string) =>
    n > 1 ? `${name} (one of ${n} ${what} blocks)` : name;
  note(blocksOf('attention q/o', qBlocks, 'query'), attn.query * layer.q.rowBytes);
  note(blocksOf('attention k/v', kBlocks, 'key'), attn.key * layer.k.rowBytes);
  note('attention row statistics', layer.lse.bytes);
  const mlpBlocks = Math.ceil(T / Tb);
  note(
    mlpBlocks > 1 ? `mlp activations (one of ${mlpBlocks} token blocks)` : 'mlp activations',
    layer.gate.bytes,
  );
  note('logits chunk', scratch.logits.bytes);
  // A staging buffer is one checkpoint, in parts of maxBufferSize past it (Runtime.stagingTensor).
  const staging = acts.offload?.staging[0];
  if (staging)
    allocated('checkpoint staging', Math.min(staging.bytes, p.limits?.maxBufferSize ?? Infinity));
  return {
    bytes: b,
    total: totalBytes(b),
    largestBuffer: largest,
    largestAllocation: largestAlloc,
    trainableParams: trainable,
    frozenParams: frozen,
    offloaded: acts.offload !== null,
    hostBytes: hostOptimizer + hostCheckpoints,
    host: { optimizer: hostOptimizer, checkpoints: hostCheckpoints },
    baseTypes: [...byType]
      .map(([type, bytes]) => ({ type, bytes }))
      .sort((x, y) => y.bytes - x.bytes),
  };
}

/**
 * The plan with the checkpoints where `choice` puts them: on the GPU (none), in host memory
 * (checkpoints), or in host memory only when the plan that keeps them on the GPU exceeds
 * `budgetBytes` (auto). Without checkpointing there is nothing to offload.
 */
export function planWithOffload(
  input: PlanInput,
  choice: Offload,
  budgetBytes: number,
): MemoryPlan {
  const kept = planTraining({ ...input, offload: false });
  if (choice === 'none' || !input.checkpointing) return kept;
  if (choice === 'auto' && kept.total <= budgetBytes) return kept;
  return planTraining({ ...input, offload: true });
}

/**
 * Why a plan's host memory (offloaded checkpoints, the embedding's moments) exceeds the host budget,
 * or null when it fits. `stated`: the user gave it; else `assumed` says what it was taken from.
 * `fix` says what to change, in the host's words.
 */
export function hostBudgetProblem(
  plan: MemoryPlan,
  hostBudget: { bytes: number; stated: boolean; assumed: string },
  fix: string,
): string | null {
  if (plan.hostBytes <= hostBudget.bytes) return null;
  const parts = [
    plan.host.checkpoints > 0 && `${formatBytes(plan.host.checkpoints)} of offloaded checkpoints`,
    plan.host.optimizer > 0 && `${formatBytes(plan.host.optimizer)} of embedding optimizer state`,
  ].filter(Boolean);
  const budget = hostBudget.stated
    ? formatBytes(hostBudget.bytes)
    : `an assumed ${formatBytes(hostBudget.bytes)} (${hostBudget.assumed})`;
  return (
    `Training needs about ${formatBytes(plan.hostBytes)} of host memory (${parts.join(', ')}); ` +
    `the host budget is ${budget}. ${fix}`
  );
}

/**
 * Bytes of each row block of a frozen [rows, cols] matrix of `type` under `maxBytes` per block, as
 * LlamaParams allocates it: a float dtype as engine/row-blocks.ts splits it (RowBlocks), ggml blocks
 * as engine/quant-rows.ts does (QuantRows: whole rows, so a K-type's super-blocks are never cut).
 */
export function frozenBlockByteSizes(
  type: FrozenType,
  rows: number,
  cols: number,
  maxBytes: number,
): number[] {
  return isQuantType(type)
    ? quantBlockByteSizes(type, rows, cols, maxBytes)
    : blockByteSizes(rows, cols, type, maxBytes);
}

/**
 * The plan's `frozenType` for a model under `baseQuant`: from its tensors (their dtypes, a quantized
 * GGUF's stored ggml types) when it has them, else (a shape alone: a config.json without weights)
 * every frozen matrix in `dtype` (safetensors spelling, F32/F16/BF16).
 */
export function frozenTypeOf(
  m: { tensors: readonly StoredTensor[]; dtype?: string },
  baseQuant: BaseQuant,
): (name: string, cols: number) => FrozenType {
  if (m.tensors.length > 0) return frozenTypes(m.tensors, baseQuant);
  const dtype = m.dtype ?? 'BF16';
  return (_name, cols) => frozenType(dtype, cols, baseQuant);
}

/**
 * Tokens per MLP block as the model allocates them (mlpBlockTokens under the limits; without
 * limits, MLP_BLOCK_TOKENS). When not even 64 tokens fit the limits, 64 (so the plan's largest
 * buffer names the MLP and planProblem refuses it).
 */
function mlpPlanTokens(T: number, F: number, limits: PlanInput['limits']): number {
  if (!limits) return Math.min(Math.max(T, 1), MLP_BLOCK_TOKENS);
  try {
    return mlpBlockTokens(T, F, blockBytesLimit(limits));
  } catch {
    return Math.min(Math.max(T, 1), 64);
  }
}

/**
 * Tokens per block of the row-local ops as the model runs them (rowBlockTokens under the limits;
 * without limits, all T). When not even 64 tokens fit, 64 (so the plan names the per-token buffers).
 */
function rowPlanTokens(s: LlamaShape, T: number, limits: PlanInput['limits']): number {
  if (!limits) return Math.max(T, 1);
  try {
    return rowBlockTokens(s, T, blockBytesLimit(limits));
  } catch {
    return Math.min(Math.max(T, 1), 64);
  }
}

/**
 * Query and key rows per attention block as the launcher picks them (attentionBlockRows under the
 * binding limit; without limits, all T). When not even 64 rows fit, 64 (so the plan names them).
 */
function attentionPlanRows(
  s: LlamaShape,
  T: number,
  limits: PlanInput['limits'],
): { query: number; key: number } {
  const n = Math.max(T, 1);
  if (!limits) return { query: n, key: n };
  const cfg = { Tq: n, Tk: n, H: s.heads, KV: s.kvHeads, hd: s.headDim };
  try {
    return attentionBlockRows(cfg, blockBytesLimit(limits));
  } catch {
    return { query: Math.min(n, 64), key: Math.min(n, 64) };
  }
}

const GiB = 2 ** 30;

/** Parses a budget such as "8GiB", "512MiB" or a bare number of GiB into bytes; null when absent. */
export function parseBudget(text: string | undefined): number | null {
  if (text === undefined) return null;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(GiB|MiB|G|M)?\s*$/i.exec(text);
  if (!m) throw new SettingsError(`A memory budget looks like 8GiB or 512MiB (got "${text}").`);
  const unit = (m[2] ?? 'GiB').toUpperCase().startsWith('M') ? 2 ** 20 : GiB;
  return Number(m[1]) * unit;
}

/** Why a plan cannot run within the adapter's limits and the budget, or null when it can. */
export function planProblem(
  plan: MemoryPlan,
  limits: { maxBufferSize: number; maxStorageBufferBindingSize: number },
  budgetBytes: number,
): string | null {
  const gib = formatBytes;
  const alloc = plan.largestAllocation;
  if (alloc.bytes > limits.maxBufferSize) {
    return (
      `${alloc.name} needs one buffer of ${gib(alloc.bytes)}, more than this GPU allocates ` +
      `(${gib(limits.maxBufferSize)}). Lower the context.`
    );
  }
  if (plan.largestBuffer.bytes > limits.maxStorageBufferBindingSize) {
    return (
      `${plan.largestBuffer.name} needs one buffer of ${gib(plan.largestBuffer.bytes)}, more than this GPU binds ` +
      `(${gib(limits.maxStorageBufferBindingSize)}). Lower the context.`
    );
  }
  return budgetProblem(plan, budgetBytes);
}

/**
 * Why a plan exceeds a memory budget, or null when it fits. `stated`: the user gave the budget (else
 * it is the assumed default, and named so).
 */
export function budgetProblem(plan: MemoryPlan, budgetBytes: number, stated = true): string | null {
  if (plan.total <= budgetBytes) return null;
  // Base weights mostly in a float dtype: quantizing them on load is the largest saving.
  const quantize = mostlyFloatBase(plan) ? ', or set Base weights to 4-bit (Q4_K)' : '';
  return (
    `Training needs about ${formatBytes(plan.total)} of GPU memory; the budget is ${budgetWords(budgetBytes, stated)}. ` +
    `Lower the target context, the LoRA rank, or turn off embedding training${quantize}.`
  );
}

/** Whether more than half the base weights' bytes are a float dtype (quantizing them would save most). */
export function mostlyFloatBase(plan: Pick<MemoryPlan, 'baseTypes' | 'bytes'>): boolean {
  const float = plan.baseTypes
    .filter((t) => t.type === 'f32' || t.type === 'f16' || t.type === 'bf16')
    .reduce((n, t) => n + t.bytes, 0);
  return float > plan.bytes.weights / 2;
}

/** Something that stops a run, with what to change. */
export interface RunProblem {
  message: string;
  fix: string;
}

/** Everything that stops a run before anything is allocated: memory, limits, attention, trainables. */
export function runProblems(
  plan: MemoryPlan,
  run: { context: number; pattern: AttentionPattern; group: number; lora: LoraSettings },
  limits: { maxBufferSize: number; maxStorageBufferBindingSize: number },
  budgetBytes: number,
): RunProblem[] {
  const problems: RunProblem[] = [];
  const over = planProblem(plan, limits, budgetBytes);
  if (over) problems.push({ message: over, fix: 'Lower the target context or the LoRA rank.' });
  const attention = attentionProblem(run.context, run.pattern, run.group);
  if (attention) {
    problems.push({
      message: attention,
      fix:
        run.pattern === 'full'
          ? 'Use a context of at least 2 tokens.'
          : `Use ${nearestS2Context(run.context)} tokens.`,
    });
  }
  const l = run.lora;
  if (l.targets.length === 0 && !l.trainEmbed && !l.trainNorm)
    problems.push({ message: 'Nothing is trainable.', fix: 'Pick at least one LoRA target.' });
  return problems;
}
