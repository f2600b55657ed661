/**
 * The worker's API, as types only. The UI imports this file with `import type`; the worker
 * implements `EngineApi` and exposes it through comlink. Callbacks (progress, training events) are
 * passed as `Comlink.proxy(fn)`; large results (exported files) come back by `Comlink.transfer`.
 */
import type { AdapterSummary } from '../engine/device.ts';
import type { KernelChoice } from '../engine/kernels/registry.ts';
import type { MemoryBytes, MemorySnapshot } from '../engine/memory.ts';
import type { ErrorKind } from '../util/errors.ts';
import type { RunProblem } from '../model/plan.ts';
import type { GgufExportDtype } from '../io/gguf-export-meta.ts';

export type { AdapterSummary, ErrorKind, KernelChoice, MemoryBytes, MemorySnapshot };

/** Result of `selfTest()`: one matmul on the GPU, checked against the float64 reference. */
export interface SelfTestResult {
  ok: boolean;
  /** Largest |gpu − reference| over the output. */
  maxError: number;
  /** Wall time of upload + dispatch + read-back in the worker. */
  ms: number;
  /** [M, N, K] of the product that was checked. */
  shape: [number, number, number];
}

/** Where `loadModel` gets its files: the embedded demo or the user's files. */
export type ModelSource = 'demo' | File[];

/** Progress of a long load (model files, dataset tokenization). */
export interface LoadProgress {
  phase: 'reading' | 'parsing' | 'uploading' | 'tokenizing' | 'done';
  bytesDone: number;
  bytesTotal: number;
  shardsDone: number;
  shardsTotal: number;
  /** The file being read, when there is one. */
  file?: string;
}

/** What the studio understood from the model files. */
export interface ModelSummary {
  name: string;
  format: 'safetensors' | 'gguf';
  architecture: string;
  parameters: number;
  /** Tensor count per dtype as read (a quantized GGUF's tensors are read as F32), e.g. { F32: 48 }. */
  dtypes: Record<string, number>;
  /**
   * Bytes per type as the file stores the weights, largest first (a quantized GGUF's ggml types, e.g.
   * Q4_K, Q6_K, F32; else the dtypes).
   */
  storedTypes: { type: string; bytes: number }[];
  /**
   * Whether the file stores quantized tensors (a GGUF's ggml blocks), which stay in their blocks on
   * the GPU (an embedding LoRA+ trains goes as f32).
   */
  quantized: boolean;
  /** The model's own context (max_position_embeddings, or the trained context when known). */
  contextLength: number;
  /** The target context a run starts from: 4× the native context, within what the model's RoPE allows. */
  defaultContext: number;
  vocabSize: number;
  hiddenSize: number;
  layers: number;
  heads: number;
  kvHeads: number;
  intermediateSize: number;
  tiedEmbeddings: boolean;
  /** Bytes of weights as stored in the file. */
  weightBytes: number;
  files: string[];
  missingFiles: string[];
  unexpectedFiles: string[];
  /** Non-fatal remarks (e.g. "GGUF context_length says 2048, trained at 512"). */
  notes: string[];
}

/**
 * Where plain text is cut into documents: `none` (the file is one document), `blank-line`, `line`,
 * or `eos` (lines holding only `<|endoftext|>` or the tokenizer's EOS text).
 */
export type { Separator as DataSeparator } from '../train/data.ts';
import type { Separator as DataSeparator } from '../train/data.ts';
import type { StepMemory } from '../train/types.ts';

/** What the studio understood from the training data. */
export interface DataSummary {
  name: string;
  /**
   * Plain text; Alpaca `json` / `jsonl`; `{text}` records (`text-json`, `text-jsonl`), one document
   * each; or `token-ids`, a JSON array of ids taken as the token stream.
   */
  format: 'text' | 'json' | 'jsonl' | 'text-json' | 'text-jsonl' | 'token-ids';
  /** How plain text is cut into documents (null for records and token ids). */
  separator: DataSeparator | null;
  /** What the text itself suggests (`eos` when it holds separator lines, else `none`). */
  detectedSeparator: DataSeparator | null;
  /** The end of the first document and the start of the second (null: one document). */
  boundary: { before: string; after: string } | null;
  /** Documents (text) or records (JSON/JSONL). */
  documents: number;
  tokens: number;
  /** Tokens excluded from the loss (instruction prompts). */
  maskedTokens: number;
  /** Whole blocks of `context` tokens the data yields. */
  blocks: number;
  context: number;
  /** A few lines from the start, for the user to recognise the data. */
  samples: string[];
  /**
   * The first instruction record as the model reads it (null for text and token ids): rendered with
   * the model's chat template, or LongAlpaca's [INST] format when it has none; `prompt` is masked
   * from the loss, `answer` is learned.
   */
  example: {
    format: 'chat-template' | 'inst';
    prompt: string;
    answer: string;
    promptTokens: number;
    answerTokens: number;
  } | null;
}

