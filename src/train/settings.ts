/**
 * A training run's settings: one type, with the same keys in the studio's form and store, the
 * worker's API, a checkpoint's manifest and the CLI's flags (each key's kebab-case is its flag:
 * `gradAccum` is `--grad-accum`; `checkpointing` is the one boolean, `--no-checkpointing`). The
 * numbers' ranges are util/setting-rules.ts's, keyed the same. Pure: the page imports it too.
 */
import type { AttentionPattern } from '../util/attention-pattern.ts';
import {
  defaultLora,
  groupSize,
  ropeFactor,
  type LinearName,
  type LoraSettings,
} from '../model/longlora.ts';
import type { ModelConfig } from '../io/config.ts';
import type { BaseQuant } from '../model/base-quant.ts';
import type { Offload } from '../model/offload-setting.ts';

/** The base weights' choices and their words, for the studio's form (which reads this module). */
export { BASE_QUANTS, BASE_QUANT_LABELS, type BaseQuant } from '../model/base-quant.ts';
/** Where checkpoints are kept: the choices and their words (the studio's "Keep checkpoints in"). */
export { OFFLOAD_CHOICES, OFFLOAD_LABELS, type Offload } from '../model/offload-setting.ts';

/** What LoRA+ trains besides the LoRA pairs (`--trainable embed,norm`; none: plain LoRA). */
export type Trainable = 'embed' | 'norm';
export const TRAINABLES: readonly Trainable[] = ['embed', 'norm'];

export interface RunSettings {
  /** Tokens per training block: the target context. */
  context: number;
  attention: AttentionPattern;
  /** The S²-Attn group; null: N / 4 (the whole context for full attention). */
  groupSize: number | null;
  /** The position-interpolation factor; null: the model's, from `context` (model/longlora.ts). */
  ropeFactor: number | null;
  rank: number;
  alpha: number;
  targets: LinearName[];
  trainable: Trainable[];
  lr: number;
  warmup: number;
  schedule: 'constant' | 'cosine';
  steps: number;
  gradAccum: number;
  /** Clip the global gradient norm to this (0 = off). */
  clip: number;
  seed: number;
  /**
   * The order of the training blocks: `shuffled` (a new permutation from the seed every epoch) or
   * `sequential` (file order, every epoch; for comparing a run with a reference trajectory).
   */
  order: 'shuffled' | 'sequential';
  /** Evaluate every K optimizer steps (0 = only at the end). */
  evalEvery: number;
  /** Held-out windows each evaluation during the run measures. */
  evalWindows: number;
  /** Checkpoint every K optimizer steps (0 = only when stopped or done). */
  checkpointEvery: number;
  /** Also checkpoint once this many minutes of training passed since the last one (0 = by steps only). */
  checkpointMinutes: number;
  /** Keep the newest K checkpoints of the run, deleting older ones (0 = all). */
  keepCheckpoints: number;
  /** Gradient checkpointing per decoder layer (`--no-checkpointing` turns it off). */
  checkpointing: boolean;
  /**
   * What the frozen base weights are on the GPU (`--base-quant`, the studio's "Base weights"): as
   * stored, or float weights quantized on load to Q8_0 or Q4_K (model/base-quant.ts).
   */
  baseQuant: BaseQuant;
  /**
   * Where the layer-input checkpoints live (`--offload`, the studio's "Keep checkpoints in"): the
   * GPU (none), host memory (checkpoints), or host memory when the plan exceeds the GPU budget
   * (auto). The numbers are the same either way (model/llama.ts).
   */
  offload: Offload;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}

/** Held-out windows an on-demand evaluation measures (the CLI's `eval`, the Evaluate button). */
export const EVAL_WINDOWS = 4;

/** Held-out windows of the studio's periodic evaluation during a run (short on CPU adapters). */
export const PERIODIC_EVAL_WINDOWS = 2;

/** What the studio's defaults depend on: the model's native and default contexts, and its size. */
export interface SettingsModel {
  /** max_position_embeddings. */
  contextLength: number;
  /** The default target context (model/longlora.ts's defaultTargetContext). */
  defaultContext: number;
  parameters: number;
}

