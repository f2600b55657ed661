/**
 * The GPU memory plan for training at a context: bytes per category, computed from the same tensor
 * list the model allocates (params.ts, llama.ts), so the UI and `longlora info` can refuse settings
 * that cannot fit before anything is allocated.
 */
import { emptyMemoryBytes, totalBytes, type MemoryBytes } from '../engine/memory.ts';
import { LINEAR_NAMES, linearShape, type LlamaShape, type LoraSettings } from './types.ts';

export interface PlanInput {
  shape: LlamaShape;
  /** Bytes per element of the frozen weights as stored (4 for F32, 2 for F16/BF16). */
  weightBytes: number;
  lora: LoraSettings;
  context: number;
  checkpointing: boolean;
  /** Tokens per chunk of the fused output layer + cross-entropy. */
  ceChunk?: number;
}

export interface MemoryPlan {
  bytes: MemoryBytes;
  total: number;
  /** The largest single buffer (must fit maxStorageBufferBindingSize). */
  largestBuffer: { name: string; bytes: number };
  trainableParams: number;
  frozenParams: number;
}

const pad4 = (n: number) => Math.max(4, Math.ceil(n / 4) * 4);

/** Plans the bytes of a training run. */
export function planTraining(p: PlanInput): MemoryPlan {
  const s = p.shape;
  const b = emptyMemoryBytes();
  const D = s.hidden;
  const V = s.vocabSize;
  const T = p.context;
  const r = p.lora.rank;
  let largest = { name: '', bytes: 0 };
  const note = (name: string, bytes: number) => {
    if (bytes > largest.bytes) largest = { name, bytes };
    return bytes;
  };
  let trainable = 0;
  let frozen = 0;
  const trained = (n: number) => {
    trainable += n;
  };
  // Embedding / output layer.
  const embedBytes = pad4(V * D * (p.lora.trainEmbed ? 4 : p.weightBytes));
  note('embed_tokens', embedBytes);
  if (p.lora.trainEmbed) {
    b.lora += embedBytes;
    trained(V * D);
  } else {
    b.weights += embedBytes;
    frozen += V * D;
  }
  if (!s.tieWordEmbeddings) {
    b.weights += note('lm_head', pad4(V * D * p.weightBytes));
    frozen += V * D;
  }
  // Norms: f32, trainable or not.
  const normCount = D * (2 * s.layers + 1);
  if (p.lora.trainNorm) {
    b.lora += 4 * normCount;
    trained(normCount);
  } else {
    b.weights += 4 * normCount;
    frozen += normCount;
  }
  for (const n of LINEAR_NAMES) {
    const [out, inF] = linearShape(s, n);
    b.weights += s.layers * pad4(out * inF * p.weightBytes);
    note(n, pad4(out * inF * p.weightBytes));
    frozen += s.layers * out * inF;
    if (p.lora.targets.includes(n)) {
      const count = r * (inF + out);
      b.lora += s.layers * 4 * count;
      trained(s.layers * count);
    }
  }
  b.gradients = 4 * trainable;
  b.optimizer = 8 * trainable;
  // Activations: layer inputs h[0..L], one (or L) layer set, final norm, ids/labels.
  const Hq = s.heads * s.headDim;
  const Hkv = s.kvHeads * s.headDim;
  const F = s.intermediate;
  const targets = p.lora.targets.length;
  const layerSet =
    4 * T * (D + 1 + Hq + 2 * Hkv + Hq + D + D + 1 + 3 * F + targets * r) + 4 * s.heads * T;
  const sets = p.checkpointing ? 1 : s.layers;
  b.activations = 4 * T * D * (s.layers + 1) + sets * layerSet + 4 * T * (D + 1) + 8 * T + 4;
  note('layer input', 4 * T * D);
  note('mlp activations', 4 * T * F);
  // Workspace: backward buffers, inv_freq, CE logits chunk, attention/norm reductions.
  const chunk = Math.min(T, p.ceChunk ?? 256);
  b.workspace =
    4 * T * (2 * D + 2 * Hq + 2 * Hkv + 3 * F + r) +
    4 * D +
    4 * T * D + // dHn
    note('logits chunk', 4 * chunk * V) +
    4 * s.headDim +
    4 * s.heads * T * 2 + // attention row statistics in backward
    4 * T * 64; // norm-weight partial sums
  return {
    bytes: b,
    total: totalBytes(b),
    largestBuffer: largest,
    trainableParams: trainable,
    frozenParams: frozen,
  };
}

/** Why a plan cannot run on a device with these limits, or null when it fits. */
export function planProblem(
  plan: MemoryPlan,
  limits: { maxBufferSize: number; maxStorageBufferBindingSize: number },
  budgetBytes: number,
): string | null {
  const gib = (n: number) => `${(n / 2 ** 30).toFixed(2)} GiB`;
  if (plan.largestBuffer.bytes > limits.maxStorageBufferBindingSize) {
    return (
      `${plan.largestBuffer.name} needs one buffer of ${gib(plan.largestBuffer.bytes)}, more than this GPU binds ` +
      `(${gib(limits.maxStorageBufferBindingSize)}). Lower the context.`
    );
  }
  if (plan.total > budgetBytes) {
    return (
      `Training needs about ${gib(plan.total)} of GPU memory; the budget is ${gib(budgetBytes)}. ` +
      'Lower the target context, the LoRA rank, or turn off embedding training.'
    );
  }
  return null;
}