export type { AttentionPattern } from '../util/attention-pattern.ts';
export type { LinearName as LoraTarget } from '../io/config.ts';

/** Everything the user sets before Start: the run's settings, as the trainer and the CLI take them. */
export type { RunSettings, Trainable } from '../train/settings.ts';
import type { RunSettings } from '../train/settings.ts';

import type { FrozenType } from '../model/base-quant.ts';

/** One planning problem, with what to change. */
export type { RunProblem as PlanProblem } from '../model/plan.ts';

/** Planned GPU bytes per category for a model + settings, against the adapter's limits. */
export interface MemoryPlan {
  bytes: MemoryBytes;
  total: number;
  /** Largest single buffer the plan needs. */
  largestBuffer: number;
  /**
   * Host (CPU) memory the run keeps besides: the embedding's AdamW moments when they live there, and
   * the offloaded layer-input checkpoints (`host` says which is which).
   */
  hostBytes: number;
  host: { optimizer: number; checkpoints: number };
  /** The checkpoints live in the worker's memory (settings.offload; `auto` as the budget decided). */
  offloaded: boolean;
  /** The host memory the plan is checked against: the browser's navigator.deviceMemory, assumed. */
  hostBudget: { bytes: number; stated: boolean; assumed: string };
  limits: { maxBufferSize: number; maxStorageBufferBindingSize: number; budget: number };
  /** Whether `limits.budget` is the GPU memory the user stated (else the assumed default). */
  budgetStated: boolean;
  ropeFactor: number;
  groupSize: number;
  /** No problem stops the run (warnings do not). */
  fits: boolean;
  /** What stops the run: the adapter's limits, the attention settings, the data. */
  problems: RunProblem[];
  /** What may fail but the user can start anyway: more memory than the stated budget. */
  warnings: RunProblem[];
  /** Bytes one checkpoint of this run takes in storage (trained tensors and both AdamW moments, f32). */
  checkpointBytes: number;
  /**
   * The frozen base weights (the `weights` category) by their type on the GPU, largest first: what
   * the settings' base quantization and the file's stored types make of them (Q4_K, bf16, f32 …).
   */
  baseTypes: { type: FrozenType; bytes: number }[];
}

/** A training event; the worker sends at most a few per second, in batches. */
export type TrainingEvent =
  | {
      type: 'step';
      step: number;
      totalSteps: number;
      loss: number;
      smoothedLoss: number;
      lr: number;
      gradNorm: number;
      tokensPerSecond: number;
      elapsedMs: number;
      etaMs: number;
      /**
       * GPU memory measured at this step (bytes in use per category, and the run's peak total so
       * far) and the host memory the run holds (`host`: offloaded checkpoints, host optimizer
       * moments); null for a restored step whose checkpoint did not record it.
       */
      memory: StepMemory | null;
    }
  | { type: 'eval'; step: number; loss: number; perplexity: number }
  /** The run's weights going to the GPU (bytes read from the model files and uploaded). */
  | { type: 'loading'; progress: LoadProgress }
  /** First use of these shapes on this GPU: the matmul variants being timed (done of total classes). */
  | { type: 'tuning'; done: number; total: number }
  /** After tuning, before the first step: the kernel every family of a step runs on this GPU. */
  | { type: 'kernels'; kernels: KernelChoice[] }
  | { type: 'checkpoint'; checkpoint: CheckpointInfo }
  /** First event of a resumed run: its settings; its stored history follows as step/eval events. */
  | { type: 'resumed'; step: number; settings: RunSettings }
  | { type: 'state'; state: RunState }
  | { type: 'error'; error: WorkerError };

export type RunState = 'idle' | 'starting' | 'running' | 'paused' | 'stopped' | 'done' | 'failed';