/** The official LongLoRA optimizer and schedule (docs/longlora.md), LoRA+ on q, k, v, o. */
function base(context: number): RunSettings {
  const lora = defaultLora();
  return {
    context,
    attention: 's2',
    groupSize: null,
    ropeFactor: null,
    rank: lora.rank,
    alpha: lora.alpha,
    targets: lora.targets,
    trainable: [...TRAINABLES],
    lr: 2e-5,
    warmup: 20,
    schedule: 'constant',
    steps: 1000,
    gradAccum: 1,
    clip: 1.0,
    seed: 42,
    order: 'shuffled',
    evalEvery: 0,
    evalWindows: EVAL_WINDOWS,
    checkpointEvery: 50,
    checkpointMinutes: 0,
    keepCheckpoints: 3,
    checkpointing: true,
    baseQuant: 'none',
    offload: 'none',
    beta1: 0.9,
    beta2: 0.95,
    eps: 1e-8,
    weightDecay: 0,
  };
}

/**
 * The studio's defaults for a model: its default target context, evaluation and checkpoints as a
 * person watching expects them, and the official 8-step accumulation. Tiny models (the demo) get
 * settings that show the loss falling within a minute even on a software adapter: 2× the native
 * context, a short warmup, lr in docs/longlora.md's 1e-3…2e-3 band.
 */
export function studioDefaults(model: SettingsModel): RunSettings {
  const tiny = model.parameters < 50e6;
  return {
    ...base(tiny ? 2 * model.contextLength : model.defaultContext),
    lr: tiny ? 2e-3 : 2e-5,
    warmup: tiny ? 2 : 20,
    steps: tiny ? 60 : 1000,
    gradAccum: tiny ? 1 : 8,
    evalEvery: tiny ? 10 : 100,
    evalWindows: PERIODIC_EVAL_WINDOWS,
    checkpointEvery: tiny ? 10 : 100,
    checkpointMinutes: tiny ? 1 : 5,
  };
}

/** The command line's defaults at `context` tokens: the official settings, flags change them. */
export function cliDefaults(context: number): RunSettings {
  return base(context);
}

/** The S²-Attn group the run uses: its own, else N / 4 (the context for full attention). */
export function groupOf(s: Pick<RunSettings, 'context' | 'attention' | 'groupSize'>): number {
  return s.groupSize ?? groupSize(s.context, s.attention);
}

/** The position-interpolation factor the run uses: its own, else the model's at `context`. */
export function ropeFactorOf(
  s: Pick<RunSettings, 'context' | 'ropeFactor'>,
  shape: Pick<ModelConfig, 'maxPositions' | 'ropeScaling'> &
    Partial<Pick<ModelConfig, 'slidingWindow'>>,
): number {
  return s.ropeFactor ?? ropeFactor(s.context, shape);
}

/** What the model trains, as the graph takes it (model/longlora.ts's LoraSettings). */
export function loraOf(
  s: Pick<RunSettings, 'rank' | 'alpha' | 'targets' | 'trainable'>,
): LoraSettings {
  return {
    rank: s.rank,
    alpha: s.alpha,
    targets: [...s.targets],
    trainEmbed: s.trainable.includes('embed'),
    trainNorm: s.trainable.includes('norm'),
  };
}

/** The settings' trainables and LoRA from a LoraSettings (an adapter a run starts from). */
export function withLora(s: RunSettings, l: LoraSettings): RunSettings {
  return {
    ...s,
    rank: l.rank,
    alpha: l.alpha,
    targets: [...l.targets],
    trainable: TRAINABLES.filter((t) => (t === 'embed' ? l.trainEmbed : l.trainNorm)),
  };
}

/**
 * Settings as a checkpoint stored them. Checkpoints written before this type (`pattern`, `group`,
 * a nested `lora`, `gradAccum` …) are read into it; the run's resolved group and factor are kept.
 * Checkpoints written before `baseQuant` trained on the weights as stored ('none'), and those
 * written before `offload` kept their layer checkpoints on the GPU ('none').
 */
export function storedSettings(x: unknown): RunSettings {
  const o = (x ?? {}) as Record<string, unknown>;
  if (!('lora' in o)) return { baseQuant: 'none', offload: 'none', ...o } as unknown as RunSettings;
  const lora = o.lora as LoraSettings;
  const { pattern, group, lora: _lora, ...rest } = o as Record<string, unknown>;
  const s = {
    ...base(Number(o.context)),
    ...(rest as Partial<RunSettings>),
    attention: pattern as AttentionPattern,
    groupSize: typeof group === 'number' ? group : null,
    ropeFactor: typeof o.ropeFactor === 'number' ? o.ropeFactor : null,
  };
  return withLora(s, lora);
}