/**
 * An error as it crosses the worker boundary: in `error` events, and as what a rejected call throws
 * on the page (the worker's comlink throw handler sends these fields). `kind` picks what the page
 * shows; `name` is the class name, for logs.
 */
export interface WorkerError {
  kind: ErrorKind;
  name: string;
  message: string;
}

/** A stored checkpoint (the tensors live in IndexedDB under `id`). */
export interface CheckpointInfo {
  id: string;
  runId: string;
  step: number;
  createdAt: number;
  bytes: number;
  modelName: string;
  /** The steps its run was set to take: the run finished when `step` reached them (null: unknown). */
  totalSteps: number | null;
}

/** Perplexity over held-out text with full causal attention. */
export interface EvalResult {
  perplexity: number;
  loss: number;
  tokens: number;
  windows: number;
  context: number;
}

/** One passkey-retrieval trial at a given prompt length. */
export interface PasskeyResult {
  length: number;
  passkey: number;
  answer: string;
  correct: boolean;
}

/** A downloadable file produced in the worker. */
export interface ExportedFile {
  name: string;
  bytes: Uint8Array;
}

export interface ExportOptions {
  /** Also include the merged full model (W + scaling·B·A) as safetensors. */
  merged: boolean;
}

/** What "Export GGUF" writes: the merged model, or the LoRA pairs as a llama.cpp adapter GGUF. */
export interface GgufExportOptions {
  kind: 'merged' | 'lora';
  /** Element type of the merged model's matrices (norms stay f32). */
  dtype: GgufExportDtype;
}

/** The GGUF the worker streamed: its suggested file name and size. */
export interface GgufExportResult {
  name: string;
  bytes: number;
}

/** The one API object the engine worker exposes. */
export interface EngineApi {
  /** Acquires the GPU; rejects with WebGPUUnavailableError when there is none. */
  init(): Promise<AdapterSummary>;
  /** Runs matmulNT on a small odd shape and checks it against the float64 reference. */
  selfTest(): Promise<SelfTestResult>;
  loadModel(source: ModelSource, onProgress: (p: LoadProgress) => void): Promise<ModelSummary>;
  /** Reads and tokenizes training data, cut into blocks of `context` tokens. */
  loadData(
    source: File | 'demo',
    context: number,
    onProgress: (p: LoadProgress) => void,
  ): Promise<DataSummary>;
  /** Re-counts blocks of the loaded data at a new context. */
  dataAtContext(context: number): Promise<DataSummary>;
  /** Re-cuts the loaded plain text into documents at `separator` (blocks of `context`). */
  setDataSeparator(separator: DataSeparator, context: number): Promise<DataSummary>;
  /** Plans `settings` against the adapter's limits and `budgetBytes` (null: the assumed default). */
  planMemory(settings: RunSettings, budgetBytes: number | null): Promise<MemoryPlan>;
  start(settings: RunSettings, onEvents: (events: TrainingEvent[]) => void): Promise<string>;
  pause(): Promise<void>;
  resume(): Promise<void>;
  stop(): Promise<void>;
  /** Writes a checkpoint at the running run's next step boundary (the page is being hidden). */
  checkpointSoon(): Promise<void>;
  listCheckpoints(): Promise<CheckpointInfo[]>;
  deleteCheckpoint(id: string): Promise<void>;
  /** Continues a checkpoint's run; `steps` sets a new total, to train a finished run further. */
  resumeFrom(
    id: string,
    onEvents: (events: TrainingEvent[]) => void,
    steps?: number,
  ): Promise<string>;
  evaluate(context: number): Promise<EvalResult>;
  passkey(length: number, seed: number): Promise<PasskeyResult>;
  generate(prompt: string, maxTokens: number, onToken: (text: string) => void): Promise<string>;
  exportAdapter(options: ExportOptions): Promise<ExportedFile>;
  /**
   * A committed checkpoint's adapter .zip, read from storage without taking its run's lock (a
   * second tab exports a run another tab trains).
   */
  exportCheckpoint(id: string, options: ExportOptions): Promise<ExportedFile>;
  /**
   * Streams the trained run as a GGUF for llama.cpp: `write` gets the file chunk by chunk (at most
   * one tensor at a time is held), `onProgress` the bytes written and the total.
   */
  exportGguf(
    options: GgufExportOptions,
    write: (chunk: Uint8Array) => Promise<void>,
    onProgress: (written: number, total: number) => void,
  ): Promise<GgufExportResult>;
}
